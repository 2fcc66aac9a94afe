"""`invoke destroy`: tear down what an environment costs while idle, keep what it knows.

An idle ml.m5.large endpoint costs about $84 a month; a non-prod environment nobody uses
this week need not. Destroy deletes the monitoring and serving stacks (the endpoint, its
config and model, alarms, autoscaling, the Model Monitor schedule) and keeps the artifacts
stack: the bucket with the models and the ledger, so history, promotion checks and the
next deploy's rollback targets survive, and the next deploy recreates what was removed.

The environment's policy decides (policy.destroy_allowed; never prod by default). A dry run
is the default and shows what would go; an execute always needs the confirmation variable,
whatever policy.confirmation_required says (deleting an endpoint is never casual), and
writes a `destroy` record to the ledger (claimed in its sequence like any execute), whether
it succeeded or failed. CloudFormation deletes a stack's resources in reverse dependency
order and reports DELETE_FAILED with a reason when one cannot be deleted
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-console-delete-stack.html);
the monitoring stack goes first, because its schedule watches the serving stack's endpoint.
A stack deleted is found afterwards only by its id (DescribeStacks by name says it does not
exist), so the wait follows the id.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from ..config import Settings
from ..errors import DeployError, ProjectError, Refusal
from ..naming import ARTIFACTS, STACK_PARTS, endpoint_name, stack_name
from . import guardrails
from .aws import one_line
from .bootstrap import execution_role_arn
from .cost import estimate
from .git import git
from .ledger import DESTROY, DeployRecord, Failure, Outcome, new_deploy_id, utc_now
from .live import read_live
from .plan import pending_change_sets, stack_status
from .preflight import Invocation, Run, preflight
from .recording import keep

# In progress, yet fine to destroy: a delete still running (wait for it), a stack holding
# only change sets (its own, or none).
_DELETABLE_IN_PROGRESS = {"DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS"}
DESTROYED = "destroyed.json"  # in the destroy's bundle: each stack deleted and its resources
_POLL_SECONDS = 5.0


class DestroyResult(StrEnum):
    NOTHING = "nothing to destroy"
    DRY_RUN = "dry run"
    DESTROYED = "destroyed"


@dataclass(frozen=True)
class DestroyRequest:
    environment: str
    execute: bool = False
    timeout_seconds: float = 3600.0


@dataclass(frozen=True)
class DestroyOutcome:
    result: DestroyResult
    stacks: tuple[str, ...]  # the stacks deleted (or, for a dry run, that would be)
    record: DeployRecord | None = None


def destroy(
    settings: Settings,
    request: DestroyRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> DestroyOutcome:
    """Delete an environment's serving and monitoring stacks (dry run unless execute); a
    Refusal (one line, nothing changed) where policy forbids it or it is not confirmed."""
    environment = settings.environment(request.environment)
    if not environment.policy.destroy_allowed:
        raise Refusal(
            f"{environment.name} may not be destroyed: its policy has destroy_allowed = false "
            f"([environments.{environment.name}.policy] in config/environments.toml)"
        )
    if request.execute:
        guardrails.check_confirmation(settings.project, environment, environ, what="destroy")
    run = preflight(
        settings,
        request.environment,
        Invocation(root, environ, out),
        execute=request.execute,
        from_source=False,
        reviewed=False,
        deleting=True,
    )
    cloudformation = run.aws.client("cloudformation")
    # Every part but the bucket, monitoring before serving, whatever the config says now:
    # an environment that dropped [monitoring] (as serving serverless requires) may still
    # have its stack.
    parts = [part for part in reversed(STACK_PARTS) if part != ARTIFACTS]
    names = [stack_name(settings.project, environment, part) for part in parts]
    found = {name: _resources(cloudformation, name) for name in names}
    present = {name: resources for name, resources in found.items() if resources is not None}
    kept = stack_name(settings.project, environment, ARTIFACTS)
    if not present:
        out.print(
            f"nothing to destroy: {environment.name} has no serving or monitoring stack "
            f"({kept}, with the models and the ledger, is always kept)"
        )
        return DestroyOutcome(DestroyResult.NOTHING, ())
    for name in present:
        _check_deletable(cloudformation, name)
    for name, resources in present.items():
        out.print(f"delete {name}: {', '.join(resources) or 'no resources'}")
    out.print(f"keep {kept}: the bucket with the models and the ledger")
    out.print(f"saves the endpoint's cost: {estimate(environment).describe()}")
    stacks = tuple(present)
    if not request.execute:
        variable = settings.project.deploy_confirm_variable
        out.print(
            f"dry run: nothing deleted; {variable}={guardrails.CONFIRMATION} invoke destroy "
            f"--env {environment.name} --execute deletes them"
        )
        return DestroyOutcome(DestroyResult.DRY_RUN, stacks)
    record = _execute(run, request, present)
    if record.failure is not None:
        failure = record.failure
        raise DeployError(
            f"destroy {record.deploy_id} failed at {failure.stack} {failure.resource}: "
            f"{failure.reason} (recorded; retry invoke destroy --env {environment.name} "
            "--execute once the cause is fixed)"
        )
    out.print(
        f"destroyed {', '.join(stacks)} of {environment.name} in {record.duration_seconds:.1f} "
        f"s; the next deploy recreates them"
    )
    return DestroyOutcome(DestroyResult.DESTROYED, stacks, record)


def _check_deletable(cloudformation: Any, name: str) -> None:
    """Any settled or failed stack can be deleted (DELETE_FAILED again, ROLLBACK_COMPLETE,
    UPDATE_ROLLBACK_FAILED: "you can delete a stack in any of these states"); one another
    operation is changing, or whose change sets another deploy is about to execute, not."""
    status = stack_status(cloudformation, name) or ""
    if status == "REVIEW_IN_PROGRESS" and pending_change_sets(cloudformation, name):
        raise Refusal(
            f"{name} holds another deploy's change sets; wait for it to finish, then destroy"
        )
    if status.endswith("_IN_PROGRESS") and status not in _DELETABLE_IN_PROGRESS:
        raise Refusal(
            f"{name} is {status}: another operation is changing it; wait until it settles, "
            "then destroy"
        )


def _resources(cloudformation: Any, name: str) -> list[str] | None:
    """The stack's resources as 'LogicalId (Type)'; None when the stack does not exist."""
    try:
        found = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return [f"{r['LogicalResourceId']} ({r['ResourceType']})" for r in found]


