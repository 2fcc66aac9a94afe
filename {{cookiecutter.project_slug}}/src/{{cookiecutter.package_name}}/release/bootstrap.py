"""`invoke bootstrap`: an environment's CI roles and execution role, planned and applied.

Run once per environment by an account admin, before the first CI deploy (the README's
"Day 0"). Like a deploy it plans a change set, shows it, and changes nothing without
--execute (which a protected environment confirms with its variable); unlike a deploy it
keeps no record, because it runs before the artifact bucket that holds the ledger exists.
Afterwards it prints the role ARNs and the `gh` commands that store them where the
workflows read them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from ..access.template import bootstrap_template
from ..config import Environment, Settings
from ..errors import ConfigError, DeployError, Refusal
from ..naming import (
    DEPLOY_ROLE_VARIABLE,
    EXECUTION_ROLE,
    bootstrap_role_arn,
    bootstrap_stack_name,
    read_role_variable,
)
from . import guardrails
from .aws import Aws, caller, connect
from .execute import execute_change_set
from .plan import (
    StackPlan,
    create_change_set,
    delete_change_sets,
    pending_change_sets,
    stack_status,
)

BUILD = Path("build") / "bootstrap"
_READY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}


@dataclass(frozen=True)
class BootstrapOutcome:
    stack_name: str
    executed: bool
    changes: int
    outputs: Mapping[str, str]  # DeployRoleArn, ExecutionRoleArn, ReadRoleArn once applied


def execution_role_arn(settings: Settings, environment: Environment) -> str | None:
    """The role a deploy's change sets run as: the bootstrap's execution role, or None
    (the caller's credentials) where the environment has no [bootstrap]."""
    if environment.bootstrap is None:
        return None
    project = settings.project.name
    return bootstrap_role_arn(project, environment.name, environment.account, EXECUTION_ROLE)


def check_bootstrapped(settings: Settings, environment: Environment, aws: Aws) -> None:
    """A bootstrapped environment deploys only once its bootstrap stack is in place: the
    execution role the change sets name must exist."""
    if environment.bootstrap is None:
        return
    name = bootstrap_stack_name(settings.project, environment)
    status = stack_status(aws.client("cloudformation"), name)
    if status not in _READY:
        state = "does not exist" if status is None else f"is {status}"
        raise Refusal(
            f"{environment.name} is not bootstrapped: stack {name} {state}; an account admin "
            f"runs `invoke bootstrap --env {environment.name} --execute` first (README: Day 0)"
        )


def bootstrap(
    settings: Settings,
    env_name: str,
    *,
    execute: bool,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
    timeout_seconds: float = 1800.0,
) -> BootstrapOutcome:
    environment = settings.environment(env_name)
    if environment.bootstrap is None:
        raise ConfigError(
            f"{env_name} has no [environments.{env_name}.bootstrap] table in "
            f"{settings.path.name}: add one (oidc_provider, session_hours) to bootstrap it"
        )
    if execute:
        guardrails.check_confirmation(settings.project, environment, environ)
    aws = connect(environment)
    who = caller(aws)
    guardrails.check_account(environment, who.account, who.principal)
    name = bootstrap_stack_name(settings.project, environment)
    cloudformation = aws.client("cloudformation")
    status = stack_status(cloudformation, name)
    if status is not None:
        guardrails.check_not_busy({name: (status, pending_change_sets(cloudformation, name))})
    folder = root / BUILD / env_name
    folder.mkdir(parents=True, exist_ok=True)
    template = folder / f"{name}.template.json"
    template.write_text(
        json.dumps(bootstrap_template(settings, environment), indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    out.print(f"bootstrap {env_name} in account {environment.account} as {who.principal}")
    with out.status("creating the change set…"):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        plan = create_change_set(cloudformation, name, template, f"bootstrap-{stamp}")
    _show(plan, template, out)
    if not execute or plan.change_set_id is None or not plan.has_changes:
        delete_change_sets(cloudformation, [plan])
        if not plan.has_changes:
            out.print(f"no changes: {name} is up to date")
        else:
            out.print(
                f"dry run: nothing changed; an account admin applies it with "
                f"`invoke bootstrap --env {env_name} --execute`"
            )
        outputs = _outputs(cloudformation, name) if not plan.has_changes else {}
        if outputs:
            _say_variables(env_name, outputs, out)
        return BootstrapOutcome(name, False, len(plan.changes), outputs)
    out.print(f"executing {name} ({len(plan.changes)} change(s))")
    failure = execute_change_set(
        cloudformation,
        plan,
        timeout_seconds=timeout_seconds,
        report=lambda line: out.print(f"  {line}"),
    )
    if failure is not None:
        then = _after_failure(plan, name, failure.reason)
        raise DeployError(
            f"bootstrap of {env_name} failed at {failure.resource}: {failure.reason}; {then}"
        )
    outputs = _outputs(cloudformation, name)
    out.print(f"bootstrapped {env_name}: {name}")
    _say_variables(env_name, outputs, out)
    return BootstrapOutcome(name, True, len(plan.changes), outputs)


def _after_failure(plan: StackPlan, name: str, reason: str) -> str:
    """What to do after a failed bootstrap: a first create leaves the stack
    ROLLBACK_COMPLETE, which only deleting clears; an account that already has GitHub's
    provider refuses a second one."""
    hint = ""
    if "already exists" in reason.lower() or "EntityAlreadyExists" in reason:
        hint = "if the account already has GitHub's OIDC provider, set oidc_provider to its ARN; "
    if plan.change_set_type == "CREATE":
        return f"{hint}then delete stack {name} (it holds nothing) and run it again"
    return f"{hint}CloudFormation rolls the update back; fix it and run it again"


def _show(plan: StackPlan, template: Path, out: Console) -> None:
    verb = "create" if plan.change_set_type == "CREATE" else "update"
    out.print(f"plan: {verb} {plan.stack_name} ({template})")
    for change in plan.changes:
        replacing = " (replacement)" if change.replacement == "True" else ""
        out.print(f"  {change.action:<7} {change.logical_id} {change.resource_type}{replacing}")


def _outputs(cloudformation: Any, name: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def variables(env_name: str, outputs: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """(variable, GitHub environment or "" for the repository) -> role ARN, as the workflows
    read them: the deploy role in the environment's AWS_DEPLOY_ROLE_ARN, the read role in the
    repository's AWS_READ_ROLE_ARN_<ENV>."""
    found: dict[tuple[str, str], str] = {}
    if "DeployRoleArn" in outputs:
        found[(DEPLOY_ROLE_VARIABLE, env_name)] = outputs["DeployRoleArn"]
    if "ReadRoleArn" in outputs:
        found[(read_role_variable(env_name), "")] = outputs["ReadRoleArn"]
    return found


def _say_variables(env_name: str, outputs: Mapping[str, str], out: Console) -> None:
    out.print(
        "store the roles where the workflows read them (or `invoke governance --execute`, "
        "with a token that administers the repository):"
    )
    for (variable, github_env), arn in variables(env_name, outputs).items():
        where = f" --env {github_env}" if github_env else ""
        out.print(
            f"  gh variable set {variable}{where} --body {arn}", markup=False, highlight=False
        )
