"""The commands behind tasks.py (and so behind the nox sessions CI runs).

Each takes the project's root (the folder of the tasks.py invoke loaded), loads that
project's configuration, calls the engine and prints for people. Refusals are ProjectErrors;
the front door turns them into one line and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from .config import Settings, load
from .errors import ConfigError
from .output import new_console

# Logs (CI, pipes) are wider than rich's 80-column default; a terminal or COLUMNS decides.
console = new_console()
MAX_REPLAYED = 10_000  # --replay-captured: each captured request is read from S3


def synth(
    root: Path, environments: Sequence[str], outdir: Path, model_sha256: str = ""
) -> list[Path]:
    """Synthesize the named environments (all when none) into outdir; returns the templates.
    Inputs synthesized before are copied from the build cache (caching.py), checked."""
    from .caching import REUSED, cache_dir
    from .infra.assembly import UNPACKAGED_MODEL_SHA256
    from .infra.synth_cache import cached_synth

    settings = load(root)
    selected = settings.select(list(environments))
    digest = model_sha256 or UNPACKAGED_MODEL_SHA256
    names = ", ".join(env.name for env in selected)
    console.print(f"Synthesizing {len(selected)} environment(s) ({names}) with cdk-nag checks")
    started = time.monotonic()
    with console.status("synthesizing…"):
        stacks, reused = cached_synth(cache_dir(root), outdir, settings, selected, digest)
    table = Table(title=f"Templates in {outdir}/", title_justify="left", box=box.SIMPLE)
    table.add_column("stack (one per environment and part)")
    table.add_column("template")
    for stack in stacks:
        table.add_row(stack.stack_name, stack.template_path.name)
    console.print(table)
    said = f" ({REUSED})" if reused else ""
    console.print(f"{len(stacks)} templates in {time.monotonic() - started:.1f} s{said}")
    if digest == UNPACKAGED_MODEL_SHA256:
        console.print(
            "note: no --model-sha256 given, so the templates reference the placeholder digest "
            "000…; a deploy synthesizes with the digest of the model it packages."
        )
    return [stack.template_path for stack in stacks]


def scan(root: Path, outdir: Path) -> None:
    """checkov on the templates in outdir; a ScanError (one line) unless every finding is
    acknowledged in config/checkov.toml and every acknowledgement still matches one."""
    from .infra.scan import (
        ACKNOWLEDGEMENTS,
        CHECKOV_VERSION,
        ScanError,
        judge,
        load_acknowledgements,
        run_checkov,
        scanned_environments,
        summary,
    )

    settings = load(root)
    folder = outdir  # as synth writes it: relative to where the task runs
    environments = scanned_environments(folder)
    if not environments:
        raise ScanError(f"no templates in {outdir}/: run invoke synth first")
    acknowledgements = load_acknowledgements(root / ACKNOWLEDGEMENTS, settings.environments)
    with console.status(f"checkov {CHECKOV_VERSION} on {len(environments)} environment(s)…"):
        findings = run_checkov(folder)
    verdict = judge(findings, acknowledgements, environments)
    table = Table(title=f"checkov on {outdir}/", title_justify="left", box=box.SIMPLE)
    for column in ("check", "stack", "resource", "acknowledged"):
        table.add_column(column, overflow="fold")
    for finding in verdict.findings:
        said = "[red]NO" if finding in verdict.unacknowledged else "yes"
        table.add_row(finding.check, finding.stack, finding.resource, said)
    if verdict.findings:
        console.print(table)
    if not verdict.passed:
        raise ScanError(summary(verdict))
    console.print(summary(verdict))
    _lint_iam(root, settings)


def _lint_iam(root: Path, settings: Settings) -> None:
    """parliament on the bootstrap's policies; a ScanError (one line) unless every finding
    is acknowledged in config/iam-lint.toml and every acknowledgement still matches one."""
    from .access.lint import CHECK_IDS, IAM_ACKNOWLEDGEMENTS, PARLIAMENT_VERSION, run_parliament
    from .infra.scan import ScanError, judge, load_acknowledgements, summary

    acknowledgements = load_acknowledgements(
        root / IAM_ACKNOWLEDGEMENTS, settings.environments, CHECK_IDS, "RESOURCE_STAR"
    )
    with console.status(f"parliament {PARLIAMENT_VERSION} on the bootstrap's policies…"):
        findings, environments = run_parliament(settings)
    verdict = judge(findings, acknowledgements, environments)
    for finding in verdict.unacknowledged:
        console.print(
            f"  {finding.environment} {finding.check} {finding.resource}",
            markup=False,
            highlight=False,
        )
    if not verdict.passed:
        raise ScanError(summary(verdict, "parliament", IAM_ACKNOWLEDGEMENTS))
    console.print(summary(verdict, "parliament", IAM_ACKNOWLEDGEMENTS))


def audit(root: Path) -> int:
    """pip-audit on what uv.lock pins; 1 when it found known vulnerabilities, else 0 (an
    audit the vulnerability service did not answer is said, and informational)."""
    from .audit import PIP_AUDIT_VERSION, Status, audit_lock

    with console.status(f"pip-audit {PIP_AUDIT_VERSION} on uv.lock's pins…"):
        result = audit_lock(root)
    console.print(result.line(), markup=False, highlight=False, soft_wrap=True)
    return 1 if result.status is Status.VULNERABLE else 0


def deploy(
    root: Path,
    environment: str,
    *,
    execute: bool,
    upload_artifacts: bool,
    timeout_minutes: int,
    plan: str | None = None,
    model_package: str | None = None,
    replay_captured: int = 0,
) -> None:
    """Plan (and with execute, apply, verify and record) a deploy of one environment; plan
    names the reviewed dry run it must match, model_package a registry version to serve."""
    from .release.deploy import DeployRequest
    from .release.deploy import deploy as run_deploy

    if not 0 <= replay_captured <= MAX_REPLAYED:
        raise ConfigError(
            f"--replay-captured {replay_captured}: replay 0 to {MAX_REPLAYED} captured requests"
        )
    request = DeployRequest(
        environment=environment,
        execute=execute,
        upload_artifacts=upload_artifacts,
        timeout_seconds=timeout_minutes * 60.0,
        plan=plan,
        model_package=model_package,
        replay_captured=replay_captured,
    )
    started = time.monotonic()
    outcome = run_deploy(load(root), request, root=root, environ=os.environ, out=console)
    console.print(f"{outcome.result} ({outcome.deploy_id}) in {time.monotonic() - started:.1f} s")
    _step_summary(outcome.bundle)


def rollback(
    root: Path,
    environment: str,
    *,
    to: str,
    execute: bool,
    timeout_minutes: int,
    to_model_package: int = 0,
    plan: str | None = None,
) -> None:
    """Plan (and with execute, apply) a rollback to an earlier deploy or model package; plan
    names the reviewed (and approved) dry run it must match."""
    from .release.rollback import RollbackRequest
    from .release.rollback import rollback as run_rollback

    request = RollbackRequest(
        environment=environment,
        to=to or None,
        execute=execute,
        timeout_seconds=timeout_minutes * 60.0,
        to_model_package=to_model_package or None,
        plan=plan,
    )
    started = time.monotonic()
    outcome = run_rollback(load(root), request, root=root, environ=os.environ, out=console)
    console.print(
        f"rollback {outcome.result} ({outcome.deploy_id}) in {time.monotonic() - started:.1f} s"
    )
    _step_summary(outcome.bundle)


def destroy(root: Path, environment: str, *, execute: bool, timeout_minutes: int) -> None:
    """Plan (and with execute, delete) an environment's serving and monitoring stacks."""
    from .release.destroy import DestroyRequest
    from .release.destroy import destroy as run_destroy

    request = DestroyRequest(
        environment=environment, execute=execute, timeout_seconds=timeout_minutes * 60.0
    )
    started = time.monotonic()
    outcome = run_destroy(load(root), request, root=root, environ=os.environ, out=console)
    console.print(f"destroy: {outcome.result} in {time.monotonic() - started:.1f} s")


