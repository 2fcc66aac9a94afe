"""The governed deploy of one environment: preflight, synth, package, plan, execute, verify, record.

`invoke deploy` and `nox -s deploy` (CI) both call deploy(). Preflight runs every
guardrail before anything is written to AWS. A dry run (the default) creates the change
sets only to read the plan, then deletes them. An execute records its outcome in the
ledger, success or failure, and a failure exits non-zero. A verified deploy's model is
registered in the model registry first when release.model_registry is on (registry.py).
"""

from __future__ import annotations

import getpass
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from rich import box
from rich.console import Console
from rich.table import Table

from ..bucket_layout import baseline_key, model_key
from ..config import Environment, Settings
from ..errors import AwsError, DeployError, Refusal
from ..naming import ARTIFACTS, SERVING, endpoint_name, stack_name, stack_names
from . import guardrails
from .aws import Aws, caller_identity, connect, error_code, one_line
from .bundle import write_bundle
from .cost import estimate
from .endpoint_state import live_endpoint, planned_instance_types
from .execute import execute_change_set
from .git import GitState, git, read_state
from .github import GitHub, check_commit_ci
from .github import connect as connect_github
from .github_deployment import Deployment, run_url
from .ledger import (
    DeployRecord,
    Failure,
    Ledger,
    Outcome,
    ledger_of,
    new_deploy_id,
    utc_now,
)
from .plan import (
    Plan,
    StackPlan,
    create_change_set,
    delete_change_sets,
    pending_change_sets,
    render_markdown,
    stack_status,
)
from .registry import register_after_verify
from .verify import Verified, verify_endpoint

if TYPE_CHECKING:
    from ..model.package import PackagedModel


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


@dataclass(frozen=True)
class Source:
    """What a deploy applies: templates in deploy order and the model artifact they name."""

    templates: tuple[tuple[str, Path], ...]  # (stack name, template file)
    model_sha256: str
    model: PackagedModel | None  # None: the artifact must already be in the bucket
    commit: str
    ref: str | None
    kind: str = "deploy"
    rollback: Mapping[str, str] = field(default_factory=dict)  # "from" and "to" deploy ids


@dataclass(frozen=True)
class DeployOutcome:
    result: Result
    deploy_id: str
    bundle: Path
    plan: Plan
    record: DeployRecord | None = None


def actor(root: Path) -> str:
    """Who deploys: the GitHub actor in CI, else the git author, else the OS user."""
    if os.environ.get("GITHUB_ACTOR"):
        return f"github:{os.environ['GITHUB_ACTOR']}"
    try:
        return git(root, "config", "user.email") or getpass.getuser()
    except Refusal:
        return getpass.getuser()


@dataclass(frozen=True)
class _Preflight:
    environment: Environment
    git: GitState | None  # None for a rollback, which deploys no working tree
    aws: Aws
    principal: str
    actor: str
    github: GitHub | None  # None without GITHUB_TOKEN: no CI check (unless required), no
    log_url: str  # deployment; log_url is the CI run's page, "" on a laptop


def preflight(
    settings: Settings,
    request: DeployRequest,
    root: Path,
    environ: Mapping[str, str],
    *,
    from_source: bool = True,
) -> _Preflight:
    """Every guardrail, cheapest first; reads only. Raises Refusal (or ConfigError/AwsError).

    from_source=False (a rollback redeploys an archived bundle) skips the rules about the
    working tree: its cleanliness, its ref, its CI status and the promotion order of its
    commit.
    """
    environment = settings.environment(request.environment)
    if request.execute:
        guardrails.check_confirmation(settings.project, environment, environ)
    state = None
    if from_source:
        state = read_state(root)
        guardrails.check_clean(state)
        guardrails.check_ref(environment, state)
    github = connect_github(settings, environ)
    if state is not None:
        check_commit_ci(settings, environment, github, state.commit)
    aws = connect(environment)
    account, principal = caller_identity(aws)
    guardrails.check_account(environment, account, principal)
    source = environment.policy.promotion_from
    if state is not None and source is not None:
        source_env = settings.environment(source)
        guardrails.check_promotion(
            environment, state.commit, ledger_of(settings, source_env).records()
        )
    cloudformation = aws.client("cloudformation")
    statuses = {}
    for name in stack_names(settings.project, environment):
        status = stack_status(cloudformation, name)
        if status is not None:
            statuses[name] = (status, pending_change_sets(cloudformation, name))
    guardrails.check_not_busy(statuses)
    return _Preflight(
        environment=environment,
        git=state,
        aws=aws,
        principal=principal,
        actor=actor(root),
        github=github,
        log_url=run_url(environ),
    )


