"""The one pipeline every change goes through: a source becomes a plan; a plan is applied.

Deploy (deploy.py: the working tree) and rollback (rollback.py: an archived bundle, or the
live bundle re-pointed at a registry model) only build a Source and choose a policy; this
module does the rest for both, the same way:

- `run_pipeline` builds the source into build/deploys/<env>/<deploy-id>/, plans it (one
  change set per stack, the bundle written and shown), checks it against the reviewed plan
  it must match (--plan, reviewed.py) and counts that plan's approvals (the two-person
  rule, approvals.py), then stops (a dry run keeps its plan for a later approve and
  --plan; no changes) or applies it;
- `apply` executes the change sets in order, uploads the model after the artifacts stack,
  verifies the endpoint and always ends in a record, whatever fails after the first change:
  a stack, verify, the cleanup of change sets, expired credentials, an interrupt. The record
  is kept on disk first and then in the ledger (recording.py), says what the endpoint serves
  now (live.py), and the GitHub deployment is finished; then a failure is raised as one line.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import AwsError, DeployError, ProjectError, Refusal
from ..naming import (
    ARTIFACTS,
    MONITORING,
    SERVING,
    VARIANT_NAME,
    boundary_policy_name,
    endpoint_name,
    stack_name,
)
from . import guardrails
from .approval_sources import check_approvals
from .approvals import Approval, Rule
from .artifacts import require_artifact, upload_model
from .aws import one_line
from .bootstrap import execution_role_arn
from .bundle import write_bundle
from .cost import estimate
from .endpoint_state import live_endpoint, planned_endpoint
from .execute import execute_change_set
from .github_deployment import Announcement, Deployment
from .ledger import DeployRecord, Failure, Outcome, utc_now
from .live import LiveState, read_live
from .model_review import ModelReview, review_model
from .outcomes import read_rollout_metrics
from .plan import Plan, StackPlan, create_change_set, delete_change_sets, stack_status
from .preflight import Run
from .recording import keep, upload_pending
from .registry import Served, register_after_verify
from .render import NextSteps, plan_markdown, plan_renderable
from .reviewed import FACTS, PlanFacts, differences, plan_digest
from .verify import Verified, verify_endpoint

if TYPE_CHECKING:
    from ..model.packaged import ModelFiles

_AWS_ERRORS = (ClientError, BotoCoreError, Boto3Error, AwsError)


class Result(StrEnum):
    DRY_RUN = "dry run"
    NO_CHANGES = "no changes"
    SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class DeployRequest:
    environment: str
    execute: bool = False
    upload_artifacts: bool = True
    timeout_seconds: float = 3600.0
    plan: str | None = None  # the reviewed dry run (its deploy id) this must match (--plan)
    command: str = ""  # what plans this again, for the execute line ("invoke deploy --env E")
    # --model-package: serve this registry version (a number, "latest-approved" or an ARN)
    model_package: str | None = None
    # --replay-captured N: also replay the newest N captured requests through both models
    replay_captured: int = 0


@dataclass(frozen=True)
class Source:
    """What a change applies: templates in deploy order and the model artifact they name."""

    templates: tuple[tuple[str, Path], ...]  # (stack name, template file)
    model_sha256: str
    model: ModelFiles | None  # None: the artifact must already be in the bucket
    commit: str
    ref: str | None
    kind: str = "deploy"
    rollback: Mapping[str, str] = field(default_factory=dict)  # "from" and "to" deploy ids
    lock_sha256: str = ""  # the uv.lock it was built with (digests.lock_sha256)
    # The model's hold-out metrics (model/packaged.Metrics as a dict, or what a package's
    # statistics give); {} where unknown.
    metrics: Mapping[str, Any] = field(default_factory=dict)
    # Where the model came from (sources.py): kind "build", "artifact" or "package", and the
    # uri, package and image of one trained elsewhere; {} where unknown.
    model_source: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """A source planned: its change sets created, its bundle written."""

    source: Source
    plan: Plan
    folder: Path  # build/deploys/<env>/<deploy-id>/
    templates: Mapping[str, str]  # stack name -> sha256, from the bundle's manifest
    digest: str  # the plan's digest (reviewed.py), from the bundle's manifest
    reviewed: str | None = None  # the reviewed dry run it matched (--plan), for the record
    approvals: tuple[Approval, ...] = ()  # the approvals of that plan that were counted
    review: ModelReview | None = None  # the model's gate and behaviour diff (model_review.py)

    @property
    def bundle(self) -> Path:
        return self.folder / "bundle"


@dataclass(frozen=True)
class DeployOutcome:
    result: Result
    deploy_id: str
    bundle: Path
    plan: Plan
    record: DeployRecord | None = None


def run_pipeline(
    run: Run, request: DeployRequest, deploy_id: str, build: Callable[[Path], Source]
) -> DeployOutcome:
    """Build, plan, then stop or apply. A deploy promoted from another environment must have
    built the bytes that environment ran (guardrails.check_promoted_bytes). Before a plan
    exists, a failure leaves no folder."""
    if request.execute and run.ledger.exists():
        upload_pending(run.ledger, run.deploys, run.out)
    folder = run.deploys / deploy_id
    try:
        planned = plan_source(run, request, _built(run, build, folder), folder)
    except BaseException:
        if not (folder / "bundle" / "manifest.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise
    executing = False
    try:
        if request.plan is not None:
            planned = _reviewed(run, request, request.plan, planned)
        # A dry run keeps its plan even without changes: a commit that changes nothing
        # deployed still needs an execute (with --plan where policy asks) to be recorded
        # there, and a rollback's plan is what its approvers approve.
        keeps = not request.execute
        if not planned.plan.has_changes and not _records_unchanged(run, request, planned):
            run.out.print(
                f"no changes: {run.environment.name} already runs these templates and model"
            )
            if keeps:
                keep_plan(run, request, planned)
            return DeployOutcome(Result.NO_CHANGES, deploy_id, planned.bundle, planned.plan)
        if not request.execute:
            run.out.print("dry run: nothing changed")
            if keeps:
                keep_plan(run, request, planned)
            return DeployOutcome(Result.DRY_RUN, deploy_id, planned.bundle, planned.plan)
        deployment = _announce(run, planned)  # before any change: a refusal changes nothing
        executing = True
        record = apply(run, request, planned, deployment)
    except ProjectError:
        if not executing:  # a plan refused (or failing) before it ran is not kept
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if not executing:
            delete_change_sets(run.aws.client("cloudformation"), planned.plan.stacks)
    result = Result.SUCCEEDED if planned.plan.has_changes else Result.NO_CHANGES
    return DeployOutcome(result, deploy_id, planned.bundle, planned.plan, record)


def _built(run: Run, build: Callable[[Path], Source], folder: Path) -> Source:
    """The source built into folder; a deploy promoted from another environment must have
    built the bytes that environment ran (guardrails.check_promoted_bytes)."""
    source = build(folder)
    if run.promoted is not None and source.kind == "deploy":
        guardrails.check_promoted_bytes(
            run.environment,
            run.promoted,
            source.model_sha256,
            source.lock_sha256,
            source.model_source,
        )
    return source


def _reviewed(run: Run, request: DeployRequest, plan: str, planned: Planned) -> Planned:
    """The plan made now is the reviewed one (its digest), and an execute of it has the
    approvals the environment's policy asks for."""
    check_reviewed(run, plan, planned)
    planned = replace(planned, reviewed=plan)
    if request.execute:
        source = (planned.source.kind, planned.source.commit)
        counted = check_approvals(run, plan, planned.digest, source)
        planned = replace(planned, approvals=counted)
    return planned


