"""Fit the threat-scoring model and reduce it to plain parameters with canonical JSON bytes.

The SageMaker container has its own scikit-learn, so nothing fitted here is pickled: the
StandardScaler and LogisticRegression become numbers in model.json, which code/inference.py
evaluates with the standard library. Floats are rounded to 12 significant digits and keys
sorted, so the same settings give the same bytes.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from .data import Dataset, generate
from .inference import MODEL_FORMAT
from .packaged import Metrics
from .settings import TrainingSettings

SIGNIFICANT_DIGITS = 12


def canonical_float(value: float) -> float:
    """`value` rounded to SIGNIFICANT_DIGITS, so last-bit noise cannot change the bytes."""
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return canonical_float(value)
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def canonical_json(document: Any) -> bytes:
    """Stable bytes: sorted keys, rounded floats, two-space indent, one trailing newline."""
    text = json.dumps(_canonical(document), sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


@dataclass(frozen=True)
class ModelParameters:
    """Everything served: scaler means and scales, coefficients and intercept, in feature order."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    metrics: Metrics
    training: TrainingSettings

    def document(self) -> dict[str, Any]:
        """model.json as data (what inference.Model.from_document reads)."""
        return {
            "format": MODEL_FORMAT,
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "metrics": asdict(self.metrics),
            "training": asdict(self.training),
        }

    def to_json(self) -> bytes:
        return canonical_json(self.document())


@dataclass(frozen=True, eq=False)
class FittedModel:
    """The parameters plus what produced them: the scikit-learn pipeline (never shipped; tests
    compare the handler with it) and the training split (the monitoring baseline's data)."""

    parameters: ModelParameters
    pipeline: Any
    train: Dataset
    holdout: Dataset


def _floats(values: Any) -> tuple[float, ...]:
    return tuple(canonical_float(float(value)) for value in values)


def fit(settings: TrainingSettings) -> FittedModel:
    """Generate the data, split it, fit scaler + logistic regression and measure the hold-out."""
    data = generate(settings.samples, settings.seed)
    x_train, x_holdout, y_train, y_holdout = train_test_split(
        data.x,
        data.y,
        test_size=settings.holdout_percent / 100,
        random_state=settings.seed,
        stratify=data.y,
    )
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=settings.regularization, max_iter=settings.max_iter)),
        ]
    )
    with warnings.catch_warnings():
        # Not converging is reported in the metrics (and by `invoke train`), not as a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(x_train, y_train)
    scaler, classifier = pipeline.named_steps["scale"], pipeline.named_steps["classify"]
    scores = pipeline.predict_proba(x_holdout)[:, 1]
    iterations = int(classifier.n_iter_[0])
    metrics = Metrics(
        accuracy=canonical_float(float(accuracy_score(y_holdout, scores >= 0.5))),
        roc_auc=canonical_float(float(roc_auc_score(y_holdout, scores))),
        log_loss=canonical_float(float(log_loss(y_holdout, scores))),
        malicious_rate=canonical_float(float(np.mean(data.y))),
        train_rows=len(y_train),
        holdout_rows=len(y_holdout),
        iterations=iterations,
        converged=iterations < settings.max_iter,
    )
    parameters = ModelParameters(
        features=data.features,
        means=_floats(scaler.mean_),
        scales=_floats(scaler.scale_),
        coefficients=_floats(classifier.coef_[0]),
        intercept=canonical_float(float(classifier.intercept_[0])),
        metrics=metrics,
        training=settings,
    )
    return FittedModel(
        parameters=parameters,
        pipeline=pipeline,
        train=Dataset(features=data.features, x=x_train, y=y_train),
        holdout=Dataset(features=data.features, x=x_holdout, y=y_holdout),
    )


def train(settings: TrainingSettings) -> ModelParameters:
    """The model's parameters and hold-out metrics for these settings (deterministic)."""
    return fit(settings).parameters
