"""The quality gate: a model below config/model.toml's [gate] is neither packaged nor deployed.

Pure: metrics and thresholds in, a Refusal out. `invoke package` checks before it writes a
file; a deploy checks the model it built (or took from the cache) before anything is planned.
"""

from __future__ import annotations

from ..errors import Refusal
from .packaged import Metrics
from .settings import MODEL_CONFIG_FILE, Gate


def shortfalls(metrics: Metrics, gate: Gate) -> list[str]:
    """Each way the metrics fall below the gate, as "name value < threshold"; [] passes."""
    measured = (
        ("hold-out accuracy", metrics.accuracy, "min_accuracy", gate.min_accuracy),
        ("hold-out ROC AUC", metrics.roc_auc, "min_roc_auc", gate.min_roc_auc),
    )
    return [
        f"{label} {value:.4f} < {key} {threshold:g}"
        for label, value, key, threshold in measured
        if value < threshold
    ]


def check_gate(metrics: Metrics, gate: Gate) -> None:
    """Refuse, in one line naming the metrics and the thresholds, a model below the gate."""
    failed = shortfalls(metrics, gate)
    if failed:
        raise Refusal(
            f"the model is below the quality gate: {'; '.join(failed)} "
            f"({MODEL_CONFIG_FILE.as_posix()} [gate]); improve the model, or change the gate "
            "in a reviewed commit"
        )
