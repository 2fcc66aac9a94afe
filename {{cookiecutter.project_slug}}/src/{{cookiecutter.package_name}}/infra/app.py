"""Build the CDK app for some environments and synthesize it, cdk-nag checks on.

One process synthesizes every environment: `invoke synth`, `nox -s synth`, the deploy
engine and the CDK CLI (through app.py and cdk.json) all come through here.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from aws_cdk import App, CliCredentialsStackSynthesizer, Environment, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks

from ..bucket_layout import check_sha256
from ..config import Environment as EnvironmentConfig
from ..config import Project, Settings, load
from ..errors import ConfigError, SynthError
from ..images import Container
from ..naming import (
    ARTIFACTS,
    MONITORING,
    SERVING,
    boundary_policy_name,
    endpoint_name,
    role_path,
    stack_name,
)
from .artifacts_stack import ArtifactsStack
from .assembly import UNPACKAGED_MODEL_SHA256, SynthesizedStack
from .serving_stack import ServingStack

# What CDK writes into the assembly when a validation plugin (cdk-nag) reports findings.
VALIDATION_REPORT = "validation-report.json"

# The CDK app's feature flags are cdk.json's "context", as `cdk init` writes it (every flag
# aws-cdk-lib recommends for a new app, from its recommended-feature-flags.json) and as
# `cdk flags` edits it: the CDK CLI hands them to app.py, and an in-process synth reads the
# same file, so both build the same templates.
CDK_JSON = "cdk.json"
# Switches on top: no construct paths in the template metadata (plain templates).
APP_CONTEXT: dict[str, Any] = {"aws:cdk:enable-path-metadata": False}
# Flags our stacks are written for, beneath cdk.json's (which sets them too): a cdk.json that
# lost its context still synthesizes the same buckets and policies.
REQUIRED_FLAGS: dict[str, Any] = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
}


def feature_flags(root: Path) -> dict[str, Any]:
    """The `context` of the project's cdk.json: its feature flags."""
    path = root / CDK_JSON
    try:
        context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read the CDK app's feature flags ({error})") from None
    if not isinstance(context, dict):
        raise ConfigError(f"{path}: `context` must be an object of feature flags")
    return context


def new_app(root: Path, outdir: Path | None = None) -> App:
    """An App with the project's feature flags; outdir None lets the CDK CLI choose
    (CDK_OUTDIR)."""
    return App(
        outdir=str(outdir) if outdir is not None else None,
        analytics_reporting=False,
        context={**REQUIRED_FLAGS, **feature_flags(root), **APP_CONTEXT},
    )


def _monitoring_module() -> Any | None:
    """The optional Model Monitor module, or None where the project was baked without it."""
    name = f"{__package__}.monitoring"
    return importlib.import_module(name) if importlib.util.find_spec(name) else None


def add_environment(
    app: App,
    settings: Settings,
    environment: EnvironmentConfig,
    model_sha256: str,
    container: Container | None = None,
) -> list[Stack]:
    """The stacks of one environment, artifacts first; returns them in deploy order.
    container: what serves the model when it is not the framework's image with this
    project's handler (a registry package's own)."""
    project = settings.project
    stack_env = Environment(account=environment.account, region=environment.region)
    tags = {"project": project.name, "environment": environment.name}

    def stack_kwargs(part: str, description: str) -> dict[str, Any]:
        return {
            "stack_name": stack_name(project, environment, part),
            "env": stack_env,
            "description": f"{project.name} {environment.name}: {description}",
            # Templates only: no bootstrap version rule, no roles, no asset buckets.
            "synthesizer": CliCredentialsStackSynthesizer(),
            # Stack-level tags are given here: under cdk.json's @aws-cdk/core:explicitStackTags
            # (on in a new app) Tags.of(stack) tags the resources only.
            "tags": tags,
        }

    artifacts = ArtifactsStack(
        app,
        f"{environment.name}-{ARTIFACTS}",
        project=project,
        environment=environment,
        ledger_readers=sorted(
            {
                other.account
                for other in settings.environments.values()
                if other.policy.promotion_from == environment.name
                and other.account != environment.account
            }
        ),
        **stack_kwargs(ARTIFACTS, "model artifacts, data capture and the deploy ledger"),
    )
    serving = ServingStack(
        app,
        f"{environment.name}-{SERVING}",
        project=project,
        environment=environment,
        model_sha256=model_sha256,
        serving=settings.serving,
        container=container,
        **stack_kwargs(SERVING, "the SageMaker endpoint, alarms, autoscaling, dashboard"),
    )
    serving.add_stack_dependency(artifacts)
    stacks: list[Stack] = [artifacts, serving]
    if environment.monitoring is not None:
        monitoring = _monitoring_module()
        if monitoring is None:
            raise ConfigError(
                f"environments.{environment.name}.monitoring is set but this project has no "
                "Model Monitor module (infra/monitoring.py); remove the table"
            )
        monitor_stack = monitoring.MonitoringStack(
            app,
            f"{environment.name}-{MONITORING}",
            project=project,
            environment=environment,
            settings=environment.monitoring,
            endpoint_name=endpoint_name(project, environment),
            model_sha256=model_sha256,
            **stack_kwargs(MONITORING, "Model Monitor data-quality schedule"),
        )
        monitor_stack.add_stack_dependency(serving)
        stacks.append(monitor_stack)
    for stack in stacks:  # and every resource in it
        for key, value in tags.items():
            Tags.of(stack).add(key, value)
        confine_roles(stack, project, environment)
    return stacks


