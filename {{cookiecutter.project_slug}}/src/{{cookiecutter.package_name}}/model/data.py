"""Generate the synthetic login-session data set the model is trained on (no download).

Each row is one session; the label says whether it was malicious. Labels are drawn from a
logistic function of the features plus noise, so a logistic regression can learn the real
signal but not memorise it. The same (samples, seed) always gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FEATURES = (
    "failed_logins",  # failed attempts before this session, count
    "bytes_out_mb",  # data sent out during the session, MB
    "distinct_ports",  # distinct destination ports contacted, count
    "off_hours",  # 1 when the session started outside working hours, else 0
    "geo_velocity_kmh",  # implied travel speed since the user's previous login, km/h
)

# The hidden truth the labels are drawn from: log-odds of malicious = intercept + weights . x
_INTERCEPT = -7.0
_WEIGHTS = (1.2, 0.06, 0.4, 2.0, 0.008)
_NOISE = 0.5  # standard deviation of the log-odds noise


@dataclass(frozen=True, eq=False)
class Dataset:
    """Feature rows `x` (samples x len(features)) and labels `y` (1 = malicious)."""

    features: tuple[str, ...]
    x: NDArray[np.float64]
    y: NDArray[np.int64]


def generate(samples: int, seed: int) -> Dataset:
    """`samples` synthetic sessions drawn with numpy's default_rng(seed)."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    rng = np.random.default_rng(seed)
    # The draw order is part of the data set's definition: reordering changes every row.
    columns = (
        rng.poisson(1.0, samples).astype(np.float64),
        np.round(rng.lognormal(1.2, 1.0, samples), 3),
        (1 + rng.poisson(2.0, samples)).astype(np.float64),
        (rng.random(samples) < 0.25).astype(np.float64),
        np.round(rng.exponential(150.0, samples), 1),
    )
    x = np.column_stack(columns)
    log_odds = _INTERCEPT + x @ np.array(_WEIGHTS) + rng.normal(0.0, _NOISE, samples)
    probability = 1.0 / (1.0 + np.exp(-log_odds))
    y = (rng.random(samples) < probability).astype(np.int64)
    return Dataset(features=FEATURES, x=x, y=y)
