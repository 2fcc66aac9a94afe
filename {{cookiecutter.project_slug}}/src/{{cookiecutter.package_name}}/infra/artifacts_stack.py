"""The artifacts stack: deployed first, it holds what every later deploy reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..bucket_layout import LEDGER_PREFIX, artifact_bucket_name
from ..config import Environment, Project
from .artifacts_bucket import ArtifactsBucket
from .encryption import create_key


class ArtifactsStack(Stack):
    """The artifacts bucket of one environment (models, data capture, deploy ledger).

    Attributes: ``artifacts`` (the construct), ``bucket`` and ``key`` (the environment's KMS
    key, None with S3-managed encryption).

    ledger_readers are the accounts of environments promoted from this one: their deploys
    must read this environment's ledger (releases/<env>/) to check the promotion order.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        environment: Environment,
        ledger_readers: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.key = create_key(self, project, environment, ledger_readers)
        self.artifacts = ArtifactsBucket(
            self,
            "Artifacts",
            bucket_name=artifact_bucket_name(project.name, environment.name, environment.account),
            retention=environment.artifacts,
            key=self.key,
        )
        self.bucket = self.artifacts.bucket
        if ledger_readers:
            self._share_ledger(environment, ledger_readers)

    def _share_ledger(self, environment: Environment, accounts: Sequence[str]) -> None:
        """Read-only: list and get under this environment's ledger prefix, nothing else."""
        ledger = f"{LEDGER_PREFIX}{environment.name}/"
        principals: list[iam.IPrincipal] = [iam.AccountPrincipal(a) for a in accounts]
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PromotionReadsLedger",
                principals=principals,
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{ledger}*")],
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PromotionListsLedger",
                principals=principals,
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{ledger}*"]}},
            )
        )


def import_artifacts_bucket(stack: Stack, project: Project, environment: Environment) -> s3.IBucket:
    """The environment's artifact bucket, by its fixed name (no export ties the stacks)."""
    name = artifact_bucket_name(project.name, environment.name, environment.account)
    return s3.Bucket.from_bucket_name(stack, "ArtifactBucket", name)