def deploy(
    settings: Settings,
    request: DeployRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
    package: Callable[[Path], PackagedModel] | None = None,
) -> DeployOutcome:
    """Deploy the working tree's commit: package its model, synth its templates, apply."""
    started = (time.monotonic(), utc_now())
    checked = preflight(settings, request, root, environ)
    assert checked.git is not None
    state = checked.git
    out.print(
        f"preflight passed: {checked.environment.name} ({checked.aws.where}), commit "
        f"{state.commit[:7]} on {state.ref}, as {checked.principal}"
    )
    deploy_id = new_deploy_id(state.commit)

    def build(folder: Path) -> Source:
        nonlocal package
        with out.status("packaging the model…"):
            if package is None:  # imported here: history and preflight need no scikit-learn
                from ..model.package import package_model

                package = package_model
            packaged = package(folder / "model")
        out.print(f"model {packaged.sha256} ({packaged.path.stat().st_size} bytes)")
        with out.status("synthesizing…"):
            from ..infra.app import synthesize_into

            stacks = synthesize_into(
                folder / "cdk.out", settings, [checked.environment], packaged.sha256
            )
        return Source(
            templates=tuple((stack.stack_name, stack.template_path) for stack in stacks),
            model_sha256=packaged.sha256,
            model=packaged,
            commit=state.commit,
            ref=state.ref,
        )

    return apply_source(
        settings,
        request,
        checked=checked,
        deploy_id=deploy_id,
        build=build,
        started=started,
        out=out,
        root=root,
    )


def apply_source(
    settings: Settings,
    request: DeployRequest,
    *,
    checked: _Preflight,
    deploy_id: str,
    build: Callable[[Path], Source],
    started: tuple[float, str],
    root: Path,
    out: Console,
) -> DeployOutcome:
    """Build the source into build/deploys/<env>/<deploy-id>/, plan it, stop or apply it."""
    folder = root / "build" / "deploys" / checked.environment.name / deploy_id
    try:
        source = build(folder)
        return _plan_and_apply(
            settings,
            request,
            checked=checked,
            deploy_id=deploy_id,
            folder=folder,
            source=source,
            started=started,
            out=out,
        )
    except BaseException:
        # Refused or failed before a plan existed: leave no half-built folder behind.
        if not (folder / "bundle" / "manifest.json").exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _plan_and_apply(
    settings: Settings,
    request: DeployRequest,
    *,
    checked: _Preflight,
    deploy_id: str,
    folder: Path,
    source: Source,
    started: tuple[float, str],
    out: Console,
) -> DeployOutcome:
    """Plan the source; then stop (dry run, no changes) or execute, verify, record."""
    environment = checked.environment
    cloudformation = checked.aws.client("cloudformation")
    if source.model is None or (request.execute and not request.upload_artifacts):
        _require_artifact(ledger_of(settings, environment, checked.aws), source.model_sha256)

    _check_endpoint_update(settings, checked, source)
    planned: list[StackPlan] = []
    executed = False
    try:
        with out.status("creating change sets…"):
            for stack_name, template in source.templates:
                planned.append(
                    create_change_set(cloudformation, stack_name, template, f"deploy-{deploy_id}")
                )
        plan = Plan(
            environment=environment.name,
            deploy_id=deploy_id,
            model_sha256=source.model_sha256,
            stacks=tuple(planned),
        )
        cost = estimate(environment).describe()
        manifest = write_bundle(
            folder / "bundle",
            plan=plan,
            markdown=render_markdown(plan, cost),
            templates=source.templates,
            commit=source.commit,
            ref=source.ref,
            project=settings.project.name,
        )
        show_plan(out, plan, cost)
        out.print(f"bundle: {folder / 'bundle'}")
        # A new commit that changes nothing deployed (docs, tests) still gets a record once
        # executed, after the endpoint is verified: promotion and tagging ask "did this
        # commit run there?", and it does.
        record_unchanged = (
            request.execute
            and source.kind == "deploy"
            and not _has_run(settings, checked, source.commit)
        )
        if not plan.has_changes and not record_unchanged:
            out.print(f"no changes: {environment.name} already runs these templates and model")
            return DeployOutcome(Result.NO_CHANGES, deploy_id, folder / "bundle", plan)
        if not request.execute:
            out.print("dry run: nothing changed (add --execute to apply this plan)")
            return DeployOutcome(Result.DRY_RUN, deploy_id, folder / "bundle", plan)
        deployment = None
        if checked.github is not None:  # before any change: a refusal here changes nothing
            deployment = Deployment.start(
                checked.github,
                environment=environment.name,
                production=environment.name == settings.release.environment,
                kind=source.kind,
                commit=source.commit,
                deploy_id=deploy_id,
                ledger_url=ledger_of(settings, environment, checked.aws).url(deploy_id),
                log_url=checked.log_url,
            )
            out.print(f"GitHub deployment {deployment.deployment_id}: in_progress")
        executed = True
        record = _execute(
            settings,
            plan,
            request=request,
            checked=checked,
            source=source,
            bundle=folder / "bundle",
            templates=manifest.templates,
            started=started,
            out=out,
            deployment=deployment,
        )
    finally:
        if not executed:
            delete_change_sets(cloudformation, planned)
    result = Result.SUCCEEDED if plan.has_changes else Result.NO_CHANGES
    return DeployOutcome(result, deploy_id, folder / "bundle", plan, record)


