"""hooks/pre_gen_project.py: every rule on its own, then every bad answer through the real
cookiecutter CLI: one clear line, a non-zero exit, and no output folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bakery.bake import TEMPLATE_ROOT

from .conftest import default_answers, load_hook

hook = load_hook("pre_gen_project")

# (answers, words the one-line error must contain). Each is refused before anything is written.
BAD_ANSWERS: list[tuple[dict[str, str], list[str]]] = [
    ({"project_name": ""}, ["project_name", "Threat Detector"]),
    ({"project_slug": "Threat Detector"}, ["project_slug", "threat-detector"]),
    ({"project_slug": "bad/slug"}, ["project_slug", "not a valid slug"]),
    ({"project_slug": "global-payments-risk-scoring-service"}, ["project_slug", "the limit is 32"]),
    ({"project_slug": "nox"}, ["project_slug", "dependency"]),
    ({"package_name": "2fast"}, ["package_name", "threat_detector"]),
    ({"package_name": "json"}, ["package_name", "shadow"]),
    ({"package_name": "a" * 33}, ["package_name", "the limit is 32"]),
    ({"package_name": "class"}, ["package_name", "not a valid Python package name"]),
    ({"deploy_confirm_variable": "confirm-me"}, ["deploy_confirm_variable", "upper-snake"]),
    ({"description": ""}, ["description", "one line"]),
    ({"github_owner": "-acme"}, ["github_owner", "e.g. acme"]),
    ({"github_repo": "bad repo"}, ["github_repo", "e.g. threat-detector"]),
    ({"dev_account_id": "12345"}, ["dev_account_id", "12-digit"]),
    ({"prod_account_id": "12345678901a"}, ["prod_account_id", "12-digit"]),
    ({"aws_region": "us-east"}, ["aws_region", "not an AWS region", "us-east-1"]),
    ({"aws_region": "xx-north-9"}, ["aws_region", "scikit-learn image"]),
    (
        {"aws_region": "ap-south-2"},
        ["aws_region", "Model Monitor image", "include_model_monitor=n"],
    ),
    ({"sagemaker_instance_type": "m5.large"}, ["sagemaker_instance_type", "ml.m5.large"]),
    ({"prod_instance_count": "0"}, ["prod_instance_count", "at least 1"]),
    ({"staging_instance_count": "two"}, ["staging_instance_count", "whole number"]),
    ({"max_instance_count": "1"}, ["max_instance_count", "below"]),
    ({"rollout_step_percent": "60"}, ["rollout_step_percent", "1-50 %", "canary"]),
    (
        {"rollout_strategy": "linear", "rollout_step_percent": "5"},
        ["rollout_step_percent", "10-50 %", "linear"],
    ),
    ({"rollout_step_percent": "lots"}, ["rollout_step_percent", "whole percentage"]),
    (
        {"prod_instance_count": "1", "max_instance_count": "2"},
        ["prod_instance_count", "at least 2 instances", "all-at-once"],
    ),
]


def label(case: tuple[dict[str, str], list[str]]) -> str:
    return ",".join(f"{key}={value}" for key, value in case[0].items())


def test_defaults_pass_every_rule() -> None:
    answers = default_answers()
    assert hook.first_problem(answers, hook.image_registries(answers)) is None


@pytest.mark.parametrize(("overrides", "words"), BAD_ANSWERS, ids=map(label, BAD_ANSWERS))
def test_rule_names_the_answer_and_shows_a_good_value(
    overrides: dict[str, str], words: list[str]
) -> None:
    answers = default_answers(**overrides)
    problem = hook.first_problem(answers, hook.image_registries(answers))
    assert problem is not None
    assert "\n" not in problem
    for word in words:
        assert word in problem


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"python_version": "3.8"}, ["python_version", "3.11"]),
        ({"include_model_monitor": "maybe"}, ["include_model_monitor", "y or n"]),
        ({"dev_serving": "lambda"}, ["dev_serving", "instances, serverless"]),
        ({"model_framework": "tensorflow"}, ["model_framework", "sklearn, xgboost, pytorch"]),
        ({"rollout_strategy": "big-bang"}, ["rollout_strategy", "canary"]),
    ],
)
def test_choices_are_checked_even_when_cookiecutter_is_bypassed(
    overrides: dict[str, str], words: list[str]
) -> None:
    # cookiecutter refuses these itself; the hook still checks in case it is run directly.
    answers = {**default_answers(), **overrides}
    problem = hook.first_problem(answers, hook.image_registries(answers))
    assert problem is not None
    for word in words:
        assert word in problem


def test_a_region_without_the_frameworks_serving_image_is_refused() -> None:
    answers = default_answers(model_framework="pytorch")
    images = hook.image_registries(answers)
    assert images["serving"] == images["pytorch-2.6.0"]
    problem = hook.check_region(answers, {**images, "serving": {}})
    assert problem == (
        "aws_region 'us-east-1' has no SageMaker pytorch serving image in this template's "
        "table; answer model_framework=sklearn or choose another region"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"rollout_strategy": "canary", "rollout_step_percent": "50"},
        {"rollout_strategy": "linear", "rollout_step_percent": "10"},
        {
            "rollout_strategy": "all-at-once",
            "rollout_step_percent": "anything",
            "prod_instance_count": "1",
        },
        {"project_name": "ACME Fraud-Scorer 2"},
        {"aws_region": "ap-south-2", "include_model_monitor": "n"},
    ],
)
def test_boundary_answers_are_accepted(overrides: dict[str, str]) -> None:
    answers = default_answers(**overrides)
    assert hook.first_problem(answers, hook.image_registries(answers)) is None


def cookiecutter_cli(output: Path, overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pairs = [f"{key}={value}" for key, value in overrides.items()]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(TEMPLATE_ROOT),
            *pairs,
            "--output-dir",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


# cookiecutter creates the project folder before any hook runs, so a slug with "/" leaves
# the empty parent folder it made (README: known limits). The refusal itself still holds.
NESTED_SLUG = {"project_slug": "bad/slug"}


@pytest.mark.parametrize(("overrides", "words"), BAD_ANSWERS, ids=map(label, BAD_ANSWERS))
def test_bad_answer_is_refused_with_one_line_and_no_folder(
    tmp_path: Path, overrides: dict[str, str], words: list[str]
) -> None:
    output = tmp_path / "out"
    result = cookiecutter_cli(output, overrides)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(ours) == 1, result.stderr
    for word in words:
        assert word in ours[0]
    leftovers = [path for path in output.rglob("*")] if output.exists() else []
    if overrides == NESTED_SLUG:
        assert leftovers == [output / "bad"]
    else:
        assert leftovers == []


def test_the_readme_says_what_plain_cookiecutter_prints_after_our_line(tmp_path: Path) -> None:
    """cookiecutter logs its own refusal (and a traceback) after the hook exits; the README
    says so word for word instead of promising one line."""
    result = cookiecutter_cli(tmp_path / "out", {"rollout_step_percent": "60"})
    output = result.stdout + result.stderr
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    for said in (
        "error: rollout_step_percent 60 is outside SageMaker's 1-50 % range",
        "Stopping generation because pre_gen_project hook script didn't exit successfully",
        "FailedHookException",
        "Hook script failed (exit status: 1)",
    ):
        assert said in output, output
        assert said in " ".join(readme.split()), said


def test_the_readme_bake_commands_work_as_written() -> None:
    """No placeholder to fill in (the bake command once read gh:<owner>/...)."""
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    assert "<owner>" not in readme
    assert 'pipx run cookiecutter "$PWD" --output-dir ..' in readme
