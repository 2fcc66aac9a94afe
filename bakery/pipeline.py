"""Run a baked project's own pipeline the way its team and CI do.

`nox` first (lint -> tests -> synth), then the release process against the project's
embedded local AWS, with a bare repository as `origin`: deploy a dry run, two people approve
its plan (`invoke approve` as the local AWS's IAM users alice and bob), execute exactly that
plan (--execute --plan <its deploy id>; the protected `local` environment, confirmed), tag
v0.1.0, change the model, the same for v0.2.0, roll back to v0.1.0, list the ledger, check
that AWS runs what it says (invoke drift: exit 2 on drift fails the demo), and
stop the local AWS by its pid whatever happened. The demo has no prod account: a committed
config change makes `local` certify releases and gives it prod's two-person rule.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class PipelineError(Exception):
    """A step of the baked project's pipeline failed."""


NOX = (sys.executable, "-m", "nox", "--error-on-missing-interpreters")
CONFIRMATION = "I_UNDERSTAND_THE_COST"
APPROVERS = ("alice", "bob")  # two people other than the deployer (the local AWS's root)
DEMO_AUTHOR = ("-c", "user.name=Demo", "-c", "user.email=demo@example.com")


@dataclass
class Summary:
    """The steps the demo ran, in order, with their seconds: printed at the end."""

    steps: list[tuple[str, float]] = field(default_factory=list)

    def lines(self) -> list[str]:
        width = max((len(step) for step, _ in self.steps), default=0)
        total = sum(seconds for _, seconds in self.steps)
        rows = [f"  {step:<{width}}  {seconds:6.1f} s" for step, seconds in self.steps]
        return [*rows, f"  {'total':<{width}}  {total:6.1f} s"]


