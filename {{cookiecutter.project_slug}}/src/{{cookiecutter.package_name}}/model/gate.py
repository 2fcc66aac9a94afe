"""The quality gate: a model below config/model.toml's [gate] is neither packaged nor deployed.

Pure: metrics and thresholds in, a Refusal out. `invoke package` checks before it writes a
file; a deploy checks the model it built (or took from the cache) before anything is planned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Refusal
from .settings import MODEL_CONFIG_FILE, Gate

# The metrics the gate reads (keys of packaged.Metrics, and of a record's model_metrics).
ACCURACY, ROC_AUC = "accuracy", "roc_auc"


def shortfalls(metrics: Mapping[str, Any], gate: Gate) -> list[str]:
    """Each way the metrics fall below the gate, as "name value < threshold"; [] passes. A
    metric that is missing (or not a number) falls below every threshold."""
    measured = (
        ("hold-out accuracy", ACCURACY, "min_accuracy", gate.min_accuracy),
        ("hold-out ROC AUC", ROC_AUC, "min_roc_auc", gate.min_roc_auc),
    )
    failed = []
    for label, name, key, threshold in measured:
        value = metrics.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            failed.append(f"{label} unknown < {key} {threshold:g}")
        elif value < threshold:
            failed.append(f"{label} {value:.4f} < {key} {threshold:g}")
    return failed


def check_gate(metrics: Mapping[str, Any], gate: Gate) -> None:
    """Refuse, in one line naming the metrics and the thresholds, a model below the gate."""
    failed = shortfalls(metrics, gate)
    if failed:
        raise Refusal(
            f"the model is below the quality gate: {'; '.join(failed)} "
            f"({MODEL_CONFIG_FILE.as_posix()} [gate]); improve the model, or change the gate "
            "in a reviewed commit"
        )