def plan_source(run: Run, request: DeployRequest, source: Source, folder: Path) -> Planned:
    """Create one change set per stack, write the bundle and show the plan; reads AWS only
    (a change set changes nothing until executed, and is deleted if planning fails)."""
    if source.model is None or (request.execute and not request.upload_artifacts):
        require_artifact(
            run.ledger,
            source.model_sha256,
            "deploy from source with --upload-artifacts to upload it",
        )
    notes = _check_endpoint_update(run, source) + _left_behind(run, source)
    review = review_model(run, source, folder, request.replay_captured)
    if run.environment.bootstrap is not None:
        guardrails.check_roles_bounded(
            run.environment.name,
            source.kind,
            boundary_policy_name(run.settings.project.name, run.environment.name),
            {name: json.loads(path.read_text(encoding="utf-8")) for name, path in source.templates},
        )
    cloudformation = run.aws.client("cloudformation")
    deploy_id = folder.name
    planned: list[StackPlan] = []
    role = execution_role_arn(run.settings, run.environment)
    try:
        with run.out.status("creating change sets…"):
            for name, template in source.templates:
                planned.append(
                    create_change_set(cloudformation, name, template, f"deploy-{deploy_id}", role)
                )
    except BaseException:
        delete_change_sets(cloudformation, planned)
        raise
    plan = Plan(
        environment=run.environment.name,
        deploy_id=deploy_id,
        model_sha256=source.model_sha256,
        stacks=tuple(planned),
    )
    cost = estimate(run.environment).describe()
    steps = None if request.execute else _next_steps(run, request, source)
    manifest = write_bundle(
        folder / "bundle",
        plan=plan,
        markdown=lambda digest: plan_markdown(
            plan, cost, digest, steps, review=review, notes=notes
        ),
        templates=source.templates,
        revision=(source.commit, source.ref),
        project=run.settings.project.name,
        lock_sha256=source.lock_sha256,
    )
    run.out.print(plan_renderable(plan, cost, review, notes))
    run.out.print(f"bundle: {folder / 'bundle'}")
    return Planned(
        source=source,
        plan=plan,
        folder=folder,
        templates=manifest.templates,
        digest=manifest.plan_digest,
        review=review,
    )


