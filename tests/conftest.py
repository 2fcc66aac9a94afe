"""Shared fixtures: the template's default answers, its hooks as modules, the matrix's bakes
(each answer set baked once per run) and the one environment every bake's checks run in."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bakery.bake import TEMPLATE_ROOT, bake
from bakery.shared_env import create_env, locked_requirements

# Commits made by hooks or tests must not depend on the machine's git identity.
for variable, value in {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}.items():
    os.environ.setdefault(variable, value)


def load_hook(name: str) -> ModuleType:
    """A hook script as a module (its main block only runs when cookiecutter executes it)."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE_ROOT / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def default_answers(**overrides: str) -> dict[str, Any]:
    """The answers cookiecutter would render with --no-input (derived names included)."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(
        context_file=str(TEMPLATE_ROOT / "cookiecutter.json"), extra_context=overrides
    )
    answers: dict[str, Any] = prompt_for_config(context, no_input=True)
    return answers


BAKES: dict[str, dict[str, str]] = {
    # canary rollout, Model Monitor on, Python 3.11
    "defaults": {},
    # every switch off; all-at-once rollout
    "switches-off": {"include_model_monitor": "n", "rollout_strategy": "all-at-once"},
    # an odd name, a linear rollout, another region, Python and framework (XGBoost)
    "odd-name": {
        "project_name": "ACME Fraud-Scorer 2",
        "rollout_strategy": "linear",
        "rollout_step_percent": "25",
        "aws_region": "eu-west-1",
        "python_version": "3.12",
        "model_framework": "xgboost",
    },
    # the longest slug the hook allows: generated lines must still fit and format; PyTorch;
    # a serverless dev beside Model Monitor in the other environments
    "long-name": {
        "project_name": "Global Payments Risk Scoring Svc",
        "prod_instance_count": "3",
        "max_instance_count": "6",
        "python_version": "3.13",
        "model_framework": "pytorch",
        "dev_serving": "serverless",
    },
}


class Bakes:
    """The matrix's projects, each baked on first use and then shared by every test module
    that reads it (test_bakes, test_workflows). Tests must not change a shared bake."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._baked: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._baked:
            self._baked[name] = bake(self.root / name, BAKES[name])
        return self._baked[name]


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> Bakes:
    return Bakes(tmp_path_factory.mktemp("bakes"))


@pytest.fixture(scope="session")
def shared_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment with a baked project's heavy dependencies, created once per run: the
    versions the default bake's uv.lock pins, which its own nox (the demo) installs too."""
    probe = bake(tmp_path_factory.mktemp("probe"))
    location = tmp_path_factory.mktemp("shared") / "env"
    return create_env(location, locked_requirements(probe))