def _check_endpoint_update(settings: Settings, checked: _Preflight, source: Source) -> None:
    """Refuse, before any change set, an update SageMaker would fail (endpoint_state.py)."""
    serving = dict(source.templates).get(stack_name(settings.project, checked.environment, SERVING))
    endpoint = endpoint_name(settings.project, checked.environment)
    live = live_endpoint(checked.aws, endpoint) if serving is not None else None
    if live is None or serving is None:
        return
    guardrails.check_instance_type(
        checked.environment.name,
        endpoint,
        live.instance_types,
        live.autoscaled,
        planned_instance_types(serving),
    )


def _has_run(settings: Settings, checked: _Preflight, commit: str) -> bool:
    """Whether the environment's ledger has a successful deploy of this commit."""
    records = ledger_of(settings, checked.environment, checked.aws).records()
    return any(r.commit == commit and r.outcome is Outcome.SUCCEEDED for r in records)


def show_plan(out: Console, plan: Plan, cost: str) -> None:
    """One table per stack (action, logical id, type, replacement), then the cost."""
    out.print(f"Plan for {plan.environment} (deploy {plan.deploy_id}):")
    for stack in plan.stacks:
        if not stack.changes:
            out.print(f"  {stack.stack_name}: no changes")
            continue
        table = Table(
            title=f"{stack.stack_name} ({stack.change_set_type.lower()})",
            title_justify="left",
            box=box.SIMPLE,
        )
        for column in ("action", "logical id", "type", "replacement"):
            table.add_column(column, no_wrap=True)
        for change in stack.changes:
            table.add_row(
                change.action, change.logical_id, change.resource_type, change.replacement or "-"
            )
        out.print(table)
    out.print(f"estimated cost: {cost}")


def _require_artifact(ledger: Ledger, sha256: str) -> None:
    try:
        ledger.s3.head_object(Bucket=ledger.bucket, Key=model_key(sha256))
    except ClientError:
        raise Refusal(
            f"the model artifact s3://{ledger.bucket}/{model_key(sha256)} is not there; "
            "deploy from source with --upload-artifacts to upload it"
        ) from None


def upload_model(s3: Any, bucket: str, packaged: PackagedModel, out: Console) -> None:
    """Content-addressed: an artifact already there (same sha256, same bytes) is kept."""
    key = model_key(packaged.sha256)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        out.print(f"model artifact already in s3://{bucket}/{key}")
        return
    except ClientError as error:
        if error_code(error) not in {"404", "NoSuchKey", "NotFound"}:
            raise
    for name, path in sorted(packaged.baseline.items()):
        s3.upload_file(str(path), bucket, baseline_key(packaged.sha256, name))
    # The model last: its presence means the upload is complete.
    s3.upload_file(str(packaged.path), bucket, key)
    out.print(f"uploaded the model artifact to s3://{bucket}/{key}")