def confine_roles(stack: Stack, project: Project, environment: EnvironmentConfig) -> None:
    """Every role the stack creates lives under the environment's IAM path and, where the
    environment is bootstrapped, under its permissions boundary: the execution role may only
    make such roles (access/policies.py)."""
    path = role_path(project.name, environment.name)
    for child in stack.node.find_all():
        if isinstance(child, iam.CfnRole):
            child.path = path
    if environment.bootstrap is not None:
        boundary = iam.ManagedPolicy.from_managed_policy_name(
            stack, "PermissionsBoundary", boundary_policy_name(project.name, environment.name)
        )
        iam.PermissionsBoundary.of(stack).apply(boundary)


def build_app(
    settings: Settings,
    environments: Sequence[EnvironmentConfig],
    model_sha256: str = UNPACKAGED_MODEL_SHA256,
    app: App | None = None,
    container: Container | None = None,
) -> App:
    """Add the environments' stacks to an app (a new one unless given) with cdk-nag on."""
    try:
        check_sha256(model_sha256)
    except ValueError as error:
        raise ConfigError(f"model digest: {error}") from None
    app = app or new_app(settings.path.parents[1])  # the project: <root>/config/<file>
    for environment in environments:
        add_environment(app, settings, environment, model_sha256, container)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def synthesize(app: App) -> list[SynthesizedStack]:
    """Synthesize into the app's outdir, stacks in deploy order (environment by environment).

    Unacknowledged cdk-nag findings (or any other synth failure) are a SynthError.
    """
    try:
        assembly = app.synth()
    except RuntimeError as error:  # jsii surfaces JavaScript errors as RuntimeError
        raise SynthError(_synth_failure(Path(app.outdir), str(error))) from None
    stack_ids = {stack.id for stack in assembly.stacks}
    ordered = [stack.node.id for stack in app.node.children if isinstance(stack, Stack)]
    synthesized = []
    for stack in sorted(assembly.stacks, key=lambda artifact: ordered.index(artifact.id)):
        synthesized.append(
            SynthesizedStack(
                environment=stack.tags.get("environment", ""),
                stack_name=stack.stack_name,
                artifact_id=stack.id,
                template_path=Path(stack.template_full_path),
                dependencies=tuple(dep.id for dep in stack.dependencies if dep.id in stack_ids),
            )
        )
    return synthesized


def synthesize_into(
    outdir: Path,
    settings: Settings,
    environments: Sequence[EnvironmentConfig],
    model_sha256: str = UNPACKAGED_MODEL_SHA256,
    container: Container | None = None,
) -> list[SynthesizedStack]:
    """Synthesize into a fresh folder and swap it in as `outdir` only when synth succeeded.

    A failed synth leaves the previous outdir as it was; the cdk-nag report of the failure
    is kept next to it as <outdir>.validation-report.json until a synth succeeds.
    """
    outdir.parent.mkdir(parents=True, exist_ok=True)
    failure_report = outdir.with_name(f"{outdir.name}.{VALIDATION_REPORT}")
    # Absolute: the CDK's Node.js process keeps the working directory it started in, so a
    # relative folder would be written there, not where this synth runs.
    staging = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent)).resolve()
    try:
        app = new_app(settings.path.parents[1], staging)  # the project: <root>/config/<file>
        stacks = synthesize(build_app(settings, environments, model_sha256, app, container))
        if outdir.exists():
            shutil.rmtree(outdir)
        staging.rename(outdir)
        failure_report.unlink(missing_ok=True)  # its presence means the last synth failed
    except SynthError:
        if (staging / VALIDATION_REPORT).exists():
            shutil.copyfile(staging / VALIDATION_REPORT, failure_report)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when synth succeeded
    return [
        replace(stack, template_path=outdir / stack.template_path.relative_to(staging))
        for stack in stacks
    ]


def _synth_failure(outdir: Path, error: str) -> str:
    """One line for a failed synth: the first cdk-nag finding if the report has one."""
    report = outdir / VALIDATION_REPORT
    if report.exists():
        findings = [
            (violation["ruleName"], construct["constructPath"])
            for plugin in json.loads(report.read_text(encoding="utf-8"))["pluginReports"]
            for violation in plugin["violations"]
            for construct in violation.get("violatingConstructs", [])
        ]
        if findings:
            rule, path = findings[0]
            return (
                f"cdk-nag: {len(findings)} unacknowledged finding(s), first {rule} at {path}; "
                "fix it or acknowledge it with a reason (infra/nag.py)"
            )
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return lines[0] if lines else "synth failed"


def cli_main(root: Path) -> int:
    """Entry point for `python app.py` (what cdk.json runs) in the project at root: context
    picks the environments and the model."""
    try:
        app = new_app(root)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    requested = app.node.try_get_context("env")
    names = [name for name in str(requested).split(",") if name] if requested else None
    sha = app.node.try_get_context("model_sha256") or UNPACKAGED_MODEL_SHA256
    try:
        settings = load(root)
        build_app(settings, settings.select(names), sha, app)
        synthesize(app)
    except (ConfigError, SynthError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
