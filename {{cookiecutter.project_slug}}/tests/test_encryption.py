"""Encryption at rest by config: S3-managed keys, or a customer-managed KMS key on the bucket,
the endpoint's volume and data capture, and the Model Monitor job's output and volume, with
the roles granted exactly its use; and a deploy with it on the strict local AWS."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, load, parse
from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.infra.app import synthesize_into
from {{ cookiecutter.package_name }}.infra.encryption import KEY_LOGICAL_ID
from {{ cookiecutter.package_name }}.release import pipeline
from {{ cookiecutter.package_name }}.release.plan import Change, StackPlan

from .conftest import (
    CONFIG_PATH,
    MODEL_SHA256,
    PROJECT_ROOT,
    local_document,
    only_resource,
    resources_of_type,
)
from .conftest import aws_client as client
from .test_release_deploy import BUCKET, CONFIRM, PROJECT, run

ALIAS = f"alias/{PROJECT.name}-prod"
PROD = load(PROJECT_ROOT).environment("prod")
REGION, ACCOUNT = PROD.region, PROD.account
OTHER_REGION = "ap-south-1" if REGION != "ap-south-1" else "eu-west-1"
OTHER_ACCOUNT = "444444444444" if ACCOUNT != "444444444444" else "555555555555"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:{ALIAS}"


def kms_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(action).startswith("kms:") for action in _list(statement["Action"]))
    ]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_prod_creates_a_rotated_key_with_its_alias(template_json: dict[str, Any]) -> None:
    artifacts = template_json["prod-artifacts"]
    key = artifacts["Resources"][KEY_LOGICAL_ID]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    alias = only_resource(artifacts, "AWS::KMS::Alias")
    assert alias["Properties"] == {
        "AliasName": ALIAS,
        "TargetKeyId": {"Fn::GetAtt": [KEY_LOGICAL_ID, "Arn"]},
    }


def test_prod_serving_and_monitoring_use_the_key_by_its_alias(
    template_json: dict[str, Any],
) -> None:
    serving = template_json["prod-serving"]
    config = only_resource(serving, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["KmsKeyId"] == ALIAS_ARN
    assert config["DataCaptureConfig"]["KmsKeyId"] == ALIAS_ARN
    (statement,) = kms_statements(serving)
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    assert statement["Resource"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"
    assert statement["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ALIAS}}
    if "prod-monitoring" in template_json:
        monitoring = template_json["prod-monitoring"]
        job = only_resource(monitoring, "AWS::SageMaker::DataQualityJobDefinition")["Properties"]
        assert job["DataQualityJobOutputConfig"]["KmsKeyId"] == ALIAS_ARN
        assert job["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == ALIAS_ARN
        (statement,) = kms_statements(monitoring)
        assert "kms:CreateGrant" in statement["Action"]  # the job's encrypted EBS volume
        assert statement["Condition"] == {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": ALIAS}
        }


def test_s3_managed_environments_have_no_key(template_json: dict[str, Any]) -> None:
    for stack in ("dev-artifacts", "dev-serving", "local-serving"):
        text = str(template_json[stack])
        assert "AWS::KMS" not in text and "KmsKeyId" not in text and "kms:" not in text, stack


def with_encryption(value: str, env: str = "prod", **endpoint: Any) -> Settings:
    document = local_document("http://127.0.0.1:1")
    document["environments"][env]["encryption"] = value
    document["environments"][env]["endpoint"].update(endpoint)
    return parse(document, CONFIG_PATH)


GIVEN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"


def test_a_given_key_is_used_by_its_arn_and_none_is_created(tmp_path: Path) -> None:
    settings = with_encryption(GIVEN)
    stacks = synthesize_into(tmp_path / "out", settings, settings.select(["prod"]), MODEL_SHA256)
    templates = {s.artifact_id: Path(s.template_path).read_text() for s in stacks}
    assert "AWS::KMS::Key" not in templates["prod-artifacts"]
    assert GIVEN in templates["prod-artifacts"]  # the bucket's KMSMasterKeyID
    assert templates["prod-serving"].count(GIVEN) >= 3  # volume, data capture, the role
    assert "kms:ResourceAliases" not in templates["prod-serving"]


@pytest.mark.parametrize(
    ("value", "endpoint", "expected"),
    [
        (
            f"arn:aws:kms:{OTHER_REGION}:{ACCOUNT}:key/{KEY_ID}",
            {},
            f"the key is in account {ACCOUNT}, region {OTHER_REGION}, but the environment is "
            f"account {ACCOUNT}, region {REGION}",
        ),
        (
            f"arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/{KEY_ID}",
            {},
            f"the key is in account {OTHER_ACCOUNT}, region {REGION}, but the environment is "
            f"account {ACCOUNT}",
        ),
        (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/x", {}, "is not a KMS key ARN"),
        ("aes", {}, "'aes' is not valid"),
        (
            "kms",
            {"instance_type": "ml.m5d.large"},
            "SageMaker refuses a KMS key for instance types with local storage",
        ),
        ("kms", {"instance_type": "ml.g5.xlarge"}, "'kms' with instance type 'ml.g5.xlarge'"),
    ],
)
def test_bad_encryption_is_one_line_naming_the_setting(
    value: str, endpoint: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        with_encryption(value, **endpoint)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("environments.toml: environments.prod.encryption: ")
    assert expected in message


def test_a_deploy_with_kms_encrypts_the_ledger_and_the_endpoint(aws: str, repo: Path) -> None:
    document = local_document(aws)
    document["environments"]["local"]["encryption"] = "kms"
    settings = parse(document, CONFIG_PATH)
    outcome, _ = run(settings, repo, execute=True, environ=CONFIRM)
    assert outcome.record is not None
    s3 = client(aws, "s3")
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_arn = rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    kms = client(aws, "kms")
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert re.fullmatch(r"arn:aws:kms:us-east-1:123456789012:key/[0-9a-f-]+", key_arn)
    assert aliases[f"alias/{PROJECT.name}-local"] == key_arn.rsplit("/", 1)[-1]
    assert kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"] is True
    sagemaker = client(aws, "sagemaker")
    config = sagemaker.describe_endpoint_config(
        EndpointConfigName=outcome.record.endpoint["config"]
    )
    assert config["KmsKeyId"] == f"arn:aws:kms:us-east-1:123456789012:alias/{PROJECT.name}-local"


def test_a_new_alias_is_given_the_time_kms_takes_to_authorize_by_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """KMS: "It might take up to five minutes for tag and alias changes to affect KMS key
    authorization"; the serving roles use the key by its alias, so an execute that creates
    the alias waits before the stacks that need it (on AWS; the local AWS has no delay)."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    run: Any = SimpleNamespace(out=Console(file=io.StringIO()))
    alias = Change("Add", "ArtifactsKeyAlias", "AWS::KMS::Alias", "")
    bucket = Change("Modify", "ArtifactBucket", "AWS::S3::Bucket", "False")
    pipeline._wait_for_new_alias(StackPlan("a", "t", "UPDATE", "id", (bucket,)), run)
    assert slept == []
    pipeline._wait_for_new_alias(StackPlan("a", "t", "UPDATE", "id", (bucket, alias)), run)
    assert slept == [pipeline.ALIAS_PROPAGATION_SECONDS] == [300.0]