def _execute(
    settings: Settings,
    plan: Plan,
    *,
    request: DeployRequest,
    checked: _Preflight,
    source: Source,
    bundle: Path,
    templates: Mapping[str, str],
    started: tuple[float, str],
    out: Console,
    deployment: Deployment | None,
) -> DeployRecord:
    environment, aws = checked.environment, checked.aws
    cloudformation = aws.client("cloudformation")
    ledger = ledger_of(settings, environment, aws)
    done: dict[str, str] = {}
    failure: Failure | None = None
    verified: Verified | None = None
    remaining = list(plan.stacks)
    try:
        failure = _apply_stacks(
            settings, remaining, done, request=request, checked=checked, source=source, out=out
        )
        if failure is None:
            checked_endpoint = _verify(settings, checked, source, request, out)
            if isinstance(checked_endpoint, Failure):
                failure = checked_endpoint
            else:
                verified = checked_endpoint
    except (ClientError, BotoCoreError) as error:
        failure = Failure(stack="", resource="", reason=one_line(error))
    finally:
        delete_change_sets(cloudformation, remaining)
    # Never raises: a registry failure is a warning and must not cost the record.
    model_package = register_after_verify(
        settings,
        environment,
        aws.client("sagemaker"),
        verified,
        bucket=ledger.bucket,
        model_sha256=source.model_sha256,
        deploy_id=plan.deploy_id,
        commit=source.commit,
        out=out,
    )
    record = DeployRecord(
        deploy_id=plan.deploy_id,
        kind=source.kind,
        environment=environment.name,
        project=settings.project.name,
        commit=source.commit,
        ref=source.ref,
        actor=checked.actor,
        principal=checked.principal,
        started_at=started[1],
        finished_at=utc_now(),
        duration_seconds=round(time.monotonic() - started[0], 1),
        outcome=Outcome.FAILED if failure else Outcome.SUCCEEDED,
        model_sha256=source.model_sha256,
        templates=dict(templates),
        change_sets=done,
        endpoint=(
            {"name": verified.endpoint, "config": verified.endpoint_config} if verified else {}
        ),
        failure=failure,
        rollback=dict(source.rollback),
        model_package=model_package,
    )
    where = _record(ledger, record, bundle, out)
    if deployment is not None:
        deployment.finish(record, out)
    if failure is not None:
        at = " ".join(dict.fromkeys(part for part in (failure.stack, failure.resource) if part))
        raise DeployError(
            f"deploy {plan.deploy_id} failed at {at or 'AWS'}: {failure.reason} (recorded {where})"
        )
    if not plan.has_changes:
        out.print(
            f"no changes: {environment.name} already runs these templates and model; "
            f"{source.commit[:7]} verified there and recorded {where}"
        )
        return record
    done_what = "rolled back" if source.kind == "rollback" else "deployed"
    out.print(
        f"{done_what} {environment.name} in {record.duration_seconds:.1f} s; recorded {where}"
    )
    return record


def _apply_stacks(
    settings: Settings,
    remaining: list[StackPlan],
    done: dict[str, str],
    *,
    request: DeployRequest,
    checked: _Preflight,
    source: Source,
    out: Console,
) -> Failure | None:
    """Execute the change sets in order (popping `remaining`, filling `done`); the model is
    uploaded right after the artifacts stack. Stops at the first failure."""
    cloudformation = checked.aws.client("cloudformation")
    artifacts_stack = stack_name(settings.project, checked.environment, ARTIFACTS)
    while remaining:
        stack = remaining.pop(0)
        if stack.has_changes:
            out.print(f"executing {stack.stack_name} ({len(stack.changes)} change(s))")
            failure = execute_change_set(
                cloudformation,
                stack,
                timeout_seconds=request.timeout_seconds,
                report=lambda line: out.print(f"  {line}"),
            )
            if failure is not None:
                # Real CloudFormation marks it EXECUTE_FAILED; moto leaves it AVAILABLE,
                # where it would read as another deploy's pending plan.
                delete_change_sets(cloudformation, [stack])
                return failure
            if stack.change_set_id:
                done[stack.stack_name] = stack.change_set_id
        else:
            delete_change_sets(cloudformation, [stack])
        if stack.stack_name == artifacts_stack and source.model and request.upload_artifacts:
            bucket = ledger_of(settings, checked.environment, checked.aws).bucket
            upload_model(checked.aws.client("s3"), bucket, source.model, out)
    return None


def _verify(
    settings: Settings,
    checked: _Preflight,
    source: Source,
    request: DeployRequest,
    out: Console,
) -> Verified | Failure:
    """The endpoint serves what this deploy's serving template says (verify.py)."""
    serving_stack = stack_name(settings.project, checked.environment, SERVING)
    aws = checked.aws
    with out.status("verifying the endpoint…"):
        checked_endpoint = verify_endpoint(
            aws.client("cloudformation"),
            aws.client("sagemaker"),
            aws.client("sagemaker-runtime"),
            stack_name=serving_stack,
            template_path=dict(source.templates)[serving_stack],
            model_sha256=source.model_sha256,
            timeout_seconds=request.timeout_seconds,
        )
    if isinstance(checked_endpoint, Verified):
        out.print(
            f"verified: {checked_endpoint.endpoint} InService on "
            f"{checked_endpoint.endpoint_config}, model {source.model_sha256[:12]}…; "
            f"smoke: {checked_endpoint.smoke}"
        )
    return checked_endpoint


def _record(ledger: Ledger, record: DeployRecord, bundle: Path, out: Console) -> str:
    """The ledger, or (when its bucket is gone or unreachable) the local bundle, said loudly."""
    local = bundle.parent / "record.json"
    local.write_text(record.to_json(), encoding="utf-8")
    try:
        if ledger.exists():
            return ledger.write(record, bundle)
        reason = f"s3://{ledger.bucket} does not exist"
    except (AwsError, ClientError, BotoCoreError) as error:
        reason = one_line(error)
    out.print(f"[bold red]the ledger could not be written ({reason}); record kept at {local}")
    return str(local)
