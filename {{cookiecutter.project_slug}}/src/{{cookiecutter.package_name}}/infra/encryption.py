"""The environment's KMS key (config `encryption`): created, aliased, in the artifacts stack;
named by its alias everywhere else, so no export ties the stacks together.

SageMaker takes an alias ARN wherever it takes a key (EndpointConfig's KmsKeyId, its data
capture's, a monitoring job's output and volume: "Alias name ARN: arn:aws:kms:...:alias/
ExampleAlias", https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html).
IAM cannot name a key by its alias in a policy's Resource, so the roles may use "key/*" only
where the key carries this environment's alias (the kms:ResourceAliases condition,
https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html). A key given by
its ARN in config is named by that ARN.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..config import Environment, Project
from .nag import partition
from .permissions import Grant

KEY_LOGICAL_ID = "ArtifactKey"  # pinned: a new logical id would replace the key


def key_alias(project: Project, environment: Environment) -> str:
    return f"alias/{project.name}-{environment.name}"


def create_key(
    scope: Construct,
    project: Project,
    environment: Environment,
    ledger_readers: Sequence[str] = (),
) -> kms.IKey | None:
    """The key the artifacts stack encrypts with: None for S3-managed encryption, the key
    config names, or a new one (rotated yearly, kept when the stack goes) with the alias.

    Accounts that read this environment's ledger (promotion) may decrypt through S3 only."""
    encryption = environment.encryption
    if not encryption.kms:
        return None
    if encryption.key_arn is not None:
        return kms.Key.from_key_arn(scope, "GivenKey", encryption.key_arn)
    key = kms.Key(
        scope,
        "Key",
        alias=key_alias(project, environment),
        description=f"Encrypts {project.name}'s {environment.name} models, ledger, captured "
        "requests, endpoint volumes and monitoring reports",
        enable_key_rotation=True,
        rotation_period=Duration.days(365),
        removal_policy=RemovalPolicy.RETAIN,
    )
    child = key.node.default_child
    assert isinstance(child, kms.CfnKey)
    child.override_logical_id(KEY_LOGICAL_ID)
    if ledger_readers:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PromotionDecryptsLedger",
                principals=[iam.AccountPrincipal(account) for account in ledger_readers],
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{environment.region}.amazonaws.com"}
                },
            )
        )
    return key


def key_id(stack: Stack, project: Project, environment: Environment) -> str | None:
    """What a KmsKeyId property takes: the configured key's ARN, the alias's ARN, or None."""
    encryption = environment.encryption
    if not encryption.kms:
        return None
    if encryption.key_arn is not None:
        return encryption.key_arn
    return stack.format_arn(service="kms", resource=key_alias(project, environment))


def use_key(
    stack: Stack, project: Project, environment: Environment, actions: Sequence[str]
) -> list[Grant]:
    """A role's use of the environment's key: [] without one."""
    encryption = environment.encryption
    if not encryption.kms:
        return []
    if encryption.key_arn is not None:
        return [Grant(iam.PolicyStatement(actions=list(actions), resources=[encryption.key_arn]))]
    rendered = f"arn:{partition(stack)}:kms:{environment.region}:{environment.account}:key/*"
    statement = iam.PolicyStatement(
        actions=list(actions),
        resources=[stack.format_arn(service="kms", resource="key", resource_name="*")],
        conditions={
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": key_alias(project, environment)}
        },
    )
    return [Grant(statement, (rendered,))]
