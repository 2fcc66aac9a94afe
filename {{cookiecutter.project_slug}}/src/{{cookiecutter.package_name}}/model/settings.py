"""Load config/model.toml into validated settings: how the model is trained ([training]), the
quality it must reach to be packaged or deployed ([gate]) and how its answers are compared
with the live model's ([behaviour]).

Every value is checked here: a missing or unknown key, a wrong type or a value out of range
is a ConfigError whose one line names the file and the key. There are no defaults in code;
the file is the single record of how the served model was trained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE, _Table, read_toml

MODEL_CONFIG_FILE = CONFIG_FILE.with_name("model.toml")


def model_config_path(root: Path) -> Path:
    return root / MODEL_CONFIG_FILE


@dataclass(frozen=True)
class TrainingSettings:
    seed: int
    samples: int
    holdout_percent: int
    regularization: float
    max_iter: int


@dataclass(frozen=True)
class Gate:
    """The least hold-out quality a model must have to be packaged or deployed."""

    min_accuracy: float
    min_roc_auc: float


@dataclass(frozen=True)
class Behaviour:
    """How a candidate's answers are compared with the live model's (model/replay.py)."""

    threshold: float  # a score at or above it flags the session as malicious


@dataclass(frozen=True)
class ModelConfig:
    """All of config/model.toml. Only `training` decides the model's bytes (the package
    cache's key, model/cache.py); the gate and the behaviour comparison judge them."""

    training: TrainingSettings
    gate: Gate
    behaviour: Behaviour


class _ModelTable(_Table):
    """config.py's table reader plus the one thing model.toml needs more: real numbers."""

    def table(self, key: str) -> _ModelTable:
        data: Mapping[str, Any] = self._get(key, dict, "a table")
        return _ModelTable(data, self._dotted(key), self._path)

    def number(self, key: str, above: float, high: float) -> float:
        """A finite number in (above, high]; TOML integers count (1 means 1.0)."""
        value = self._get(key, object, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        number = float(value)
        if not (math.isfinite(number) and above < number <= high):
            raise self.fail(key, f"{value!r} must be above {above:g} and at most {high:.0f}")
        return number

    def fraction(self, key: str) -> float:
        """A number from 0 to 1, both included."""
        value = self._get(key, object, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, got {value!r}")
        if not 0.0 <= float(value) <= 1.0:
            raise self.fail(key, f"{value!r} must be from 0 to 1")
        return float(value)


def parse_config(document: Mapping[str, Any], path: Path) -> ModelConfig:
    """Validate an already-parsed document; `path` is only used in messages."""
    root = _ModelTable(document, "", path)
    t = root.table("training")
    training = TrainingSettings(
        seed=t.integer("seed", 0, 2**32 - 1),
        samples=t.integer("samples", 500, 1_000_000),
        holdout_percent=t.integer("holdout_percent", 10, 50),
        regularization=t.number("regularization", 0.0, 1_000_000.0),
        max_iter=t.integer("max_iter", 10, 100_000),
    )
    t.done()
    t = root.table("gate")
    gate = Gate(min_accuracy=t.fraction("min_accuracy"), min_roc_auc=t.fraction("min_roc_auc"))
    t.done()
    t = root.table("behaviour")
    behaviour = Behaviour(threshold=t.number("threshold", 0.0, 1.0))
    t.done()
    root.done()
    return ModelConfig(training=training, gate=gate, behaviour=behaviour)


def parse(document: Mapping[str, Any], path: Path) -> TrainingSettings:
    """The training settings of a validated document (the whole document is checked)."""
    return parse_config(document, path).training


def load_config(root: Path) -> ModelConfig:
    """Read and validate config/model.toml of the project at root."""
    path = model_config_path(root)
    return parse_config(read_toml(path), path)


def load(root: Path) -> TrainingSettings:
    """Read and validate the training settings of the project at root."""
    return load_config(root).training
