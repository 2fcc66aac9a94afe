"""Bake the template over a matrix of answers and check each bake like code: nothing left
unrendered, answers where they belong, ruff and mypy clean, and its own tests passing.

Each answer set is baked once per run (conftest.bakes) and checked in ONE shared environment
(conftest.shared_python)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bakery.checks import CHECKS, leftover_jinja, run_check
from bakery.shared_env import find_uv

from .conftest import BAKES, Bakes, load_hook

BAKE_COMMIT = load_hook("post_gen_project").BAKE_COMMIT

# The demo (test_pipeline.py) runs the default bake's own `nox` (lint -> tests -> synth), so
# the defaults' own checks run there and not twice; every other answer set runs them here.
CHECKED_HERE = [name for name in BAKES if name != "defaults"]


@pytest.fixture(scope="module", params=list(BAKES))
def baked(request: pytest.FixtureRequest, bakes: Bakes) -> Path:
    return bakes[request.param]


@pytest.fixture(scope="module", params=CHECKED_HERE)
def checked(request: pytest.FixtureRequest, bakes: Bakes) -> Path:
    return bakes[request.param]


def answers_of(project: Path) -> dict[str, str]:
    return BAKES[project.parent.name]


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
    serverless = answers.get("dev_serving", "instances") == "serverless"
    for name, env in envs.items():
        served = name == "dev" and serverless
        assert ("monitoring" in env) is (monitored and not served), name
        assert env["endpoint"].get("serving", "instances") == (
            "serverless" if served else "instances"
        ), name
        assert ("autoscaling" in env) is not served, name


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
    # The bake is the first commit (a deploy refuses a tree with no commit), and it is whole.
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=baked, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == [BAKE_COMMIT]
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=baked,
        capture_output=True,
        text=True,
        check=True,
    )
    assert changed.stdout == ""


def test_the_bake_commits_a_current_lock(baked: Path) -> None:
    """uv.lock pins what every nox session and workflow of the bake installs: written at
    bake time, current with its pyproject.toml (`uv lock --check`, what its sessions ask
    first) and part of the bake's commit. A bake for a Python this machine lacks cannot be
    locked here (uv would download that Python; there is no network for it): its note says
    how to lock, and its own sessions refuse until it is."""
    python = answers_of(baked).get("python_version", "3.11")
    if not (baked / "uv.lock").is_file():
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        assert python != here, f"a bake for this machine's Python {here} must be locked"
        pytest.skip(f"no Python {python} here for uv to lock with")
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "uv.lock"], cwd=baked, capture_output=True
    )
    assert tracked.returncode == 0, "uv.lock is not in the bake's commit"
    checked = subprocess.run(
        [find_uv(), "lock", "--check"], cwd=baked, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("check", list(CHECKS))
def test_baked_project_passes_its_own_checks(
    checked: Path, shared_python: Path, check: str
) -> None:
    result = run_check(checked, shared_python, check)
    assert result.ok, f"{check} failed in {checked.parent.name}:\n{result.output[-4000:]}"
