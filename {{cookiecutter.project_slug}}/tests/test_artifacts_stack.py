"""The artifacts stack of every environment: a private, versioned, SSL-only bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.infra.artifacts_bucket import (
    ACCESS_LOGS_LOGICAL_ID,
    BUCKET_LOGICAL_ID,
)
from {{ cookiecutter.package_name }}.infra.encryption import KEY_LOGICAL_ID

from .conftest import ENVIRONMENTS, resources_of_type

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


SSE_S3 = {
    "ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
}
SSE_KMS = {
    "ServerSideEncryptionConfiguration": [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [KEY_LOGICAL_ID, "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bucket_is_versioned_encrypted_private_and_logged(
    templates: dict[str, Template], settings: Settings, env: str
) -> None:
    kms = settings.environment(env).encryption.kms
    templates[f"{env}-artifacts"].has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": SSE_KMS if kms else SSE_S3,
            "PublicAccessBlockConfiguration": BLOCK_ALL,
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": ACCESS_LOGS_LOGICAL_ID},
                "LogFilePrefix": "artifacts/",
            },
        },
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_both_buckets_refuse_plain_http(template_json: dict[str, Any], env: str) -> None:
    policies = resources_of_type(template_json[f"{env}-artifacts"], "AWS::S3::BucketPolicy")
    protected = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                assert statement["Action"] == "s3:*"
                protected.add(policy["Properties"]["Bucket"]["Ref"])
    assert protected == {BUCKET_LOGICAL_ID, ACCESS_LOGS_LOGICAL_ID}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lifecycle_rules_follow_config(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    retention = settings.environment(env).artifacts
    bucket = template_json[f"{env}-artifacts"]["Resources"][BUCKET_LOGICAL_ID]
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": retention.noncurrent_version_days
    }
    assert rules["expire-data-capture"]["Prefix"] == "datacapture/"
    assert rules["expire-data-capture"]["ExpirationInDays"] == retention.data_capture_days
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    logs = template_json[f"{env}-artifacts"]["Resources"][ACCESS_LOGS_LOGICAL_ID]
    (log_rule,) = logs["Properties"]["LifecycleConfiguration"]["Rules"]
    assert log_rule["ExpirationInDays"] == retention.access_log_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stateful_logical_ids_are_pinned_and_retained(
    template_json: dict[str, Any], env: str
) -> None:
    # Deliberate: renaming these ids would make CloudFormation replace the buckets (and
    # with them the ledger). Change them only with a migration plan.
    resources = template_json[f"{env}-artifacts"]["Resources"]
    for logical_id in ("ArtifactBucket", "ArtifactAccessLogs"):
        assert resources[logical_id]["Type"] == "AWS::S3::Bucket"
        assert resources[logical_id]["DeletionPolicy"] == "Retain"
        assert resources[logical_id]["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_bucket_name_is_fixed_so_later_stacks_and_tools_know_it(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    bucket = template_json[f"{env}-artifacts"]["Resources"][BUCKET_LOGICAL_ID]
    account = settings.environment(env).account
    assert bucket["Properties"]["BucketName"] == f"{settings.project.name}-{env}-{account}"


def test_no_exports_lock_the_bucket(template_json: dict[str, Any]) -> None:
    for artifact, template in template_json.items():
        assert "Outputs" not in template or not any(
            "Export" in output for output in template["Outputs"].values()
        ), artifact


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_promoted_environments_may_read_only_this_ledger(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    readers = sorted(
        {
            other.account
            for other in settings.environments.values()
            if other.policy.promotion_from == env
            and other.account != settings.environment(env).account
        }
    )
    statements = [
        statement
        for policy in resources_of_type(
            template_json[f"{env}-artifacts"], "AWS::S3::BucketPolicy"
        ).values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid", "").startswith("Promotion")
    ]
    if not readers:
        assert statements == []
        return
    assert {s["Sid"]: s["Action"] for s in statements} == {
        "PromotionReadsLedger": "s3:GetObject",
        "PromotionListsLedger": "s3:ListBucket",
    }
    for statement in statements:
        shown = json.dumps(statement)
        assert all(f":iam::{account}:root" in shown for account in readers)
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"releases/{env}/*"]}}
    (reading,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert f"/releases/{env}/*" in json.dumps(reading["Resource"])
