"""Rollback against a real moto server: the endpoint returns to an earlier deploy's config and
model, from the ledger's archived bundle, with the same guardrails and a record of its own.
`--to-model-package N` returns only the model, from the model registry, keeping the live
deploy's templates otherwise."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit
from rich.console import Console

import tasks
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import DeployError
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, Result
from {{ cookiecutter.package_name }}.release.ledger import DeployRecord, Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.registry import version_of
from {{ cookiecutter.package_name }}.release.rollback import (
    RollbackRequest,
    choose_target,
    repoint_model,
    rollback,
)

from .conftest import aws_client as client
from .test_release_deploy import (
    BUCKET,
    CONFIRM,
    SERVING,
    broken_settings,
    commit,
    refused,
    retrained,
    run,
    snapshot,
)
from .test_release_registry import GROUP, alarm_changed, registry_off, registry_state
from .test_release_rules import record


def roll(
    settings: Settings,
    repo: Path,
    *,
    to: str | None = None,
    execute: bool = False,
    environ: dict[str, str] | None = None,
    to_model_package: int | None = None,
) -> tuple[DeployOutcome, str]:
    output = io.StringIO()
    outcome = rollback(
        settings,
        RollbackRequest(
            environment="local", to=to, execute=execute, to_model_package=to_model_package
        ),
        root=repo,
        environ=CONFIRM if environ is None else environ,
        out=Console(file=output, width=200),
    )
    return outcome, output.getvalue()


def live_model(aws: str, record: DeployRecord) -> tuple[str, str]:
    """(EndpointConfigName, model-sha256 tag) the endpoint serves right now."""
    sagemaker = client(aws, "sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=record.endpoint["name"])
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    sha = {tag["Key"]: tag["Value"] for tag in tags}["model-sha256"]
    return str(endpoint["EndpointConfigName"]), sha


def two_releases(settings: Settings, repo: Path) -> tuple[DeployRecord, DeployRecord]:
    """v1 deployed and tagged v0.1.0, then a retrained model deployed as v2."""
    first, _ = run(settings, repo, execute=True)
    subprocess.run(["git", "tag", "v0.1.0"], cwd=repo, check=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(settings, repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    return first.record, second.record


def test_rollback_returns_the_endpoint_to_the_previous_deploy(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, v2 = two_releases(local_settings, repo)
    before = snapshot(aws)
    planned, output = roll(local_settings, repo)
    assert planned.result is Result.DRY_RUN and "dry run: nothing changed" in output
    assert snapshot(aws, kept_plans=False) == before  # only its plan is kept, for approvals
    assert f"invoke rollback --env local --execute --plan {planned.deploy_id}" in output
    assert live_model(aws, v2)[1] == v2.model_sha256

    outcome, output = roll(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED and "rolled back local" in output
    record = outcome.record
    assert record is not None
    assert (record.kind, dict(record.rollback)) == (
        "rollback",
        {"from": v2.deploy_id, "to": v1.deploy_id},
    )
    assert (record.commit, record.model_sha256) == (v1.commit, v1.model_sha256)
    config, sha = live_model(aws, v2)
    assert sha == v1.model_sha256 and config == record.endpoint["config"]
    assert config != v2.endpoint["config"]
    kinds = [
        r.kind for r in ledger_of(local_settings, local_settings.environment("local")).records()
    ]
    assert kinds == ["rollback", "deploy", "deploy"]
    # It deployed the archived templates, byte for byte: the same hashes as v1's record.
    assert record.templates == v1.templates


def test_rollback_of_a_rollback_returns_to_the_newer_deploy(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    _v1, v2 = two_releases(local_settings, repo)
    roll(local_settings, repo, execute=True)
    outcome, _ = roll(local_settings, repo, execute=True)
    assert outcome.record is not None
    assert outcome.record.rollback["to"] == v2.deploy_id
    assert live_model(aws, v2)[1] == v2.model_sha256


def test_rollback_to_a_tag_and_to_a_deploy_id(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, v2 = two_releases(local_settings, repo)
    outcome, _ = roll(local_settings, repo, to="v0.1.0", execute=True)
    assert outcome.record is not None and outcome.record.rollback["to"] == v1.deploy_id
    assert live_model(aws, v1)[1] == v1.model_sha256
    outcome, _ = roll(local_settings, repo, to=v2.deploy_id, execute=True)
    assert live_model(aws, v1)[1] == v2.model_sha256


# --- refusals: one line, nothing changed ------------------------------------------------------


def test_nothing_to_roll_back_to(aws: str, local_settings: Settings, repo: Path) -> None:
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message == "nothing to roll back: the environment has no successful deploy yet"
    first, _ = run(local_settings, repo, execute=True)
    assert first.record is not None
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"nothing to roll back to: {first.record.deploy_id} is live and")


def test_unknown_or_failed_targets_are_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    _v1, v2 = two_releases(local_settings, repo)
    commit(repo, "broken.txt", "x\n")
    with pytest.raises(DeployError):
        run(broken_settings(aws), repo, execute=True)
    (failed,) = [
        r
        for r in ledger_of(local_settings, local_settings.environment("local")).records()
        if r.outcome is Outcome.FAILED
    ]
    cases = {
        "20990101T000000000Z-0000000-0000": "no deploy 20990101T000000000Z-0000000-0000 in local",
        failed.deploy_id: f"deploy {failed.deploy_id} failed; roll back only to a success",
        "v9.9.9": "no tag v9.9.9 in this repository",
        v2.deploy_id: f"local already runs {v2.deploy_id}; nothing to do",
    }
    for to, reason in cases.items():
        message = refused(aws, partial(roll, local_settings, repo, to=to, execute=True))
        assert message.startswith(reason), message
    subprocess.run(["git", "tag", "v0.2.0"], cwd=repo, check=True)  # HEAD: the failed commit
    message = refused(aws, lambda: roll(local_settings, repo, to="v0.2.0", execute=True))
    assert "never deployed successfully to local" in message


def test_missing_bundle_or_artifact_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, _v2 = two_releases(local_settings, repo)
    s3 = client(aws, "s3")
    model = f"models/{v1.model_sha256}/model.tar.gz"
    s3.delete_object(Bucket=BUCKET, Key=model)
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"the model artifact s3://{BUCKET}/{model} is not there")
    prefix = f"releases/local/{v1.deploy_id}/bundle/"
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"the bundle of {v1.deploy_id} is missing")


def test_rollback_of_a_protected_environment_needs_the_confirmation(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    two_releases(local_settings, repo)
    message = refused(aws, lambda: roll(local_settings, repo, execute=True, environ={}))
    assert message.startswith("local is protected and ")


def test_choosing_the_target_is_pure() -> None:
    newest, failed, oldest = (
        replace(record(letter * 40, outcome), deploy_id=letter)
        for letter, outcome in (
            ("c", Outcome.SUCCEEDED),
            ("b", Outcome.FAILED),
            ("a", Outcome.SUCCEEDED),
        )
    )
    records = [newest, failed, oldest]
    live, target = choose_target(records, None)
    assert (live, target) == (newest, oldest)  # the failed one is skipped
    assert choose_target(records, "v0.1.0", tag_commit="a" * 40)[1] == oldest
    assert choose_target(records, "a")[1] == oldest


# --- model-only rollback: --to-model-package N ----------------------------------------------


def two_models(aws: str, settings: Settings, repo: Path) -> tuple[DeployRecord, DeployRecord]:
    """Model A (registry version 1), then model B (version 2) with another alarm threshold."""
    first, _ = run(settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(alarm_changed(aws), repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    assert [version_of(r.model_package) for r in (first.record, second.record)] == [1, 2]
    return first.record, second.record


def template(folder: Path, stack: str) -> Any:
    return json.loads((folder / "templates" / f"{stack}.template.json").read_text("utf-8"))


def deployed_template(aws: str, stack: str) -> Any:
    body = client(aws, "cloudformation").get_template(StackName=stack)["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else body


def served_model_url(aws: str, record: DeployRecord) -> str:
    sagemaker = client(aws, "sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=record.endpoint["name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return str(model["PrimaryContainer"]["ModelDataUrl"])


def untouched(aws: str, action: Callable[[], object]) -> str:
    """refused(), and the model registry unchanged too."""
    before = registry_state(aws)
    message = refused(aws, action)
    assert registry_state(aws) == before
    return message


def test_model_package_rollback_serves_that_model_with_the_live_templates(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, v2 = two_models(aws, local_settings, repo)
    before = (snapshot(aws), registry_state(aws))
    planned, output = roll(local_settings, repo, to_model_package=1)
    assert planned.result is Result.DRY_RUN and "dry run: nothing changed" in output
    assert f"version 1 of {GROUP}), keeping the templates of {v2.deploy_id}" in output
    assert (snapshot(aws, kept_plans=False), registry_state(aws)) == before
    execute = (
        f"invoke rollback --env local --to-model-package 1 --execute --plan {planned.deploy_id}"
    )
    assert execute in output
    serving = next(s for s in planned.plan.stacks if s.stack_name == SERVING)
    changed = {c.resource_type: c.action for c in serving.changes}
    for kind in ("Model", "EndpointConfig", "Endpoint"):
        assert changed[f"AWS::SageMaker::{kind}"] == "Modify"
    assert live_model(aws, v2)[1] == v2.model_sha256

    outcome, output = roll(local_settings, repo, to_model_package=1, execute=True)
    assert outcome.result is Result.SUCCEEDED and "rolled back local" in output
    rolled = outcome.record
    assert rolled is not None
    assert live_model(aws, v2)[1] == v1.model_sha256
    assert served_model_url(aws, v2) == f"s3://{BUCKET}/models/{v1.model_sha256}/model.tar.gz"
    assert (rolled.kind, rolled.commit, rolled.model_sha256) == (
        "rollback",
        v2.commit,
        v1.model_sha256,
    )
    assert dict(rolled.rollback) == {"from": v2.deploy_id, "model_package": v1.model_package}
    # Every template is the live deploy's, with only the model's address changed.
    live_bundle = ledger_of(local_settings, local_settings.environment("local")).download_bundle(
        v2.deploy_id, repo / "build" / "v2"
    )
    for stack in v2.templates:
        expected, _ = repoint_model(template(live_bundle, stack), v2.model_sha256, v1.model_sha256)
        assert deployed_template(aws, stack) == expected, stack
        assert template(outcome.bundle, stack) == expected, stack
    assert rolled.templates[SERVING] != v1.templates[SERVING]  # not v1's alarms
    # The registry's newest version is again what local serves.
    assert version_of(rolled.model_package) == 3
    assert registry_state(aws)[GROUP][-1] == (3, "Approved", v1.model_sha256)


def test_model_package_refusals_change_nothing(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    cases: dict[str, Callable[[], object]] = {
        "nothing to roll back: the environment has no successful deploy yet": partial(
            roll, local_settings, repo, to_model_package=1
        ),
        "give --to or --to-model-package, not both": partial(
            roll, local_settings, repo, to="v0.1.0", to_model_package=1
        ),
        "the model registry is off (release.model_registry = false in ": partial(
            roll, registry_off(local_settings), repo, to_model_package=1
        ),
        "--to-model-package 0: versions start at 1": partial(
            roll, local_settings, repo, to_model_package=0
        ),
    }
    for reason, action in cases.items():
        assert untouched(aws, action).startswith(reason)
    first, _ = run(local_settings, repo, execute=True)
    live = first.record
    assert live is not None
    for number, reason in {
        9: f"model package group {GROUP} has no version 9",
        1: f"local already serves model {live.model_sha256[:12]}… (version 1 of {GROUP}) in "
        f"{live.deploy_id}; nothing to do",
    }.items():
        message = untouched(aws, partial(roll, local_settings, repo, to_model_package=number))
        assert message.startswith(reason), message
    # Registered by hand, approved, but its artifact is not (or no longer) in the bucket.
    gone = "ef" * 32
    sagemaker = client(aws, "sagemaker")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [
                {"Image": "i", "ModelDataUrl": f"s3://{BUCKET}/models/{gone}/model.tar.gz"}
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"model-sha256": gone},
    )["ModelPackageArn"]
    message = untouched(aws, lambda: roll(local_settings, repo, to_model_package=2, execute=True))
    assert message.startswith(
        f"the model artifact s3://{BUCKET}/models/{gone}/model.tar.gz is not there; version 2"
    )
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    message = untouched(aws, lambda: roll(local_settings, repo, to_model_package=2))
    assert message.startswith(f"version 2 of {GROUP} is Rejected, not Approved")


def test_model_package_rollback_needs_the_group(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(registry_off(local_settings), repo, execute=True)
    message = untouched(aws, lambda: roll(local_settings, repo, to_model_package=1))
    assert message.startswith(f"local has no model package group {GROUP}; a verified deploy")


def test_the_task_refuses_both_targets_in_one_line() -> None:
    with pytest.raises(Exit) as raised:
        tasks.rollback(MockContext(), env="local", to="v0.1.0", to_model_package=1)
    assert raised.value.code == 1
    assert raised.value.message == "error: give --to or --to-model-package, not both"


A, B = "ab" * 32, "cd" * 32


def test_repointing_changes_only_the_model_address() -> None:
    document = {
        "Resources": {
            "Model": {
                "Properties": {
                    "PrimaryContainer": {
                        "ModelDataUrl": {
                            "Fn::Join": ["", ["s3://", {"Ref": "Bucket"}, f"/models/{A}/m.tar.gz"]]
                        }
                    },
                    "Tags": [{"Key": "model-sha256", "Value": A}],
                    "Other": ["a" + A, A + "0", A.upper(), 3, None, True],
                }
            },
            A: {"Type": "a key stays"},
        }
    }
    original = json.dumps(document)
    repointed, count = repoint_model(document, A, B)
    assert count == 2
    assert json.dumps(document) == original  # a copy; the input is untouched
    model = repointed["Resources"]["Model"]["Properties"]
    assert model["PrimaryContainer"]["ModelDataUrl"]["Fn::Join"][1][2] == f"/models/{B}/m.tar.gz"
    assert model["Tags"] == [{"Key": "model-sha256", "Value": B}]
    assert model["Other"] == ["a" + A, A + "0", A.upper(), 3, None, True]  # longer hex runs stay
    assert repointed["Resources"][A] == {"Type": "a key stays"}
    assert repoint_model(document, B, A) == (document, 0)
    with pytest.raises(ValueError, match="not a sha256"):
        repoint_model(document, A, "model-b")