def _execute(run: Run, request: DestroyRequest, present: Mapping[str, list[str]]) -> DeployRecord:
    """Delete the stacks in order, then record how it went (on disk, then the ledger)."""
    commit = _commit(run.root)
    deploy_id = new_deploy_id(commit)
    folder = run.deploys / deploy_id
    bundle = folder / "bundle"
    bundle.mkdir(parents=True)
    destroyed = {"environment": run.environment.name, "stacks": dict(present)}
    (bundle / DESTROYED).write_text(json.dumps(destroyed, indent=2) + "\n", encoding="utf-8")
    failure: Failure | None = None
    deleted: list[str] = []
    sequence = 0
    try:
        sequence = run.ledger.claim(deploy_id) if run.ledger.exists() else 0
        cloudformation = run.aws.client("cloudformation")
        role = execution_role_arn(run.settings, run.environment)
        for name in present:
            run.out.print(f"deleting {name}")
            failure = _delete(cloudformation, name, request.timeout_seconds, run.out, role)
            if failure is not None:
                break
            deleted.append(name)
    except KeyboardInterrupt:
        failure = Failure(stack="", resource="", reason="interrupted")
    except (ProjectError, ClientError, BotoCoreError) as error:
        if sequence == 0 and not deleted:
            shutil.rmtree(folder, ignore_errors=True)  # nothing changed: nothing to record
            raise
        failure = Failure(stack="", resource="", reason=one_line(error))
    record = DeployRecord(
        deploy_id=deploy_id,
        kind=DESTROY,
        environment=run.environment.name,
        project=run.settings.project.name,
        commit=commit,
        ref=None,
        actor=run.actor,
        principal=run.principal,
        started_at=run.started[1],
        finished_at=utc_now(),
        duration_seconds=round(time.monotonic() - run.started[0], 1),
        outcome=Outcome.FAILED if failure else Outcome.SUCCEEDED,
        model_sha256="",
        templates={},
        change_sets={},
        failure=failure,
        live=_live(run),
        sequence=sequence,
        destroyed=tuple(deleted),
    )
    keep(run.ledger, record, folder, run.out)
    return record


def _delete(
    cloudformation: Any, name: str, timeout_seconds: float, out: Console, role: str | None
) -> Failure | None:
    """DeleteStack (as the execution role where the environment is bootstrapped) and wait
    for DELETE_COMPLETE (by the stack's id); a Failure with CloudFormation's reason for
    DELETE_FAILED or a timeout."""
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    stack_id = stack["StackId"]
    if stack["StackStatus"] != "DELETE_IN_PROGRESS":  # an earlier destroy's delete: wait for it
        cloudformation.delete_stack(StackName=stack_id, **({"RoleARN": role} if role else {}))
    deadline = time.monotonic() + timeout_seconds
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        status = str(stack["StackStatus"])
        if status == "DELETE_COMPLETE":
            out.print(f"  {name} DELETE_COMPLETE")
            return None
        if status == "DELETE_FAILED":
            resource, reason = _failed_resource(cloudformation, stack_id)
            return Failure(
                stack=name,
                resource=resource,
                reason=reason or str(stack.get("StackStatusReason", "DELETE_FAILED")),
            )
        if time.monotonic() > deadline:
            return Failure(
                stack=name, resource="", reason=f"still {status} after {timeout_seconds:.0f} s"
            )
        time.sleep(_POLL_SECONDS)


def _failed_resource(cloudformation: Any, stack_id: str) -> tuple[str, str]:
    """The newest resource (not the stack) whose delete failed, and CloudFormation's reason."""
    events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
    for event in events:  # newest first
        if event.get("ResourceStatus") == "DELETE_FAILED" and event.get("ResourceType") != (
            "AWS::CloudFormation::Stack"
        ):
            return str(event["LogicalResourceId"]), str(event.get("ResourceStatusReason", ""))
    return "", ""


def _live(run: Run) -> dict[str, str]:
    """What the endpoint serves after the destroy: {} once it is gone."""
    try:
        state = read_live(
            run.aws.client("sagemaker"), endpoint_name(run.settings.project, run.environment)
        )
    except (ProjectError, ClientError, BotoCoreError):
        return {}
    return state.as_record() if state is not None else {}


def _commit(root: Path) -> str:
    """The checkout's commit, for the record's id; zeros outside a git repository."""
    try:
        return git(root, "rev-parse", "--verify", "HEAD^{commit}")
    except Refusal:
        return "0" * 40