def approve(root: Path, environment: str, *, plan: str, digest: str) -> None:
    """Approve a kept plan (its digest) as the caller, for the two-person rule."""
    from .release.approve import ApproveRequest
    from .release.approve import approve as run_approve

    request = ApproveRequest(environment=environment, plan=plan, digest=digest)
    run_approve(load(root), request, root=root, environ=os.environ, out=console)


def note(root: Path, environment: str, *, deploy_id: str, text: str) -> None:
    """Append a follow-up note to one record of an environment's ledger."""
    from .release.notes import add_note

    add_note(load(root), environment, deploy_id, text, root=root, environ=os.environ, out=console)


def tag(root: Path, *, bump: str, execute: bool) -> None:
    """Plan (and with execute, create and push) the next release tag for HEAD."""
    from .release.tag import TagRequest
    from .release.tag import tag as run_tag
    from .release.versioning import Bump

    try:
        chosen = Bump(bump) if bump else None
    except ValueError:
        raise ConfigError(f"--bump {bump!r}: use patch, minor or major") from None
    run_tag(
        load(root),
        TagRequest(bump=chosen, execute=execute),
        root=root,
        environ=os.environ,
        out=console,
    )


def governance(
    root: Path,
    *,
    execute: bool,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    out: Console | None = None,
) -> int:
    """Compare GitHub's branch protection and environments with config; apply with execute.

    Returns the exit status: 0 when GitHub matches config (at the end), 1 while it differs.
    """
    from .errors import GitHubError, Refusal
    from .release import governance as rules
    from .release.github import connect

    settings = settings or load(root)
    out = out or console
    github = connect(settings, os.environ if environ is None else environ)
    if github is None:
        raise Refusal(
            "governance reads and sets GitHub's branch protection, environments and role "
            "variables, but "
            "GITHUB_TOKEN is not set; set it to a token with admin rights on the repository"
        )
    wanted = rules.desired(settings)
    differences = rules.diff(rules.current(github, wanted), wanted)
    names = ", ".join(wanted.environments) or "none"
    where = f"{github.repository} (branch {wanted.branch}; environments {names})"
    if not differences:
        out.print(f"GitHub matches config: {where}")
        return 0
    out.print(rules.difference_table(differences, f"GitHub differs from config: {where}"))
    if not execute:
        out.print(f"dry run: {len(differences)} setting(s) differ; --execute applies them")
        return 1
    rules.apply(github, wanted)
    remaining = rules.diff(rules.current(github, wanted), wanted)
    if remaining:
        shown = ", ".join(difference.setting for difference in remaining[:3])
        raise GitHubError(
            f"applied, but GitHub still differs in {len(remaining)} setting(s) ({shown}); "
            "check the repository's plan supports them, or whether something else changes them"
        )
    out.print(f"applied {len(differences)} setting(s); GitHub now matches config")
    return 0


