"""What a packaged model is, as plain data: no scikit-learn to import, so a deploy that takes
its model from the cache (cache.py) never loads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ARCHIVE = "model.tar.gz"
BASELINE_DIR = "baseline"


@dataclass(frozen=True)
class Metrics:
    """How the model did on the held-out sessions it was not trained on."""

    accuracy: float  # share of hold-out sessions classified right at a 0.5 threshold
    roc_auc: float
    log_loss: float
    malicious_rate: float  # share of malicious sessions in the whole data set
    train_rows: int
    holdout_rows: int
    iterations: int  # lbfgs iterations used
    converged: bool  # False when training stopped at training.max_iter


def metrics_of(document: Mapping[str, Any]) -> Metrics | None:
    """Metrics from their dict (a record's model_metrics); None for {} or another shape."""
    try:
        return Metrics(**document)
    except TypeError:
        return None


@dataclass(frozen=True)
class PackagedModel:
    """A packaged model: the archive, its digest, the baseline files and hold-out metrics."""

    path: Path
    sha256: str
    baseline: dict[str, Path]
    metrics: Metrics
