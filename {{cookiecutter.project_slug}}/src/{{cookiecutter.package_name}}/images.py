"""Region-correct container images: the SageMaker framework images that serve a model
(scikit-learn, XGBoost, PyTorch, each of the versions images.json has) and Model Monitor.

The registry accounts are data (images.json), copied from the SageMaker Python SDK's image
tables, so a new region is a one-line change there, not code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

# An Amazon ECR image URI: <account>.dkr.ecr.<region>.<suffix>/<repository>[:tag][@digest].
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(:(?P<tag>[\w.-]+))?"
    r"(@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class Container:
    """What serves a model when it is not the framework's image with this project's handler
    (a registry package's own container): an ECR image and its environment, sorted pairs."""

    image: str
    environment: tuple[tuple[str, str], ...] = ()


def ecr_image_parts(image: str) -> dict[str, str] | None:
    """account, region, repository (and tag or digest) of an ECR image URI; None if it is not
    one."""
    match = _ECR_IMAGE.match(image)
    return {k: v for k, v in match.groupdict().items() if v} if match else None


def image_repository_arn(image: str, partition: str = "aws") -> str:
    """The ARN of the ECR repository an image URI names (ValueError if it names none)."""
    parts = ecr_image_parts(image)
    if parts is None:
        raise ValueError(f"{image!r} is not an Amazon ECR image URI")
    return (
        f"arn:{partition}:ecr:{parts['region']}:{parts['account']}:repository/{parts['repository']}"
    )


@cache
def _table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(
        files(__package__).joinpath("images.json").read_text(encoding="utf-8")
    )
    return table


def _image(kind: str, region: str, url_suffix: str) -> str:
    entry = _table()[kind]
    account = entry["registries"][region]
    return f"{account}.dkr.ecr.{region}.{url_suffix}/{entry['repository']}:{entry['tag']}"


IMAGE = "image"  # [model] framework: a team's own image, by its ECR URI pinned by digest


def framework_versions(framework: str) -> list[str]:
    """The versions images.json has a serving image of for a framework ([] if none)."""
    return sorted(
        entry["version"]
        for kind, entry in _table().items()
        if not kind.startswith("_") and entry.get("framework") == framework
    )


def _serving_kind(framework: str, version: str) -> str:
    """The images.json entry of a framework's version (KeyError if it has none)."""
    for kind, entry in _table().items():
        if not kind.startswith("_") and (entry.get("framework"), entry.get("version")) == (
            framework,
            version,
        ):
            return kind
    raise KeyError(f"{framework} {version}")


def has_serving_image(framework: str, version: str, region: str) -> bool:
    try:
        return region in _table()[_serving_kind(framework, version)]["registries"]
    except KeyError:
        return False


def serving_image(
    framework: str, version: str, region: str, url_suffix: str = "amazonaws.com"
) -> str:
    """The framework's serving image of that version for a region (KeyError if none)."""
    return _image(_serving_kind(framework, version), region, url_suffix)


def serving_repository_arn(framework: str, version: str, region: str, partition: str) -> str:
    return ecr_repository_arn(_serving_kind(framework, version), region, partition)


def has_model_monitor_image(region: str) -> bool:
    return region in _table()["model_monitor"]["registries"]


def model_monitor_image(region: str, url_suffix: str = "amazonaws.com") -> str:
    """The Model Monitor analyzer image for a region (KeyError if it has none)."""
    return _image("model_monitor", region, url_suffix)


def ecr_repository_arn(kind: str, region: str, partition: str = "aws") -> str:
    """The ARN of the AWS-owned repository an image comes from, for a least-privilege pull."""
    entry = _table()[kind]
    account = entry["registries"][region]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{entry['repository']}"
