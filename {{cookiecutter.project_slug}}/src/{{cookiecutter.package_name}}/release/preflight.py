"""Preflight: every guardrail before anything is written, and the run's adapters, made once.

A deploy, a rollback and a destroy all start here. Preflight reads only;
it raises a Refusal (or ConfigError/AwsError) in one line, cheapest check first. What it
returns, a Run, carries the adapters the rest of the pipeline uses (one AWS session, one
ledger, one GitHub client), so nothing downstream reconnects or rebuilds them.
"""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ..config import Environment, Settings
from ..digests import BUILD_TOOLS, installed_versions, locked_versions
from ..errors import AwsError, Refusal
from ..naming import stack_names
from . import guardrails
from .aws import Aws, caller, connect, local_user_of
from .bootstrap import check_bootstrapped
from .drift import read_drift
from .git import GitState, git, read_state
from .github import GitHub, check_commit_ci
from .github import connect as connect_github
from .github_deployment import run_url
from .kept_plans import KeptPlans
from .ledger import DeployRecord, Ledger, ledger_of, utc_now
from .plan import pending_change_sets, stack_status
from .recording import pending
from .render import drift_lines, drift_table


@dataclass(frozen=True)
class Invocation:
    """Where a command runs: the project's root (the folder of the tasks.py invoke loaded),
    the environment variables and the console."""

    root: Path
    environ: Mapping[str, str]
    out: Console


@dataclass(frozen=True)
class Run:
    """One deploy or rollback of one environment: checked, connected, and timed."""

    settings: Settings
    environment: Environment
    invocation: Invocation
    aws: Aws
    ledger: Ledger
    principal: str
    actor: str
    github: GitHub | None  # None without GITHUB_TOKEN: no CI check (unless required)
    git: GitState | None  # None for a rollback, which deploys no working tree
    started: tuple[float, str]  # monotonic seconds and UTC time at preflight
    # The source environment's successful deploy of this commit (policy.promotion_from),
    # whose model and lock a deploy here must equal; None without promotion (or a rollback).
    promoted: DeployRecord | None = None

    @property
    def out(self) -> Console:
        return self.invocation.out

    @property
    def root(self) -> Path:
        return self.invocation.root

    @property
    def log_url(self) -> str:
        """The CI run's page; "" on a laptop."""
        return run_url(self.invocation.environ)

    @property
    def deploys(self) -> Path:
        """build/deploys/<env>/: one folder per deploy id (bundle, sources, record.json)."""
        return self.root / "build" / "deploys" / self.environment.name

    @property
    def plans(self) -> KeptPlans:
        """The environment's kept plans and their approvals (this checkout, the ledger)."""
        return KeptPlans(self.deploys, self.ledger)


def check_drift(
    settings: Settings,
    environment: Environment,
    aws: Aws,
    ledger: Ledger,
    out: Console,
    *,
    deploys: Path,
    deploying: bool,
    rollback: bool,
) -> None:
    """Report drift from the ledger (drift.py) before a plan is made; a deploy's execute
    refuses, where policy.refuse_drift, on drift it would leave in place, and on drift it
    cannot rule out. A rollback, an incident's tool, is never refused, and waits at most a
    minute for CloudFormation's detection. Records kept on disk count (recording.py)."""
    wait = 60.0 if rollback else 600.0
    try:
        report = read_drift(
            settings,
            environment,
            aws,
            ledger,
            pending=pending(deploys),
            wait_seconds=wait,
        )
    except AwsError as error:
        guardrails.check_drift(environment, f"it could not be checked: {error}", execute=deploying)
        out.print(f"[bold yellow]warning: drift not checked: {error}")
        return
    if report.unchecked:
        why = f"CloudFormation could not check every resource of {', '.join(report.unchecked)}"
        guardrails.check_drift(environment, why, execute=deploying)
        out.print(f"[bold yellow]warning: drift not fully checked: {why}")
    if not report.drifted:
        return
    out.print(f"[bold yellow]{environment.name} has drifted from its ledger:")
    out.print(drift_table(report))
    for line in drift_lines(report):
        out.print(line, markup=False, highlight=False)
    if report.blocking:
        guardrails.check_drift(environment, report.summary(), execute=deploying)
    else:
        out.print("what drifted is missing, and this deploy makes it again")


def actor(root: Path) -> str:
    """Who deploys: the GitHub actor in CI, else the git author, else the OS user."""
    if os.environ.get("GITHUB_ACTOR"):
        return f"github:{os.environ['GITHUB_ACTOR']}"
    try:
        return git(root, "config", "user.email") or getpass.getuser()
    except Refusal:
        return getpass.getuser()


def preflight(
    settings: Settings,
    environment_name: str,
    invocation: Invocation,
    *,
    execute: bool,
    from_source: bool = True,
    plan: str | None = None,
    reviewed: bool = True,
    deleting: bool = False,
) -> Run:
    """Every guardrail, cheapest first; reads only.

    from_source=False (a rollback redeploys an archived bundle) skips the rules about the
    working tree: its cleanliness, its ref, its CI status and the promotion order of its
    commit; an execute names its reviewed plan (plan: its deploy id) where policy asks (a
    rollback's, where rollbacks need approvals). reviewed=False (a destroy, which plans no
    change set and is governed by policy.destroy_allowed) skips that rule; deleting=True (a
    destroy) leaves the stacks' statuses to it.
    """
    started = (time.monotonic(), utc_now())
    environment = settings.environment(environment_name)
    root, environ = invocation.root, invocation.environ
    if execute:
        guardrails.check_confirmation(settings.project, environment, environ)
    if reviewed:
        guardrails.check_reviewed_plan(environment, plan, execute=execute, rollback=not from_source)
    state = None
    if from_source:
        state = read_state(root)
        guardrails.check_clean(state)
        guardrails.check_ref(environment, state)
        guardrails.check_installed_as_locked(locked_versions(root), installed_versions(BUILD_TOOLS))
    github = connect_github(settings, environ)
    if state is not None:
        check_commit_ci(settings, environment, github, state.commit)
    aws = connect(environment, local_user_of(environ))
    who = caller(aws)
    guardrails.check_account(environment, who.account, who.principal)
    check_bootstrapped(settings, environment, aws)
    source = environment.policy.promotion_from
    promoted = None
    if state is not None and source is not None:
        promoted = guardrails.check_promotion(
            environment, state.commit, ledger_of(settings, settings.environment(source)).records()
        )
    cloudformation = aws.client("cloudformation")
    statuses = {}
    for name in stack_names(settings.project, environment):
        status = stack_status(cloudformation, name)
        if status is not None:
            statuses[name] = (status, pending_change_sets(cloudformation, name))
    if not deleting:  # a destroy deletes failed stacks too, and judges them itself
        guardrails.check_not_busy(statuses)
    ledger = ledger_of(settings, environment, aws)
    if statuses and reviewed:  # a deploy or a rollback of stacks that exist
        check_drift(
            settings,
            environment,
            aws,
            ledger,
            invocation.out,
            deploys=root / "build" / "deploys" / environment.name,
            deploying=execute and from_source,
            rollback=not from_source,
        )
    return Run(
        settings=settings,
        environment=environment,
        invocation=invocation,
        aws=aws,
        ledger=ledger,
        principal=who.principal,
        actor=actor(root),
        github=github,
        git=state,
        started=started,
        promoted=promoted,
    )
