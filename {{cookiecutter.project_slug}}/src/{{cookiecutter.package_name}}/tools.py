"""Tools that run in their own environment (`uv tool run --from NAME==VERSION`): scanners
whose dependencies would fight the project's pins in uv.lock (checkov, pip-audit)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .errors import ProjectError


def find_uv() -> str | None:
    """uv beside this Python (the project's environment has it, through nox[uv]), else on
    PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def last_line(output: str, default: str = "no output") -> str:
    """The last line a tool printed (where its error is), or default when it printed none."""
    return (output.strip().splitlines() or [default])[-1]


def run_tool(
    requirement: str,
    executable: str,
    *args: str,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """`uv tool run --from requirement [--with extra] executable args`, output captured; a
    ProjectError (one line) when uv is missing."""
    uv = find_uv()
    if uv is None:
        raise ProjectError(f"{executable} runs with uv (uv tool run), and uv is not installed")
    withs = [part for requirement_ in extra for part in ("--with", requirement_)]
    command = [uv, "tool", "run", "--from", requirement, *withs, executable, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)
