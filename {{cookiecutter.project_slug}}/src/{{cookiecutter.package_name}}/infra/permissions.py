"""IAM for the SageMaker containers: a role, and grants that know their cdk-nag findings.

Each Grant pairs a statement with the wildcard resources in it, written the way cdk-nag
names them, so allow() acknowledges exactly those wildcards and a new one still fails synth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..config import Environment
from .nag import acknowledge_wildcards, partition


@dataclass(frozen=True)
class Grant:
    statement: iam.PolicyStatement
    wildcards: tuple[str, ...] = ()


def sagemaker_role(scope: Construct, description: str) -> tuple[iam.Role, iam.Policy]:
    """A role SageMaker assumes, and the policy that holds its permissions.

    The policy is its own resource so whatever needs the permissions in place (a Model, a
    monitoring job) can depend on it.
    """
    role = iam.Role(
        scope,
        "ExecutionRole",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description=description,
    )
    return role, iam.Policy(scope, "ExecutionPolicy", roles=[role])


def _objects(action: str, bucket: s3.IBucket, key_pattern: str) -> Grant:
    """`action` on the artifact bucket's objects matching key_pattern."""
    statement = iam.PolicyStatement(
        actions=[action], resources=[bucket.arn_for_objects(key_pattern)]
    )
    rendered = f"arn:{partition(bucket)}:s3:::{bucket.bucket_name}/{key_pattern}"
    return Grant(statement, (rendered,) if "*" in key_pattern else ())


def read_objects(bucket: s3.IBucket, key_pattern: str) -> Grant:
    return _objects("s3:GetObject", bucket, key_pattern)


def write_objects(bucket: s3.IBucket, key_pattern: str) -> Grant:
    return _objects("s3:PutObject", bucket, key_pattern)


def pull_image(stack: Stack, repository_arn: str) -> list[Grant]:
    """Pull the images of one ECR repository; GetAuthorizationToken has no resource level."""
    return [
        Grant(
            iam.PolicyStatement(
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[repository_arn],
            )
        ),
        Grant(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]), ("*",)),
    ]


def write_logs(stack: Stack, environment: Environment, log_groups: str) -> Grant:
    """Write to the log groups SageMaker names (log_groups ends in a wildcard)."""
    arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_groups,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    rendered = (
        f"arn:{partition(stack)}:logs:{environment.region}:{environment.account}:log-group:"
        f"{log_groups}"
    )
    return Grant(
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[arn],
        ),
        (rendered,),
    )


def put_metrics(operator: str, namespace: str) -> Grant:
    """PutMetricData has no resource level; a namespace condition bounds it."""
    return Grant(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={operator: {"cloudwatch:namespace": namespace}},
        ),
        ("*",),
    )


def allow(policy: iam.Policy, grants: Iterable[Grant], reason: str) -> None:
    """Add the grants' statements and acknowledge exactly their wildcards, with reason."""
    wildcards: list[str] = []
    for grant in grants:
        policy.add_statements(grant.statement)
        wildcards += [w for w in grant.wildcards if w not in wildcards]
    acknowledge_wildcards(policy, reason, resources=wildcards)
