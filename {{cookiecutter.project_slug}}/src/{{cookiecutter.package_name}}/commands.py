"""The commands behind tasks.py (and so behind the nox sessions CI runs).

Each loads the configuration, calls the engine and prints for people. Refusals are
ProjectErrors; the front door turns them into one line and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.table import Table

from .config import CONFIG_PATH, Settings, load
from .output import new_console

# Logs (CI, pipes) are wider than rich's 80-column default; a terminal or COLUMNS decides.
console = new_console()


def synth(environments: Sequence[str], outdir: Path, model_sha256: str = "") -> list[Path]:
    """Synthesize the named environments (all when none) into outdir; returns the templates."""
    from .infra.app import UNPACKAGED_MODEL_SHA256, synthesize_into

    settings = load()
    selected = settings.select(list(environments))
    digest = model_sha256 or UNPACKAGED_MODEL_SHA256
    names = ", ".join(env.name for env in selected)
    console.print(f"Synthesizing {len(selected)} environment(s) ({names}) with cdk-nag checks")
    started = time.monotonic()
    with console.status("synthesizing…"):
        stacks = synthesize_into(outdir, settings, selected, digest)
    table = Table(title=f"Templates in {outdir}/", title_justify="left", box=box.SIMPLE)
    table.add_column("stack (one per environment and part)")
    table.add_column("template")
    for stack in stacks:
        table.add_row(stack.stack_name, stack.template_path.name)
    console.print(table)
    console.print(f"{len(stacks)} templates in {time.monotonic() - started:.1f} s")
    if digest == UNPACKAGED_MODEL_SHA256:
        console.print(
            "note: no --model-sha256 given, so the templates reference the placeholder digest "
            "000…; a deploy synthesizes with the digest of the model it packages."
        )
    return [stack.template_path for stack in stacks]


def project_root() -> Path:
    """The project's root (where config/ lives): deploys run git and write build/ there."""
    return CONFIG_PATH.parents[1]


def deploy(
    environment: str,
    *,
    execute: bool,
    upload_artifacts: bool,
    timeout_minutes: int,
) -> None:
    """Plan (and with execute, apply, verify and record) a deploy of one environment."""
    from .release.deploy import DeployRequest
    from .release.deploy import deploy as run_deploy

    request = DeployRequest(
        environment=environment,
        execute=execute,
        upload_artifacts=upload_artifacts,
        timeout_seconds=timeout_minutes * 60.0,
    )
    started = time.monotonic()
    outcome = run_deploy(load(), request, root=project_root(), environ=os.environ, out=console)
    console.print(f"{outcome.result} ({outcome.deploy_id}) in {time.monotonic() - started:.1f} s")
    _step_summary(outcome.bundle)


def rollback(environment: str, *, to: str, execute: bool, timeout_minutes: int) -> None:
    """Plan (and with execute, apply) a rollback of one environment to an earlier deploy."""
    from .release.rollback import RollbackRequest
    from .release.rollback import rollback as run_rollback

    request = RollbackRequest(
        environment=environment,
        to=to or None,
        execute=execute,
        timeout_seconds=timeout_minutes * 60.0,
    )
    started = time.monotonic()
    outcome = run_rollback(load(), request, root=project_root(), environ=os.environ, out=console)
    console.print(
        f"rollback {outcome.result} ({outcome.deploy_id}) in {time.monotonic() - started:.1f} s"
    )
    _step_summary(outcome.bundle)


def _step_summary(bundle: Path) -> None:
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:  # CI shows the plan on the run's page
        markdown = (bundle / "plan.md").read_text(encoding="utf-8")
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(markdown)


def history(
    environment: str, *, as_json: bool, limit: int, settings: Settings | None = None
) -> None:
    """The environment's deploy records from the ledger, newest first."""
    from .release.ledger import ledger_of

    settings = settings or load()
    env = settings.environment(environment)
    ledger = ledger_of(settings, env)
    records = ledger.records()[:limit] if limit else ledger.records()
    if as_json:
        print(json.dumps([json.loads(record.to_json()) for record in records], indent=2))
        return
    if not records:
        console.print(f"no deploy records in {ledger.url()}")
        return
    table = Table(title=f"Deploys of {env.name} ({ledger.url()})", title_justify="left")
    for column in ("deploy id", "kind", "outcome", "commit", "ref", "model", "actor", "seconds"):
        table.add_column(column, no_wrap=column in {"deploy id", "outcome", "commit"})
    for record in records:
        outcome = record.outcome.value
        table.add_row(
            record.deploy_id,
            record.kind,
            f"[green]{outcome}" if outcome == "succeeded" else f"[red]{outcome}",
            record.commit[:7],
            record.ref or "-",
            record.model_sha256[:12],
            record.actor,
            f"{record.duration_seconds:.1f}",
        )
    console.print(table)


def local_aws(environment: str, action: str) -> None:
    """Start (default), stop or report the embedded local AWS for an environment."""
    from .release import local_aws as moto

    server = moto.local_aws(load().environment(environment), project_root() / "build" / "local-aws")
    if action == "stop":
        pid = moto.stop(server)
        console.print(f"stopped local AWS (pid {pid})" if pid else "local AWS was not running")
    elif action == "status":
        console.print(f"local AWS: {moto.status(server)}")
    else:
        pid = moto.start(server)
        console.print(f"local AWS running at {server.url} (pid {pid}; log {server.log_file})")