def _next_steps(run: Run, request: DeployRequest, source: Source) -> NextSteps:
    """How this dry run's plan is approved and executed (plan.md and the terminal)."""
    rollback = source.kind == "rollback"
    rule = Rule.of(run.environment.policy, rollback=rollback)
    return NextSteps(
        command=request.command or f"invoke {source.kind} --env {run.environment.name}",
        workflow="Rollback" if rollback else "Deploy",
        approvals=rule.describe() if rule.required else "",
    )


def keep_plan(run: Run, request: DeployRequest, planned: Planned) -> None:
    """Archive a dry run's bundle in the ledger (plans/<deploy-id>/), so approvals and an
    execute of this exact plan can find it from any machine; before the first deploy there
    is no ledger bucket yet, and the plan stays in build/ for an execute from this checkout."""
    deploy_id, env = planned.plan.deploy_id, run.environment.name
    where = run.plans.keep(deploy_id, planned.bundle)
    run.out.print(f"plan {deploy_id}, digest {planned.digest[:12]}…, kept in {where}")
    for line in _next_steps(run, request, planned.source).lines(env, deploy_id):
        run.out.print(line.replace("`", ""))


def check_reviewed(run: Run, deploy_id: str, planned: Planned) -> None:
    """The plan made now has the reviewed plan's digest, or a Refusal says what changed;
    a plan older than the environment's plan_expiry_hours is refused first."""
    guardrails.check_plan_fresh(run.environment, deploy_id, datetime.now(UTC))
    reviewed = run.plans.facts(deploy_id)
    now = PlanFacts.from_json((planned.bundle / FACTS).read_text(encoding="utf-8"))
    changed = differences(reviewed, now)
    if not changed and plan_digest(reviewed) != planned.digest:
        changed = ["its facts differ from the plan made now"]
    if changed:
        raise Refusal(
            f"plan {deploy_id} no longer holds: {'; '.join(changed)}; "
            "run a new dry run and review that"
        )
    run.out.print(
        f"plan {deploy_id} holds: the plan made now has its digest {planned.digest[:12]}…"
    )


def _records_unchanged(run: Run, request: DeployRequest, planned: Planned) -> bool:
    """A new commit that changes nothing deployed (docs, tests) still gets a record once
    executed, after the endpoint is verified: promotion and tagging ask "did this commit run
    there?", and it does."""
    if not request.execute or planned.source.kind != "deploy":
        return False
    return not any(r.commit == planned.source.commit and r.succeeded for r in run.ledger.records())


