"""The model registry: every verified deploy's model is an approved version of its group.

Against the real moto server (its SageMaker model registry API), plus the pure parts: the
request a registration sends and the checks a model-package rollback makes.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import DeployError, Refusal
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.ledger import DeployRecord, Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.registry import (
    APPROVED,
    ModelPackage,
    Registry,
    package_request,
    rollback_candidate,
    version_of,
)

from .conftest import CONFIG_PATH, framework_image, local_document
from .conftest import aws_client as client
from .test_release_deploy import (
    BUCKET,
    PROJECT,
    broken_settings,
    commit,
    retrained,
    run,
)
from .test_release_rules import record

GROUP = f"{PROJECT.name}-local"
SHA = "ab" * 32


@cache
def sagemaker_of(url: str) -> Any:
    """One client per server: making one costs ~0.15 s, and refusal tests take many snapshots."""
    return client(url, "sagemaker")


def registry_state(url: str) -> dict[str, list[tuple[int, str, str]]]:
    """Every model package group and its versions (number, approval, model-sha256)."""
    sagemaker = sagemaker_of(url)
    state = {}
    for group in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        name = group["ModelPackageGroupName"]
        versions = []
        for summary in sagemaker.list_model_packages(ModelPackageGroupName=name)[
            "ModelPackageSummaryList"
        ]:
            described = sagemaker.describe_model_package(
                ModelPackageName=summary["ModelPackageArn"]
            )
            metadata = described.get("CustomerMetadataProperties", {})
            versions.append(
                (
                    summary["ModelPackageVersion"],
                    summary["ModelApprovalStatus"],
                    metadata.get("model-sha256", ""),
                )
            )
        state[name] = sorted(versions)
    return state


def registry_off(settings: Settings) -> Settings:
    return replace(settings, release=replace(settings.release, model_registry=False))


def alarm_changed(url: str) -> Settings:
    """The local environment with another alarm threshold: new templates, the same model."""
    document = copy.deepcopy(local_document(url))
    document["environments"]["local"]["alarms"]["error_5xx_count"] = 7
    return parse(document, CONFIG_PATH)


def test_a_deploy_registers_its_model_as_version_1(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, output = run(local_settings, repo, execute=True)
    record = outcome.record
    assert record is not None and record.outcome is Outcome.SUCCEEDED
    assert version_of(record.model_package) == 1
    assert f"model registry: registered {GROUP} version 1" in output
    assert registry_state(aws) == {GROUP: [(1, APPROVED, record.model_sha256)]}
    described = client(aws, "sagemaker").describe_model_package(
        ModelPackageName=record.model_package
    )
    assert described["ModelPackageGroupName"] == GROUP
    assert described["CustomerMetadataProperties"] == {
        "model-sha256": record.model_sha256,
        "deploy-id": record.deploy_id,
        "commit": record.commit,
    }
    specification = described["InferenceSpecification"]
    (container,) = specification["Containers"]
    assert container["Image"] == framework_image()  # what the serving stack runs
    assert container["ModelDataUrl"] == (f"s3://{BUCKET}/models/{record.model_sha256}/model.tar.gz")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert specification["SupportedContentTypes"] == ["application/json", "text/csv"]
    assert specification["SupportedResponseMIMETypes"] == ["application/json"]
    (stored,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert stored.model_package == record.model_package


def test_the_same_model_is_not_registered_again(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    # New templates (an alarm threshold), the same commit and model: an executed deploy.
    second, output = run(alarm_changed(aws), repo, execute=True)
    assert second.result is Result.SUCCEEDED
    assert first.record is not None and second.record is not None
    assert second.record.model_sha256 == first.record.model_sha256
    assert f"already the newest version: {GROUP} version 1" in output
    assert second.record.model_package == first.record.model_package
    assert [v for v, _, _ in registry_state(aws)[GROUP]] == [1]


def test_a_changed_model_adds_version_2_and_history_shows_it(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(local_settings, repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    assert version_of(second.record.model_package) == 2
    assert registry_state(aws) == {
        GROUP: [
            (1, APPROVED, first.record.model_sha256),
            (2, APPROVED, second.record.model_sha256),
        ]
    }
    from {{ cookiecutter.package_name }} import commands

    # Wide enough that nothing wraps; the table has no vertical rules, so a row's package is
    # the text under the `pkg` header (columns are left-aligned).
    shown = io.StringIO()
    monkeypatch.setattr(commands, "console", Console(file=shown, width=400))
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    lines = shown.getvalue().splitlines()
    header = next(line for line in lines if " pkg " in line)
    column = header.index(" pkg ") + 1
    deploys = [line for line in lines if " deploy " in line and " succeeded " in line]
    assert len(deploys) == 2
    assert [line[column : column + 3].strip() for line in deploys] == ["2", "1"]  # newest first


def test_with_the_registry_off_nothing_is_registered(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, output = run(registry_off(local_settings), repo, execute=True)
    assert outcome.record is not None and outcome.record.outcome is Outcome.SUCCEEDED
    assert outcome.record.model_package == ""
    assert "model registry" not in output
    assert registry_state(aws) == {}


def test_a_failed_deploy_registers_nothing(aws: str, repo: Path) -> None:
    with pytest.raises(DeployError) as raised:
        run(broken_settings(aws), repo, execute=True)
    assert "failed at" in str(raised.value)
    assert registry_state(aws) == {}


def test_a_registry_failure_keeps_the_deploy_and_its_record(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decided: the deploy succeeded (the endpoint serves the verified model), so it is
    recorded as succeeded and returns normally (exit 0), after one warning line."""

    def denied(self: Registry, description: str) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no sagemaker:Create*"}},
            "CreateModelPackageGroup",
        )

    monkeypatch.setattr(Registry, "ensure_group", denied)
    outcome, output = run(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED
    assert outcome.record is not None and outcome.record.model_package == ""
    (warning,) = [line for line in output.splitlines() if line.startswith("warning:")]
    assert warning.startswith(
        f"warning: local serves the verified model and the deploy is recorded, but registering "
        f"it in model package group {GROUP} failed (ClientError: An error occurred "
        "(AccessDeniedException)"
    )
    assert "deployed local in" in output
    (stored,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert stored.outcome is Outcome.SUCCEEDED and stored.model_package == ""
    assert registry_state(aws) == {}


# --- the pure parts ---------------------------------------------------------------------------


def test_the_registration_request_names_the_served_container_and_its_deploy() -> None:
    container = {
        "Image": "image:1",
        "ModelDataUrl": "ignored: the URL is the content address",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
    }
    request = package_request(
        group="app-prod",
        model_sha256=SHA,
        bucket="app-prod-222222222222",
        container=container,
        deploy_id="20261129T101502123Z-1a2b3c4-9f0e",
        commit="1a2b3c4" + "0" * 33,
    )
    assert request["ModelPackageGroupName"] == "app-prod"
    assert request["ModelApprovalStatus"] == "Approved"
    assert request["InferenceSpecification"]["Containers"] == [
        {
            "Image": "image:1",
            "ModelDataUrl": f"s3://app-prod-222222222222/models/{SHA}/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
        }
    ]
    assert request["CustomerMetadataProperties"] == {
        "model-sha256": SHA,
        "deploy-id": "20261129T101502123Z-1a2b3c4-9f0e",
        "commit": "1a2b3c4" + "0" * 33,
    }
    assert "1a2b3c4" in request["ModelPackageDescription"]
    with pytest.raises(ValueError, match="not a sha256"):
        package_request(
            group="g",
            model_sha256="abc",
            bucket="b",
            container=container,
            deploy_id="d",
            commit="c",
        )


def package(**overrides: Any) -> ModelPackage:
    described: dict[str, Any] = {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:222222222222:model-package/app-prod/3",
        "ModelPackageVersion": 3,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": "i", "ModelDataUrl": f"s3://b/models/{SHA}/model.tar.gz"}]
        },
        "CustomerMetadataProperties": {"model-sha256": SHA},
    }
    return ModelPackage.from_description({**described, **overrides})


def test_a_rollback_takes_only_an_approved_version_a_deploy_registered() -> None:
    assert rollback_candidate(package(), number=3, group="app-prod", bucket="b") == package()
    hand_made = package(CustomerMetadataProperties={})
    elsewhere = package(
        InferenceSpecification={"Containers": [{"ModelDataUrl": "s3://other/model.tar.gz"}]}
    )
    cases = [
        (None, "model package group app-prod has no version 3"),
        (
            package(ModelApprovalStatus="Rejected"),
            "version 3 of app-prod is Rejected, not Approved",
        ),
        (package(ModelApprovalStatus="PendingManualApproval"), "is PendingManualApproval, not"),
        (hand_made, "version 3 of app-prod has model-sha256 (none) and artifact s3://b/models/"),
        (elsewhere, f"has model-sha256 {SHA} and artifact s3://other/model.tar.gz; only"),
        (package(CustomerMetadataProperties={"model-sha256": "ab"}), "has model-sha256 ab and"),
    ]
    for candidate, reason in cases:
        with pytest.raises(Refusal) as raised:
            rollback_candidate(candidate, number=3, group="app-prod", bucket="b")
        assert reason in str(raised.value), str(raised.value)
        assert "\n" not in str(raised.value)


def test_version_numbers_come_from_versioned_arns() -> None:
    assert version_of("arn:aws:sagemaker:us-east-1:222222222222:model-package/app-prod/12") == 12
    assert version_of("arn:aws-cn:sagemaker:cn-north-1:222222222222:model-package/a-b/1") == 1
    assert version_of("arn:aws:sagemaker:us-east-1:222222222222:model-package/unversioned") is None
    assert version_of("") is None


def test_records_written_before_the_registry_still_load() -> None:
    older = json.loads(record().to_json())
    del older["model_package"]
    loaded = DeployRecord.from_json(json.dumps(older))
    assert loaded.model_package == "" and loaded.schema == 1
    assert replace(loaded, model_package="arn:x") == DeployRecord.from_json(
        replace(loaded, model_package="arn:x").to_json()
    )