def _step_summary(bundle: Path) -> None:
    """CI shows the plan on the run's page."""
    _append_step_summary(lambda: (bundle / "plan.md").read_text(encoding="utf-8"))


def _append_step_summary(markdown: Callable[[], str]) -> None:
    """Append markdown to the CI run's step summary; nothing outside CI."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(markdown())


def history(
    root: Path, environment: str, *, as_json: bool, limit: int, settings: Settings | None = None
) -> None:
    """The environment's deploy records from the ledger, newest first (the ledger's order),
    with the record whose execute left the endpoint serving what it serves now marked live."""
    from .naming import endpoint_name
    from .release.aws import caller, connect
    from .release.ledger import ledger_of
    from .release.live import live_record, read_live
    from .release.recording import pending
    from .release.render import history_table, outcome_lines

    settings = settings or load(root)
    env = settings.environment(environment)
    aws = connect(env)
    caller(aws)  # one quick call: unreachable or no credentials is one line
    ledger = ledger_of(settings, env, aws)
    records = ledger.records()
    shown = records[:limit] if limit else records
    notes = {record.deploy_id: ledger.notes(record.deploy_id) for record in shown}
    if as_json:
        print(
            json.dumps(
                [
                    {
                        **json.loads(record.to_json()),
                        "notes": [asdict(note) for note in notes[record.deploy_id]],
                    }
                    for record in shown
                ],
                indent=2,
            )
        )
        return
    kept = pending(root / "build" / "deploys" / env.name)
    for record in kept:
        console.print(
            f"[bold yellow]{record.deploy_id} is recorded on disk only (the ledger could not be "
            "written when it ran); the next --execute uploads it"
        )
    if not records:
        console.print(f"no deploy records in {ledger.url()}")
        return
    live = read_live(aws.client("sagemaker"), endpoint_name(settings.project, env))
    title = f"Deploys of {env.name} ({ledger.url()})"
    console.print(history_table(shown, title, live_record(records, live)))
    for line in outcome_lines(shown, notes):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def drift(root: Path, environment: str, *, as_json: bool, settings: Settings | None = None) -> int:
    """Compare what runs in AWS with the environment's ledger; 0 in sync, 2 drifted."""
    from .release import guardrails
    from .release.aws import caller, connect
    from .release.drift import read_drift
    from .release.ledger import ledger_of
    from .release.render import drift_lines, drift_markdown, drift_table

    settings = settings or load(root)
    env = settings.environment(environment)
    aws = connect(env)
    who = caller(aws)
    guardrails.check_account(env, who.account, who.principal)
    with console.status("detecting drift (CloudFormation drift detection on each stack)…"):
        report = read_drift(settings, env, aws, ledger_of(settings, env, aws))
    if as_json:
        print(report.to_json())
    else:
        console.print(drift_table(report))
        for line in drift_lines(report):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    _append_step_summary(lambda: drift_markdown(report))
    if report.drifted:
        return 2
    return 1 if report.unchecked else 0  # cannot tell (drift_lines said why)


def local_aws(root: Path, environment: str, action: str) -> None:
    """Start (default), stop or report the embedded local AWS for an environment."""
    from .release import local_aws as moto

    server = moto.local_aws(load(root).environment(environment), root / "build" / "local-aws")
    if action == "stop":
        pid = moto.stop(server)
        console.print(f"stopped local AWS (pid {pid})" if pid else "local AWS was not running")
    elif action == "status":
        console.print(f"local AWS: {moto.status(server)}")
    else:
        pid = moto.start(server)
        console.print(f"local AWS running at {server.url} (pid {pid}; log {server.log_file})")


def bootstrap(root: Path, environment: str, *, execute: bool) -> None:
    """Plan (and with execute, apply) an environment's bootstrap stack: its CI roles."""
    from .release.bootstrap import bootstrap as run_bootstrap

    started = time.monotonic()
    outcome = run_bootstrap(
        load(root), environment, execute=execute, root=root, environ=os.environ, out=console
    )
    done = "applied" if outcome.executed else "planned"
    console.print(f"bootstrap: {done} in {time.monotonic() - started:.1f} s")
