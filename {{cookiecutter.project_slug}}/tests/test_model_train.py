"""The synthetic data, training and config/model.toml: deterministic, learning, validated."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.model.data import FEATURES, generate
from {{ cookiecutter.package_name }}.model.inference import MODEL_FORMAT
from {{ cookiecutter.package_name }}.model.settings import (
    TrainingSettings,
    load,
    model_config_path,
    parse,
)
from {{ cookiecutter.package_name }}.model.train import (
    ModelParameters,
    canonical_float,
    canonical_json,
    train,
)

from .conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def settings() -> TrainingSettings:
    return load(PROJECT_ROOT)


@pytest.fixture(scope="module")
def parameters(settings: TrainingSettings) -> ModelParameters:
    return train(settings)


def document() -> dict[str, Any]:
    """The shipped config/model.toml as data, for tests to break one value at a time."""
    return tomllib.loads(model_config_path(PROJECT_ROOT).read_text(encoding="utf-8"))


# --- data ---------------------------------------------------------------------------------


def test_generate_is_deterministic_per_seed() -> None:
    first, again, other = generate(500, 7), generate(500, 7), generate(500, 8)
    assert np.array_equal(first.x, again.x)
    assert np.array_equal(first.y, again.y)
    assert not np.array_equal(first.x, other.x)


def test_generate_shape_and_labels() -> None:
    data = generate(2000, 1)
    assert data.features == FEATURES
    assert data.x.shape == (2000, len(FEATURES))
    assert set(np.unique(data.y)) == {0, 1}
    assert 0.05 < float(np.mean(data.y)) < 0.4, "a realistic minority of malicious sessions"
    assert float(np.min(data.x)) >= 0.0


def test_generate_refuses_no_samples() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(0, 1)


# --- training ------------------------------------------------------------------------------


def test_the_model_learns_the_signal(parameters: ModelParameters) -> None:
    metrics = parameters.metrics
    assert metrics.converged
    assert metrics.roc_auc > 0.85
    assert metrics.accuracy > metrics.malicious_rate and metrics.accuracy > 0.85
    # every feature raises the risk in the hidden truth; the fit must find that
    assert all(coefficient > 0 for coefficient in parameters.coefficients)
    assert parameters.features == FEATURES


def test_training_is_deterministic(settings: TrainingSettings, parameters: ModelParameters) -> None:
    assert train(settings).to_json() == parameters.to_json()


def test_a_changed_setting_changes_the_parameters(
    settings: TrainingSettings, parameters: ModelParameters
) -> None:
    stronger = train(replace(settings, regularization=0.01))
    assert stronger.coefficients != parameters.coefficients
    assert stronger.to_json() != parameters.to_json()


def test_stopping_at_max_iter_is_reported(settings: TrainingSettings) -> None:
    metrics = train(replace(settings, max_iter=1)).metrics
    assert not metrics.converged
    assert metrics.iterations == 1


def test_model_json_is_plain_canonical_json(parameters: ModelParameters) -> None:
    data = parameters.to_json()
    loaded = json.loads(data)
    assert loaded["format"] == MODEL_FORMAT
    assert loaded["features"] == list(FEATURES)
    assert loaded["training"]["seed"] == parameters.training.seed
    assert data == canonical_json(loaded), "round-trips to the same bytes"
    assert data.endswith(b"}\n")


def test_canonical_json_rounds_and_sorts() -> None:
    assert canonical_float(0.1 + 0.2) == 0.3
    assert str(canonical_float(-0.0)) == "0.0"
    assert canonical_json({"b": [1 / 3], "a": True}) == b'{\n  "a": true,\n  "b": [\n' + (
        b"    0.333333333333\n  ]\n}\n"
    )


# --- config/model.toml ---------------------------------------------------------------------


def test_the_shipped_settings_load(settings: TrainingSettings) -> None:
    assert settings.samples >= 500
    assert settings.regularization > 0


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("seed", -1, "-1 is outside 0..4294967295"),
        ("seed", "42", "must be an integer, got '42'"),
        ("samples", 10, "10 is outside 500..1000000"),
        ("samples", True, "must be an integer, got True"),
        ("holdout_percent", 90, "90 is outside 10..50"),
        ("regularization", 0.0, "0.0 must be above 0 and at most 1000000"),
        ("regularization", float("inf"), "inf must be above 0 and at most 1000000"),
        ("regularization", "strong", "must be a number, got 'strong'"),
        ("max_iter", 2.5, "must be an integer, got 2.5"),
    ],
)
def test_bad_values_are_refused_naming_file_and_key(key: str, value: Any, problem: str) -> None:
    broken = document()
    broken["training"][key] = value
    with pytest.raises(ConfigError) as raised:
        parse(broken, model_config_path(PROJECT_ROOT))
    assert str(raised.value) == f"model.toml: training.{key}: {problem}"


def test_an_integer_regularization_is_a_number() -> None:
    changed = document()
    changed["training"]["regularization"] = 2
    assert parse(changed, model_config_path(PROJECT_ROOT)).regularization == 2.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["training"].pop("max_iter"),
            "model.toml: training.max_iter: missing; add max_iter = <an integer>",
        ),
        (
            lambda d: d["training"].update(learning_rate=0.1),
            "model.toml: training.learning_rate: unknown key; check its spelling against the docs",
        ),
        (lambda d: d.pop("training"), "model.toml: training: missing; add training = <a table>"),
        (
            lambda d: d.update(extra={}),
            "model.toml: extra: unknown key; check its spelling against the docs",
        ),
    ],
)
def test_missing_and_unknown_keys_are_refused(change: Any, message: str) -> None:
    broken = document()
    change(broken)
    with pytest.raises(ConfigError) as raised:
        parse(broken, model_config_path(PROJECT_ROOT))
    assert str(raised.value) == message


def test_a_file_that_is_not_toml_is_one_line(tmp_path: Path) -> None:
    path = model_config_path(tmp_path)
    path.parent.mkdir()
    path.write_text("[training]\nseed = = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^model\.toml: not valid TOML: ") as raised:
        load(tmp_path)
    assert "\n" not in str(raised.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "model.toml")