def _run(
    step: str,
    command: Sequence[str],
    project: Path,
    env: Mapping[str, str] | None = None,
    summary: Summary | None = None,
) -> None:
    """Run one step with its output streaming through; a failure names the step."""
    shown = " ".join([Path(command[0]).name, *command[1:]])  # no long interpreter paths
    print(f"[demo] {step}: {shown}", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        list(command), cwd=project, check=False, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise PipelineError(
            f"{step} failed in {project} (exit {result.returncode}); its output above says why"
        )
    if summary is not None:
        summary.steps.append((step, time.monotonic() - started))


def run_pipeline(project: Path, summary: Summary) -> None:
    """Run `nox` (its default sessions: lint -> tests -> synth) in project."""
    _run("nox (lint -> tests -> synth)", NOX, project, summary=summary)


def confirm_variable(project: Path) -> str:
    config = tomllib.loads((project / "config/environments.toml").read_text(encoding="utf-8"))
    return str(config["project"]["deploy_confirm_variable"])


# The demo's only config change: `local` stands in for prod. Each (old, new) is there once.
_LOCAL_AS_PROD = (
    ('[release]\nenvironment = "prod"\n', '[release]\nenvironment = "local"\n'),
    ("\nrequire_reviewed_plan = false\n", "\nrequire_reviewed_plan = true\n"),
    ("\napprovals_required = 0\n", "\napprovals_required = 2\n"),
)


def _local_as_prod(project: Path) -> None:
    """Releases are certified by deploys to `local`, whose plans two people must approve."""
    path = project / "config/environments.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in _LOCAL_AS_PROD:
        if text.count(old) != 1:
            raise PipelineError(f"{path} has no single `{old.strip()}` to change")
        text = text.replace(old, new)
    path.write_text(text, "utf-8")


def _change_model(project: Path) -> None:
    """A new model, the way a team makes one: a committed change to config/model.toml."""
    path = project / "config/model.toml"
    text = path.read_text(encoding="utf-8")
    if "regularization = 1.0\n" not in text:
        raise PipelineError(f"{path} has no `regularization = 1.0` to change")
    path.write_text(text.replace("regularization = 1.0\n", "regularization = 0.5\n"), "utf-8")


def _commit_and_push(project: Path, message: str) -> None:
    _run("commit", ["git", *DEMO_AUTHOR, "commit", "-q", "-am", message], project)
    _run("push", ["git", "push", "-q", "origin", "main"], project)


def _make_origin(project: Path) -> None:
    """A bare repository next to the project as its `origin`, with main pushed."""
    origin = project.parent / f"{project.name}-origin.git"
    shutil.rmtree(origin, ignore_errors=True)
    _run("create origin", ["git", "init", "-q", "--bare", "-b", "main", str(origin)], project)
    _run("add origin", ["git", "remote", "add", "origin", str(origin)], project)
    _run("push main", ["git", "push", "-q", "-u", "origin", "main"], project)


def prepare_repository(project: Path) -> None:
    """The bake committed on main (by the post-gen hook; here when git had no identity
    there) and pushed to a bare `origin` next to it."""
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    if head.returncode != 0:
        _run("commit the bake", ["git", *DEMO_AUTHOR, "add", "-A"], project)
        _run("commit the bake", ["git", *DEMO_AUTHOR, "commit", "-q", "-m", "Baked"], project)
    _make_origin(project)


def dry_run_plan(project: Path) -> str:
    """The deploy id of the newest plan in build/deploys/local/ (ids sort by time): the one
    the dry run just made, which `--execute --plan` then runs."""
    folder = project / "build" / "deploys" / "local"
    names = sorted(bundle.parent.name for bundle in folder.glob("*/bundle"))
    if not names:
        raise PipelineError(f"deploy dry run left no plan in {folder}")
    return names[-1]


def _reviewed_deploy(project: Path, what: str, invoke: str, summary: Summary) -> None:
    """A dry run, its plan approved by two people, and the execute of exactly that plan."""
    deploy = [*NOX, "-s", "deploy", "--", "--env", "local"]
    _run(f"{what} dry run", deploy, project, summary=summary)
    plan = dry_run_plan(project)  # the plan just shown: approved, then executed
    for person in APPROVERS:
        approve = [invoke, "approve", "--env", "local", "--plan", plan]
        _run(f"{what} approved by {person}", approve, project, {"LOCAL_AWS_USER": person}, summary)
    confirmed = {confirm_variable(project): CONFIRMATION}
    execute = [*deploy, "--execute", "--plan", plan]
    _run(f"{what} --execute", execute, project, confirmed, summary)


def run_governed_deploy(project: Path, summary: Summary) -> None:
    """The release process against local AWS (see the module doc); each step in summary."""
    project = project.resolve()  # the project's own tools are run from inside it
    confirmed = {confirm_variable(project): CONFIRMATION}
    prepare_repository(project)
    _local_as_prod(project)
    _commit_and_push(project, "chore: local certifies releases, with prod's two-person rule")
    _run("prepare the deploy environment", [*NOX, "-s", "deploy", "--install-only"], project)
    invoke = str(project / ".nox" / "deploy" / "bin" / "invoke")
    _run("start the local AWS", [invoke, "local-aws"], project, summary=summary)
    try:
        _reviewed_deploy(project, "deploy", invoke, summary)
        _run("tag v0.1.0", [invoke, "tag", "--execute"], project, summary=summary)
        _change_model(project)
        _commit_and_push(project, "feat(model): stronger regularization")
        _reviewed_deploy(project, "deploy the new model", invoke, summary)
        _run("tag v0.2.0", [invoke, "tag", "--execute"], project, summary=summary)
        rollback = [invoke, "rollback", "--env", "local", "--execute"]
        _run("roll back to v0.1.0", rollback, project, confirmed, summary)
        _run("history", [invoke, "history", "--env", "local"], project, summary=summary)
        drift = [invoke, "drift", "--env", "local"]  # exit 2 (a failed step) on drift
        _run("drift against the ledger", drift, project, summary=summary)
    finally:
        _run("stop the local AWS", [invoke, "local-aws", "--stop"], project, summary=summary)