def _left_behind(run: Run, source: Source) -> list[str]:
    """A plan's note on a monitoring stack that still runs although this plan has none (its
    [monitoring] table was removed, as serving serverless requires): a deploy changes the
    stacks it plans and deletes none."""
    name = stack_name(run.settings.project, run.environment, MONITORING)
    if name in dict(source.templates):
        return []
    if stack_status(run.aws.client("cloudformation"), name) is None:
        return []
    return [
        f"{name} still runs, but this plan has no monitoring stack and a deploy deletes none: "
        f"invoke destroy --env {run.environment.name} deletes it with the serving stack, or "
        f"delete it alone with aws cloudformation delete-stack --stack-name {name}"
    ]


def _check_endpoint_update(run: Run, source: Source) -> list[str]:
    """Refuse, before any change set, an update SageMaker would fail (endpoint_state.py);
    the plan's notes on what the update cannot undo."""
    project = run.settings.project
    serving = dict(source.templates).get(stack_name(project, run.environment, SERVING))
    if serving is None:
        return []
    endpoint = endpoint_name(project, run.environment)
    live = live_endpoint(run.aws, endpoint)
    if live is None:
        return []
    planned = planned_endpoint(serving)
    note = guardrails.check_serving_switch(
        run.environment, endpoint, live.instance_types, planned.instance_types, planned.retains
    )
    guardrails.check_instance_type(
        run.environment.name,
        endpoint,
        live.instance_types,
        live.autoscaled,
        planned.instance_types,
    )
    return [note] if note else []


def _announce(run: Run, planned: Planned) -> Deployment | None:
    if run.github is None:
        return None
    source, environment = planned.source, run.environment
    deploy_id = planned.plan.deploy_id
    deployment = Deployment.start(
        run.github,
        Announcement(
            environment=environment.name,
            production=environment.name == run.settings.release.environment,
            kind=source.kind,
            commit=source.commit,
            deploy_id=deploy_id,
            ledger_url=run.ledger.url(deploy_id),
            approvers=tuple(approval.who for approval in planned.approvals),
        ),
        run.log_url,
    )
    run.out.print(f"GitHub deployment {deployment.deployment_id}: in_progress")
    return deployment


@dataclass
class _Progress:
    """How far an execute got; filled as it goes, read once to write the record."""

    remaining: list[StackPlan]  # change sets not executed (or deleted) yet
    done: dict[str, str] = field(default_factory=dict)  # stack -> change set executed
    sequence: int = 0  # the ledger's place for this execute (0: not claimed yet)
    failure: Failure | None = None
    verified: Verified | None = None
    interrupted: bool = False
    cleanup: str = ""  # why deleting the leftover change sets failed
    where: str = ""  # where the record was kept


def apply(
    run: Run, request: DeployRequest, planned: Planned, deployment: Deployment | None
) -> DeployRecord:
    """Execute, verify and record; raises DeployError (one line) after recording a failure."""
    progress = _Progress(remaining=list(planned.plan.stacks))
    try:
        if run.ledger.exists():  # not yet on a first deploy: claimed after the artifacts stack
            progress.sequence = run.ledger.claim(planned.plan.deploy_id)
        _apply_stacks(run, request, planned, progress)
        if progress.failure is None:
            progress.verified = _verify(run, request, planned, progress)
    except KeyboardInterrupt:
        progress.interrupted = True
        progress.failure = Failure(stack="", resource="", reason="interrupted")
    except (ProjectError, *_AWS_ERRORS) as error:
        progress.failure = Failure(stack="", resource="", reason=one_line(error))
    try:
        delete_change_sets(run.aws.client("cloudformation"), progress.remaining)
    except (*_AWS_ERRORS, KeyboardInterrupt) as error:
        progress.cleanup = one_line(error) or type(error).__name__
    record = _record(run, planned, progress)
    progress.where = keep(run.ledger, record, planned.folder, run.out)
    if deployment is not None:
        deployment.finish(record, run.out)
    _report(run, planned, record, progress)
    return record


