"""The artifacts bucket: model artifacts, captured requests and the deploy ledger."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..bucket_layout import ACCESS_LOGS_SUFFIX, DATA_CAPTURE_PREFIX
from ..config import ArtifactRetention
from .nag import acknowledge

# Pinned: a changed logical id would make CloudFormation replace the bucket and its ledger.
BUCKET_LOGICAL_ID = "ArtifactBucket"
ACCESS_LOGS_LOGICAL_ID = "ArtifactAccessLogs"


def _private_bucket(
    scope: Construct, id: str, key: kms.IKey | None = None, **props: Any
) -> s3.Bucket:
    """Encrypted (with key, else S3-managed), SSL-only, no public access, no ACLs, kept when
    the stack goes. With a key, S3 Bucket Keys cut its KMS requests (and their cost)."""
    encryption = (
        {"encryption": s3.BucketEncryption.KMS, "encryption_key": key, "bucket_key_enabled": True}
        if key is not None
        else {"encryption": s3.BucketEncryption.S3_MANAGED}
    )
    return s3.Bucket(
        scope,
        id,
        **encryption,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=RemovalPolicy.RETAIN,
        **props,
    )


class ArtifactsBucket(Construct):
    """A versioned, encrypted (key: a KMS key, else S3-managed), SSL-only, private bucket with
    lifecycle rules and access logs.

    Attributes: ``bucket`` (the artifacts bucket) and ``access_logs`` (its log bucket).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        retention: ArtifactRetention,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        # The log bucket stays S3-managed: S3 server access logs are delivered only to a
        # bucket whose default encryption is SSE-S3
        # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
        self.access_logs = _private_bucket(
            self,
            "AccessLogs",
            bucket_name=f"{bucket_name}{ACCESS_LOGS_SUFFIX}",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(retention.access_log_days),
                )
            ],
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This bucket receives the artifact bucket's access logs; logging it too "
            "would only log the logging.",
        )
        self.bucket = _private_bucket(
            self,
            "Bucket",
            key,
            bucket_name=bucket_name,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(retention.noncurrent_version_days),
                ),
                s3.LifecycleRule(
                    id="expire-data-capture",
                    prefix=DATA_CAPTURE_PREFIX,
                    expiration=Duration.days(retention.data_capture_days),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        _pin_logical_id(self.bucket, BUCKET_LOGICAL_ID)
        _pin_logical_id(self.access_logs, ACCESS_LOGS_LOGICAL_ID)


def _pin_logical_id(bucket: s3.Bucket, logical_id: str) -> None:
    child = bucket.node.default_child
    assert isinstance(child, s3.CfnBucket)
    child.override_logical_id(logical_id)
