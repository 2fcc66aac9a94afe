"""config/environments.toml: the shipped file is valid, and each kind of bad value is a
clear one-line error naming the file, the environment and the key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import (
    RolloutStrategy,
    Settings,
    config_path,
    load,
    parse,
)
from {{ cookiecutter.package_name }}.errors import ConfigError

from .conftest import CONFIG_PATH

DOCUMENT: dict[str, Any] = tomllib.loads(CONFIG_PATH.read_text(encoding="utf-8"))
DELETE = object()
PROD_COUNT = DOCUMENT["environments"]["prod"]["endpoint"]["instance_count"]


def changed(dotted: str, value: object) -> dict[str, Any]:
    """The shipped document with one key set (or deleted, with DELETE)."""
    document = copy.deepcopy(DOCUMENT)
    *parents, leaf = dotted.split(".")
    table = document
    for key in parents:
        table = table[key]
    if value is DELETE:
        del table[leaf]
    else:
        table[leaf] = value
    return document


def error_for(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse(document, CONFIG_PATH)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_shipped_file_loads(settings: Settings) -> None:
    assert list(settings.environments) == ["local", "dev", "staging", "prod"]
    assert settings.project.deploy_confirm_variable.endswith("_DEPLOY_CONFIRM")
    for env in settings.environments.values():
        assert env.autoscaling.min_capacity <= env.endpoint.instance_count
        assert env.endpoint.instance_count <= env.autoscaling.max_capacity


def test_governance_policy_per_environment(settings: Settings) -> None:
    prod, staging, dev = (settings.environment(name) for name in ("prod", "staging", "dev"))
    assert prod.policy.confirmation_required and staging.policy.confirmation_required
    assert not dev.policy.confirmation_required
    assert prod.policy.promotion_from == "staging"
    assert staging.policy.promotion_from == "dev"
    assert dev.policy.promotion_from is None
    assert prod.policy.ci_green_required
    assert "refs/heads/main" in prod.policy.allowed_refs


def test_release_and_github_settings(settings: Settings) -> None:
    assert settings.release.environment == "prod"
    assert settings.release.branch == "main"
    assert settings.github.required_checks == ("lint", "tests", "synth")
    assert settings.github.api_url == "https://api.github.com"
    envs = ("prod", "staging", "dev")
    prod, staging, dev = (settings.environment(name).approvals for name in envs)
    assert prod is not None and staging is not None and dev is not None
    assert set(staging.reviewers) < set(prod.reviewers), "prod adds a stakeholder sign-off"
    assert dev.reviewers == staging.reviewers, "dev and staging: a peer reviewer"
    assert dev.prevent_self_review and staging.prevent_self_review
    assert settings.environment("local").approvals is None


def test_local_points_at_the_embedded_aws(settings: Settings) -> None:
    local = settings.environment("local")
    assert local.endpoint_url is not None and local.endpoint_url.startswith("http://127.0.0.1:")
    assert local.account == "123456789012"
    assert local.rollout.strategy is RolloutStrategy.ALL_AT_ONCE


BAD_VALUES = [
    # (dotted key, bad value, words the message must contain)
    ("environments.prod.typo", 1, ["environments.prod.typo", "unknown key"]),
    ("environments.prod.endpoint.instance_count", "2", ["instance_count", "an integer"]),
    ("environments.prod.endpoint.instance_count", True, ["instance_count", "an integer"]),
    ("environments.prod.account", DELETE, ["environments.prod.account", "missing"]),
    ("environments.prod.account", "12345", ["environments.prod.account", "123456789012"]),
    ("environments.prod.region", "us-east", ["environments.prod.region", "us-east-1"]),
    (
        "environments.prod.region",
        "xx-nowhere-9",
        ["environments.prod.region", "serving image in images.json"],
    ),
    ("environments.staging.endpoint.instance_type", "m5.large", ["instance_type", "ml.m5.large"]),
    ("environments.prod.rollout.strategy", "big-bang", ["rollout.strategy", "canary"]),
    ("environments.prod.rollout.wait_seconds", 4000, ["wait_seconds", "0..3600"]),
    ("environments.prod.alarms.latency_p99_ms", 0, ["latency_p99_ms", "1.."]),
    (
        "environments.prod.autoscaling.min_capacity",
        PROD_COUNT + 1,
        ["min_capacity", f"instance_count {PROD_COUNT}"],
    ),
    (
        "environments.staging.endpoint.instance_count",
        100,
        ["staging.autoscaling.max_capacity", "instance_count 100"],
    ),
    ("environments.prod.autoscaling.min_capacity", 9, ["min_capacity", "above max_capacity"]),
    ("environments.prod.policy.allowed_refs", ["main"], ["allowed_refs", "refs/heads/main"]),
    ("environments.prod.policy.allowed_refs", [], ["allowed_refs", "must not be empty"]),
    ("environments.prod.policy.confirmation_required", "yes", ["true or false"]),
    ("environments.prod.policy.promotion_from", "qa", ["promotion_from", "'qa'"]),
    ("environments.dev.policy.promotion_from", "prod", ["promotion loops"]),
    ("environments.local.endpoint_url", "ftp://x", ["endpoint_url"]),
    ("project.name", "Threat Detector", ["project.name", "threat-detector"]),
    ("project.deploy_confirm_variable", "confirm", ["deploy_confirm_variable"]),
    ("release.environment", "qa", ["release.environment", "'qa'", "local, dev"]),
    ("release.model_registry", DELETE, ["release.model_registry", "missing"]),
    ("github.repository", "acme", ["github.repository", "acme/threat-detector"]),
    ("github.api_url", "api.github.com", ["github.api_url", "https://api.github.com"]),
    ("github.required_checks", ["tests", ""], ["required_checks", "''"]),
    ("governance.required_approving_reviews", 7, ["required_approving_reviews", "0..6"]),
    ("environments.prod.approvals.reviewers", ["a b"], ["approvals.reviewers", "'a b'"]),
    (
        "environments.prod.approvals.reviewers",
        [f"acme/team-{n}" for n in range(7)],
        ["approvals.reviewers", "at most 6"],
    ),
]


@pytest.mark.parametrize(("dotted", "value", "words"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_value_is_one_clear_line(dotted: str, value: object, words: list[str]) -> None:
    message = error_for(changed(dotted, value))
    assert message.startswith("environments.toml: ")
    for word in words:
        assert word in message


def test_all_at_once_takes_no_step() -> None:
    message = error_for(changed("environments.dev.rollout.step_percent", 10))
    assert "environments.dev.rollout.step_percent" in message


def fleet_rollout(strategy: str, step: int, count: int) -> dict[str, Any]:
    document = changed("environments.prod.rollout.strategy", strategy)
    document["environments"]["prod"]["rollout"]["step_percent"] = step
    document["environments"]["prod"]["endpoint"]["instance_count"] = count
    document["environments"]["prod"]["autoscaling"]["min_capacity"] = 1
    return document


@pytest.mark.parametrize(
    ("strategy", "step", "count", "words"),
    [
        ("canary", 60, 2, ["step_percent", "1-50 %", "canary"]),
        ("linear", 5, 2, ["step_percent", "10-50 %", "linear"]),
        ("linear", 55, 2, ["step_percent", "10-50 %"]),
        ("canary", 20, 1, ["rollout.strategy", "instance_count >= 2"]),
    ],
)
def test_rollout_within_sagemaker_limits(
    strategy: str, step: int, count: int, words: list[str]
) -> None:
    message = error_for(fleet_rollout(strategy, step, count))
    assert "environments.prod.rollout" in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(("strategy", "step"), [("canary", 1), ("canary", 50), ("linear", 10)])
def test_rollout_limits_are_inclusive(strategy: str, step: int) -> None:
    rollout = parse(fleet_rollout(strategy, step, 2), CONFIG_PATH).environment("prod").rollout
    assert rollout.strategy is RolloutStrategy(strategy)
    assert rollout.step_percent == step


def test_unknown_environment_names_the_known_ones(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"unknown environment 'qa': .*local, dev, staging, prod"):
        settings.environment("qa")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path)
    broken = config_path(tmp_path)
    broken.parent.mkdir()
    broken.write_text("[project\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path)