def _apply_stacks(run: Run, request: DeployRequest, planned: Planned, progress: _Progress) -> None:
    """Execute the change sets in order (popping progress.remaining); the model is uploaded
    right after the artifacts stack. Stops at the first failure (progress.failure)."""
    cloudformation = run.aws.client("cloudformation")
    artifacts_stack = stack_name(run.settings.project, run.environment, ARTIFACTS)
    model = planned.source.model
    while progress.remaining:
        stack = progress.remaining[0]
        if stack.has_changes:
            run.out.print(f"executing {stack.stack_name} ({len(stack.changes)} change(s))")
            failure = execute_change_set(
                cloudformation,
                stack,
                timeout_seconds=request.timeout_seconds,
                report=lambda line: run.out.print(f"  {line}"),
            )
            if failure is not None:
                # Real CloudFormation marks it EXECUTE_FAILED; moto leaves it AVAILABLE,
                # where it would read as another deploy's pending plan (deleted at cleanup).
                progress.failure = failure
                return
            if stack.change_set_id:
                progress.done[stack.stack_name] = stack.change_set_id
        else:
            delete_change_sets(cloudformation, [stack])
        progress.remaining.pop(0)
        if stack.stack_name == artifacts_stack and not run.aws.is_local:
            _wait_for_new_alias(stack, run)
        if stack.stack_name == artifacts_stack:
            if not progress.sequence:  # a first deploy: the ledger's bucket exists from here
                upload_pending(run.ledger, planned.folder.parent, run.out)
                progress.sequence = run.ledger.claim(planned.plan.deploy_id)
            if model is not None and request.upload_artifacts:
                upload_model(run.ledger, model, run.out)


# "It might take up to five minutes for tag and alias changes to affect KMS key
# authorization" (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html):
# the serving roles use the environment's key by its alias (infra/encryption.py), so after
# the artifacts stack creates the alias the next stacks wait that long before they need it.
# The local AWS authorizes nothing by alias, so it has nothing to wait for.
ALIAS_PROPAGATION_SECONDS = 300.0


def _wait_for_new_alias(stack: StackPlan, run: Run) -> None:
    if not any(
        change.action == "Add" and change.resource_type == "AWS::KMS::Alias"
        for change in stack.changes
    ):
        return
    run.out.print(
        f"waiting {ALIAS_PROPAGATION_SECONDS / 60:.0f} min: KMS takes up to five minutes before "
        "a new alias authorizes the roles that use its key (once per new key)"
    )
    with run.out.status("waiting for the new KMS alias to take effect…"):
        time.sleep(ALIAS_PROPAGATION_SECONDS)


def _verify(
    run: Run, request: DeployRequest, planned: Planned, progress: _Progress
) -> Verified | None:
    """The endpoint serves what this deploy's serving template says (verify.py)."""
    serving_stack = stack_name(run.settings.project, run.environment, SERVING)
    with run.out.status("verifying the endpoint…"):
        checked = verify_endpoint(
            run.aws,
            stack_name=serving_stack,
            template_path=dict(planned.source.templates)[serving_stack],
            model_sha256=planned.source.model_sha256,
            timeout_seconds=request.timeout_seconds,
        )
    if isinstance(checked, Failure):
        progress.failure = checked
        return None
    run.out.print(
        f"verified: {checked.endpoint} InService on {checked.endpoint_config}, model "
        f"{planned.source.model_sha256[:12]}…; smoke: {checked.smoke}"
    )
    return checked


def _left_live(run: Run, planned: Planned, progress: _Progress) -> dict[str, str]:
    """What the endpoint serves now: verified, or read from SageMaker; {} when unreadable."""
    if progress.verified is not None:
        served = LiveState(progress.verified.endpoint_config, planned.source.model_sha256)
        return served.as_record()
    endpoint = endpoint_name(run.settings.project, run.environment)
    try:
        state = read_live(run.aws.client("sagemaker"), endpoint)
    except (*_AWS_ERRORS, KeyboardInterrupt):
        return {}
    return state.as_record() if state is not None else {}


