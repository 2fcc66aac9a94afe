"""The artifacts stack: deployed first, it holds what every later deploy reads and writes."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnParameter, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ..bucket_layout import bucket_parameter_name
from ..config import Environment, Project
from .artifacts_bucket import ArtifactsBucket

# The logical id of the parameter through which later stacks receive the bucket name.
BUCKET_PARAMETER = "ArtifactBucketName"


class ArtifactsStack(Stack):
    """The artifacts bucket of one environment (models, data capture, deploy ledger).

    Attributes: ``artifacts`` (the construct), ``bucket`` and ``bucket_parameter``.
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
        self.artifacts = ArtifactsBucket(self, "Artifacts", retention=environment.artifacts)
        self.bucket = self.artifacts.bucket
        self.bucket_parameter = ssm.StringParameter(
            self,
            "BucketNameParameter",
            parameter_name=bucket_parameter_name(project.name, environment.name),
            string_value=self.bucket.bucket_name,
            description=f"Artifact bucket of {project.name} {environment.name}",
        )


def import_artifacts_bucket(stack: Stack, project: Project, environment: Environment) -> s3.IBucket:
    """The environment's artifact bucket, resolved from SSM when the stack deploys."""
    name = CfnParameter(
        stack,
        BUCKET_PARAMETER,
        type="AWS::SSM::Parameter::Value<String>",
        default=bucket_parameter_name(project.name, environment.name),
        description="SSM parameter holding the artifact bucket name (set by the artifacts stack)",
    )
    return s3.Bucket.from_bucket_name(stack, "ArtifactBucket", name.value_as_string)
