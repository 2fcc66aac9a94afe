"""Digests of what decides a build's output: files by sha256, source folders, and the
installed versions of the libraries that compute it (read from package metadata, so nothing
heavy is imported). The build caches key on them and the deploy bundle records them."""

from __future__ import annotations

import hashlib
import platform
import tomllib
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .errors import ConfigError

NOT_INSTALLED = "not installed"
LOCK_FILE = "uv.lock"  # the exact versions every install of the project uses (uv sync --locked)
# The libraries that build what is deployed: the CDK (templates) and the model's. A bundle
# records their versions; a deploy refuses when they are not the ones uv.lock pins.
BUILD_TOOLS = (
    "aws-cdk-lib",
    "boto3",
    "cdk-nag",
    "constructs",
    "jsii",
    "numpy",
    "scikit-learn",
    "scipy",
)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_sha256(root: Path) -> str:
    """The sha256 of the project's uv.lock, line endings normalized (a Windows checkout
    hashes as a Linux one); "" when the project has none."""
    path = root / LOCK_FILE
    if not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def locked_versions(root: Path) -> dict[str, frozenset[str]]:
    """Each package uv.lock pins, with its version(s) (a universal lock may pin one per
    Python or platform); {} without a lock. An unreadable lock is a ConfigError."""
    path = root / LOCK_FILE
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{LOCK_FILE} is not readable ({error}); run `uv lock`") from None
    pinned: dict[str, set[str]] = {}
    for package in document.get("package", []):
        if isinstance(package, dict) and package.get("name") and package.get("version"):
            name = str(package["name"]).lower().replace("_", "-")
            pinned.setdefault(name, set()).add(str(package["version"]))
    return {name: frozenset(versions) for name, versions in pinned.items()}


def installed_versions(names: Iterable[str]) -> dict[str, str]:
    """Python's version and each distribution's, or NOT_INSTALLED."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = NOT_INSTALLED
    return found


def add_sources(digest: Any, files: Iterable[Path], base: Path) -> None:
    """Each file's path under base and its bytes (line endings normalized: a checkout on
    Windows hashes as one on Linux) into a hashlib digest."""
    for path in files:
        digest.update(f"\0{path.relative_to(base).as_posix()}\0".encode())
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
