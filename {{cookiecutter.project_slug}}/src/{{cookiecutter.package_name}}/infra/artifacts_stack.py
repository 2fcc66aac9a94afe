"""The artifacts stack: deployed first, it holds what every later deploy reads and writes."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..bucket_layout import artifact_bucket_name
from ..config import Environment, Project
from .artifacts_bucket import ArtifactsBucket


class ArtifactsStack(Stack):
    """The artifacts bucket of one environment (models, data capture, deploy ledger).

    Attributes: ``artifacts`` (the construct) and ``bucket``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        environment: Environment,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.artifacts = ArtifactsBucket(
            self,
            "Artifacts",
            bucket_name=artifact_bucket_name(project.name, environment.name, environment.account),
            retention=environment.artifacts,
        )
        self.bucket = self.artifacts.bucket


def import_artifacts_bucket(stack: Stack, project: Project, environment: Environment) -> s3.IBucket:
    """The environment's artifact bucket, by its fixed name (no export ties the stacks)."""
    name = artifact_bucket_name(project.name, environment.name, environment.account)
    return s3.Bucket.from_bucket_name(stack, "ArtifactBucket", name)
