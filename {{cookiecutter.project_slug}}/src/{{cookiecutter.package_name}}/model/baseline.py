"""Compute Model Monitor's data-quality baseline (statistics.json, constraints.json) for a model.

The documents have the shape SageMaker's baselining job writes for the training data; making
them here, from the exact rows the model was trained on, packages the baseline with the model
(same sha256 prefix in the bucket) and spares a processing job per release. The bytes are
canonical JSON, so the same training data gives the same files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from .data import Dataset
from .train import canonical_json

STATISTICS = "statistics.json"
CONSTRAINTS = "constraints.json"
# Model Monitor's KLL sketch parameters and histogram size.
KLL_K = 2048
KLL_C = 0.64
BUCKETS = 10


def _inferred_type(column: NDArray[np.float64]) -> str:
    return "Integral" if bool(np.all(np.floor(column) == column)) else "Fractional"


def _sketch(column: NDArray[np.float64]) -> list[list[float]]:
    """KLL compactor levels: level L holds every 2**L-th sorted value, each weighing 2**L.

    Halving the sorted values until at most KLL_K remain is what a KLL sketch does to them,
    without the randomness, so the summary is reproducible.
    """
    values = np.sort(column)
    level = 0
    while len(values) > KLL_K:
        values = values[1::2]
        level += 1
    return [[] for _ in range(level)] + [[float(value) for value in values]]


def _numerical_statistics(column: NDArray[np.float64]) -> dict[str, Any]:
    counts, edges = np.histogram(column, bins=BUCKETS)
    buckets = [
        {
            "lower_bound": float(edges[index]),
            "upper_bound": float(edges[index + 1]),
            "count": float(counts[index]),
        }
        for index in range(BUCKETS)
    ]
    return {
        "common": {"num_present": len(column), "num_missing": 0},
        "mean": float(np.mean(column)),
        "sum": float(np.sum(column)),
        "std_dev": float(np.std(column)),
        "min": float(np.min(column)),
        "max": float(np.max(column)),
        "distribution": {
            "kll": {
                "buckets": buckets,
                "sketch": {
                    "parameters": {"c": KLL_C, "k": float(KLL_K)},
                    "data": _sketch(column),
                },
            }
        },
    }


def statistics(data: Dataset) -> dict[str, Any]:
    """statistics.json: item count and per-feature numerical statistics of the data."""
    return {
        "version": 0.0,
        "dataset": {"item_count": len(data.x)},
        "features": [
            {
                "name": name,
                "inferred_type": _inferred_type(data.x[:, index]),
                "numerical_statistics": _numerical_statistics(data.x[:, index]),
            }
            for index, name in enumerate(data.features)
        ],
    }


def constraints(data: Dataset) -> dict[str, Any]:
    """constraints.json: what captured requests must satisfy, with drift checks enabled."""
    return {
        "version": 0.0,
        "features": [
            {
                "name": name,
                "inferred_type": _inferred_type(data.x[:, index]),
                "completeness": 1.0,
                "num_constraints": {"is_non_negative": bool(np.min(data.x[:, index]) >= 0)},
            }
            for index, name in enumerate(data.features)
        ],
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": 0.1,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": 0.1,
                "categorical_drift_method": "LInfinity",
            },
        },
    }


def baseline_files(data: Dataset) -> dict[str, bytes]:
    """File name -> canonical bytes of both baseline documents."""
    return {
        STATISTICS: canonical_json(statistics(data)),
        CONSTRAINTS: canonical_json(constraints(data)),
    }
