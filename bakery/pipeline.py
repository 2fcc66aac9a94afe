"""Run a baked project's own pipeline the way its team and CI do.

`nox` first (lint -> tests -> synth), then the governed deploy against the project's
embedded local AWS: commit the bake on main, start the moto server, deploy a dry run, deploy
with --execute (the protected `local` environment, confirmed), list the ledger, and stop
the server by its pid whatever happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path


class PipelineError(Exception):
    """A step of the baked project's pipeline failed."""


NOX = (sys.executable, "-m", "nox", "--error-on-missing-interpreters")
CONFIRMATION = "I_UNDERSTAND_THE_COST"
DEMO_AUTHOR = ("-c", "user.name=Demo", "-c", "user.email=demo@example.com")


def _run(
    step: str, command: Sequence[str], project: Path, env: Mapping[str, str] | None = None
) -> None:
    """Run one step with its output streaming through; a failure names the step."""
    shown = " ".join([Path(command[0]).name, *command[1:]])  # no long interpreter paths
    print(f"[demo] {step}: {shown}", flush=True)
    result = subprocess.run(
        list(command), cwd=project, check=False, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise PipelineError(
            f"{step} failed in {project} (exit {result.returncode}); its output above says why"
        )


def run_pipeline(project: Path) -> float:
    """Run `nox` (its default sessions: lint -> tests -> synth) in project; returns seconds."""
    started = time.monotonic()
    _run("nox (lint -> tests -> synth)", NOX, project)
    return time.monotonic() - started


def confirm_variable(project: Path) -> str:
    config = tomllib.loads((project / "config/environments.toml").read_text(encoding="utf-8"))
    return str(config["project"]["deploy_confirm_variable"])


def run_governed_deploy(project: Path) -> float:
    """Commit, start local AWS, dry run, execute, history; always stop local AWS. Seconds."""
    started = time.monotonic()
    project = project.resolve()  # the project's own tools are run from inside it
    _run("commit the bake", ["git", *DEMO_AUTHOR, "add", "-A"], project)
    _run("commit the bake", ["git", *DEMO_AUTHOR, "commit", "-q", "-m", "Baked"], project)
    _run("prepare the deploy environment", [*NOX, "-s", "deploy", "--install-only"], project)
    invoke = str(project / ".nox" / "deploy" / "bin" / "invoke")
    _run("start the local AWS", [invoke, "local-aws"], project)
    try:
        _run("deploy dry run", [*NOX, "-s", "deploy", "--", "--env", "local"], project)
        _run(
            "deploy --execute",
            [*NOX, "-s", "deploy", "--", "--env", "local", "--execute"],
            project,
            {confirm_variable(project): CONFIRMATION},
        )
        _run("history", [invoke, "history", "--env", "local"], project)
    finally:
        _run("stop the local AWS", [invoke, "local-aws", "--stop"], project)
    return time.monotonic() - started
