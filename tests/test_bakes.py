"""Bake the template over a matrix of answers and check each bake like code: nothing left
unrendered, answers where they belong, ruff and mypy clean, and its own tests passing.

All bakes run their checks in ONE shared environment (see conftest.shared_python)."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bakery.bake import bake
from bakery.checks import CHECKS, leftover_jinja, run_check

BAKES: dict[str, dict[str, str]] = {
    # canary rollout, Model Monitor on, Python 3.11
    "defaults": {},
    # every switch off; all-at-once rollout
    "switches-off": {"include_model_monitor": "n", "rollout_strategy": "all-at-once"},
    # an odd name, a linear rollout, another region and Python
    "odd-name": {
        "project_name": "ACME Fraud-Scorer 2",
        "rollout_strategy": "linear",
        "rollout_step_percent": "25",
        "aws_region": "eu-west-1",
        "python_version": "3.12",
    },
    # the longest slug the hook allows: generated lines must still fit and format
    "long-name": {
        "project_name": "Global Payments Risk Scoring Svc",
        "prod_instance_count": "3",
        "max_instance_count": "6",
        "python_version": "3.13",
    },
}


@pytest.fixture(scope="module", params=list(BAKES))
def baked(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(tmp_path_factory.mktemp(request.param), BAKES[request.param])


def answers_of(project: Path) -> dict[str, str]:
    for name, answers in BAKES.items():
        if project.parent.name.startswith(name):
            return answers
    raise AssertionError(project)


def environments(project: Path) -> dict[str, Any]:
    document = tomllib.loads((project / "config/environments.toml").read_text(encoding="utf-8"))
    envs: dict[str, Any] = document["environments"]
    return envs


def test_nothing_is_left_unrendered(baked: Path) -> None:
    assert leftover_jinja(baked) == []


def test_answers_reach_the_config(baked: Path) -> None:
    answers = answers_of(baked)
    envs = environments(baked)
    strategy = answers.get("rollout_strategy", "canary")
    assert envs["prod"]["rollout"]["strategy"] == strategy
    assert envs["staging"]["rollout"]["strategy"] == strategy
    assert envs["dev"]["rollout"]["strategy"] == "all-at-once"
    assert envs["prod"]["region"] == answers.get("aws_region", "us-east-1")
    assert envs["prod"]["account"] == "333333333333"
    assert envs["prod"]["endpoint"]["instance_count"] == int(
        answers.get("prod_instance_count", "2")
    )
    monitored = answers.get("include_model_monitor", "y") == "y"
    assert all(("monitoring" in env) is monitored for env in envs.values())


def test_switched_off_parts_are_gone(baked: Path) -> None:
    monitored = answers_of(baked).get("include_model_monitor", "y") == "y"
    package = next((baked / "src").iterdir())
    assert (package / "infra" / "monitoring.py").exists() is monitored
    assert (baked / "tests" / "test_monitoring_stack.py").exists() is monitored


def test_git_is_initialised_on_main(baked: Path) -> None:
    head = subprocess.run(
        ["git", "symbolic-ref", "HEAD"], cwd=baked, capture_output=True, text=True, check=True
    )
    assert head.stdout.strip() == "refs/heads/main"


@pytest.mark.parametrize("check", list(CHECKS))
def test_baked_project_passes_its_own_checks(baked: Path, shared_python: Path, check: str) -> None:
    result = run_check(baked, shared_python, check)
    assert result.ok, f"{check} failed in {baked.name}:\n{result.output[-4000:]}"
