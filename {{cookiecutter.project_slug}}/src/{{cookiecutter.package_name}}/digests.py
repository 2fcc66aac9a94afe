"""Digests of what decides a build's output: files by sha256, source folders, and the
installed versions of the libraries that compute it (read from package metadata, so nothing
heavy is imported). The build caches key on them and the deploy bundle records them."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

NOT_INSTALLED = "not installed"
LOCK_FILE = "uv.lock"  # the exact versions every install of the project uses (uv sync --locked)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_sha256(root: Path) -> str:
    """The sha256 of the project's uv.lock, line endings normalized (a Windows checkout
    hashes as a Linux one); "" when the project has none."""
    path = root / LOCK_FILE
    if not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


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
