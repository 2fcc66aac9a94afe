"""Region-correct container images: SageMaker scikit-learn serving and Model Monitor.

The registry accounts are data (images.json), copied from the SageMaker Python SDK's image
tables, so a new region is a one-line change there, not code.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


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
