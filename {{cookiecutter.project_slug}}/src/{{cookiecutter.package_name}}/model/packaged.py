"""What a packaged model is, as plain data: no scikit-learn to import, so a deploy that takes
its model from the cache (cache.py) never loads it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ARCHIVE = "model.tar.gz"
BASELINE_DIR = "baseline"
HANDLER = "code/inference.py"  # in the archive: what the framework images run


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


@dataclass(frozen=True)
class ModelFiles:
    """A model archive in a folder, its digest and its monitoring baseline files: what a
    deploy uploads, whether this project packaged it or it was trained elsewhere."""

    path: Path
    sha256: str
    baseline: dict[str, Path]


@dataclass(frozen=True)
class PackagedModel(ModelFiles):
    """A model this project packaged: its files and its hold-out metrics."""

    metrics: Metrics