def _record(run: Run, planned: Planned, progress: _Progress) -> DeployRecord:
    source, plan, verified = planned.source, planned.plan, progress.verified
    served = None
    if verified is not None:
        served = Served(
            model_sha256=source.model_sha256,
            endpoint_config=verified.endpoint_config,
            deploy_id=plan.deploy_id,
            commit=source.commit,
            bucket=run.ledger.bucket,
        )
    # Never raises: a registry failure is a warning and must not cost the record.
    model_package = register_after_verify(
        run.settings, run.environment, run.aws.client("sagemaker"), served, run.out
    )
    return DeployRecord(
        deploy_id=plan.deploy_id,
        kind=source.kind,
        environment=run.environment.name,
        project=run.settings.project.name,
        commit=source.commit,
        ref=source.ref,
        actor=run.actor,
        principal=run.principal,
        started_at=run.started[1],
        finished_at=utc_now(),
        duration_seconds=round(time.monotonic() - run.started[0], 1),
        outcome=Outcome.FAILED if progress.failure else Outcome.SUCCEEDED,
        model_sha256=source.model_sha256,
        templates=dict(planned.templates),
        change_sets=dict(progress.done),
        endpoint=(
            {"name": verified.endpoint, "config": verified.endpoint_config} if verified else {}
        ),
        failure=progress.failure,
        rollback=dict(source.rollback),
        model_package=model_package,
        live=_left_live(run, planned, progress),
        sequence=progress.sequence,
        plan={"id": planned.reviewed, "digest": planned.digest} if planned.reviewed else {},
        approvals=tuple(approval.as_record() for approval in planned.approvals),
        lock_sha256=source.lock_sha256,
        metrics={} if progress.interrupted else _rollout_metrics(run),
        model_metrics=dict(source.metrics),
        model_source=dict(source.model_source),
        behaviour=planned.review.as_record() if planned.review is not None else {},
    )


def _rollout_metrics(run: Run) -> dict[str, object]:
    """The endpoint's metrics from preflight to now (outcomes.py); never raises."""
    start = datetime.fromisoformat(run.started[1])
    endpoint = endpoint_name(run.settings.project, run.environment)
    cloudwatch = run.aws.client("cloudwatch")
    try:
        return read_rollout_metrics(cloudwatch, endpoint, VARIANT_NAME, start, datetime.now(UTC))
    except KeyboardInterrupt:  # the record comes first: said, not lost
        return {"endpoint": endpoint, "error": "interrupted while reading the metrics"}


def _report(run: Run, planned: Planned, record: DeployRecord, progress: _Progress) -> None:
    """Say how it ended; raise DeployError (one line) for a failure or a failed cleanup."""
    failure, environment, where = progress.failure, run.environment.name, progress.where
    if failure is not None:
        at = " ".join(dict.fromkeys(part for part in (failure.stack, failure.resource) if part))
        what = "was interrupted" if progress.interrupted else f"failed at {at or 'AWS'}: "
        reason = "" if progress.interrupted else failure.reason
        live = record.live.get("model_sha256", "")[:12]
        serving = f"; {environment} serves model {live}…" if live else ""
        cleanup = (
            f"; deleting its change sets failed too ({progress.cleanup})"
            if progress.cleanup
            else ""
        )
        raise DeployError(
            f"{record.kind} {record.deploy_id} {what}{reason}{serving}{cleanup} (recorded {where})"
        )
    if progress.cleanup:
        raise DeployError(
            f"{record.kind} {record.deploy_id} succeeded and is recorded {where}, but deleting "
            f"its leftover change sets failed ({progress.cleanup}); delete them in the "
            "CloudFormation console before the next deploy"
        )
    if not planned.plan.has_changes:
        run.out.print(
            f"no changes: {environment} already runs these templates and model; "
            f"{record.commit[:7]} verified there and recorded {where}"
        )
        return
    done_what = "rolled back" if record.kind == "rollback" else "deployed"
    run.out.print(f"{done_what} {environment} in {record.duration_seconds:.1f} s; recorded {where}")
