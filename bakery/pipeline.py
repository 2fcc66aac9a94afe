"""Run a baked project's own pipeline the way its CI does: `nox` in the project folder."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


class PipelineError(Exception):
    """A step of the baked project's pipeline failed."""


def run_pipeline(project: Path) -> float:
    """Run `nox` (its default sessions: lint -> tests -> synth) in project; returns seconds.

    Output streams through, so a person sees each step as it runs.
    """
    command = [sys.executable, "-m", "nox", "--error-on-missing-interpreters"]
    started = time.monotonic()
    result = subprocess.run(command, cwd=project, check=False)
    if result.returncode != 0:
        raise PipelineError(
            f"`nox` failed in {project} (exit {result.returncode}); its output above names "
            "the session and the check"
        )
    return time.monotonic() - started
