"""Region-correct container images: SageMaker scikit-learn serving and Model Monitor.

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


def has_sklearn_image(region: str) -> bool:
    return region in _table()["sklearn"]["registries"]


def has_model_monitor_image(region: str) -> bool:
    return region in _table()["model_monitor"]["registries"]


def sklearn_image(region: str, url_suffix: str = "amazonaws.com") -> str:
    """The scikit-learn inference image for a region (KeyError if it has none)."""
    return _image("sklearn", region, url_suffix)


def model_monitor_image(region: str, url_suffix: str = "amazonaws.com") -> str:
    """The Model Monitor analyzer image for a region (KeyError if it has none)."""
    return _image("model_monitor", region, url_suffix)


def ecr_repository_arn(kind: str, region: str, partition: str = "aws") -> str:
    """The ARN of the AWS-owned repository an image comes from, for a least-privilege pull."""
    entry = _table()[kind]
    account = entry["registries"][region]
    return f"arn:{partition}:ecr:{region}:{account}:repository/{entry['repository']}"
