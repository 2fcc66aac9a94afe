"""Checks on a baked project: nothing left unrendered, lint clean, its own tests pass."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Jinja that escaped rendering. GitHub expressions (`${{ ... }}`) are meant to stay.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#")
SKIPPED_DIRS = {".git", ".nox", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "cdk.out"}


def leftover_jinja(project: Path) -> list[str]:
    """`path:line` for every unrendered Jinja marker in the project's text files."""
    found = []
    for path in sorted(project.rglob("*")):
        if not path.is_file() or SKIPPED_DIRS & set(path.relative_to(project).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if LEFTOVER_JINJA.search(line):
                found.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    return found


@dataclass(frozen=True)
class CheckResult:
    name: str
    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


# What a baked project's own `invoke lint` and `invoke test` run, minus invoke itself.
CHECKS: dict[str, list[str]] = {
    "ruff check": ["-m", "ruff", "check", "."],
    "ruff format": ["-m", "ruff", "format", "--check", "."],
    "mypy": ["-m", "mypy"],
    "pytest": ["-m", "pytest", "-q", "-p", "no:cacheprovider"],
}


def run_check(project: Path, python: Path, name: str, arguments: Sequence[str] = ()) -> CheckResult:
    """Run one check in the project with the shared environment's interpreter; `arguments`
    go after the check's own (for pytest: which tests)."""
    command = [str(python), *CHECKS[name], *arguments]
    # One mypy cache for every bake checked with this interpreter: the heavy part (aws_cdk's
    # types) is the same in all of them; a bake's own modules are re-checked by content.
    cache = python.parent.parent / "mypy-cache"
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "MYPY_CACHE_DIR": str(cache)}
    env.pop("JSII_NODE", None)  # the baked project must find its own Node.js
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False
    )
    return CheckResult(name, command, result.returncode, result.stdout + result.stderr)
