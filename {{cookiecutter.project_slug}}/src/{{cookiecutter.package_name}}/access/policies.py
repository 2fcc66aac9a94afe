"""The bootstrap's IAM, as plain policy documents: pure rules over the configuration.

Split the way the CDK bootstrap splits it
(https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html): CI assumes a deploy role
that can plan and apply change sets on this environment's stacks only, and passes one
CloudFormation execution role, which alone creates what the templates declare; a read-only
role serves the release and drift workflows; the roles the stacks create live under a path
of their own and a permissions boundary.

Names, not wildcards, scope each statement wherever IAM allows it: the stacks, the artifact
and access-log buckets, the endpoint, the alarms, the dashboard, the KMS alias and the roles'
path are all fixed per environment (naming.py). Resources CloudFormation names itself (the
SageMaker Model, EndpointConfig and monitoring resources, the KMS key) are scoped by the
project and environment tags every stack puts on them: aws:RequestTag when created,
aws:ResourceTag afterwards. What IAM cannot scope at all (actions with no resource type in
the Service Authorization Reference, such as kms:CreateKey or Application Auto Scaling's)
gets "*".

The execution role's actions are the handler permissions of each resource type our
templates use, from the CloudFormation registry schemas (handlers.json), and the resources
each action takes come from the Service Authorization Reference (actions.json).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from ..bucket_layout import access_log_bucket_name, artifact_bucket_name
from ..config import ARTIFACT, PACKAGE, Environment, ModelSource, Settings
from ..infra.encryption import key_alias
from ..naming import (
    ARTIFACTS,
    STACK_PARTS,
    alarm_names,
    bootstrap_role_arn,
    bootstrap_stack_name,
    boundary_policy_name,
    endpoint_name,
    role_path,
    stack_name,
)

GITHUB_OIDC = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The operations CloudFormation performs on a stack's resources with the execution role; a
# handler's "list" permissions serve Cloud Control's ListResources, never a stack operation.
STACK_OPERATIONS = ("create", "read", "update", "delete")
# What the roles may do to a resource type's resources that drift detection reads with the
# caller's credentials (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/detect-drift-stack.html).
READ = ("read",)
# Removing a role's boundary would free it. The CDK bootstrap's example boundary denies it too
# (its DenyRemovalOfPermBoundaryFromAnyUserOrRole statement, bootstrap-template.yaml,
# https://github.com/aws/aws-cdk/pull/22792). AWS::IAM::Role's registry schema lists it for
# its update handler only (handlers.json): dropping a boundary, never creating or deleting.
NEVER = frozenset({"iam:DeleteRolePermissionsBoundary"})
# Application Auto Scaling creates this service-linked role on the first scalable target of
# a SageMaker endpoint (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html).
AUTOSCALING_SERVICE_ROLE = (
    "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
# The only "*"-resource action that can still be bounded by the request's tags.
_TAGGED_CREATES = frozenset({"kms:CreateKey"})
_TAG_ON_CREATE = frozenset({"kms:TagResource"})

Document = dict[str, Any]


@dataclass(frozen=True)
class Ledger:
    """Where an environment's ledger is: its bucket and prefix, and its KMS key's alias."""

    bucket: str
    prefix: str
    account: str
    region: str
    alias: str | None  # the key's alias where the artifacts stack creates the key
    key_arn: str | None = None  # the key config names (encryption = "<key ARN>")

    def key(self, partition: str) -> tuple[list[str], dict[str, Any]] | None:
        """(Resource, Condition) naming the environment's key: a given key by its ARN, a
        created one as key/* carrying its alias; None without a key (S3-managed)."""
        if self.key_arn is not None:
            return [self.key_arn], {}
        if self.alias is not None:
            return [f"arn:{partition}:kms:{self.region}:{self.account}:key/*"], _kms_alias(
                self.alias
            )
        return None


@dataclass(frozen=True)
class Scope:
    """Everything the policies name, for one environment."""

    partition: str
    account: str
    region: str
    project: str
    environment: str
    repository: str  # owner/name on GitHub
    branch: str  # the release branch: the read role's workflows run there
    stacks: tuple[str, ...]
    bootstrap_stack: str
    logs_bucket: str
    endpoint: str
    alarms: tuple[str, ...]
    destroy_allowed: bool
    ledger: Ledger
    promoted_from: Ledger | None
    oidc_provider: str  # "create" or the account's provider ARN
    max_session_seconds: int
    model: ModelSource  # where the environment's model comes from

    @property
    def bucket(self) -> str:
        return self.ledger.bucket

    @property
    def alias(self) -> str | None:
        """The alias of the key the artifacts stack creates."""
        return self.ledger.alias

    @property
    def key(self) -> tuple[list[str], dict[str, Any]] | None:
        return self.ledger.key(self.partition)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    def role_arn(self, role: str) -> str:
        return bootstrap_role_arn(self.project, self.environment, self.account, role)

    @property
    def boundary_arn(self) -> str:
        name = boundary_policy_name(self.project, self.environment)
        return self.arn("iam", f"policy/{name}", region=False)

    @property
    def provider_arn(self) -> str:
        if self.oidc_provider != "create":
            return self.oidc_provider
        return self.arn("iam", f"oidc-provider/{GITHUB_OIDC}", region=False)

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.environment}


def _created_key_alias(settings: Settings, environment: Environment) -> str | None:
    """The alias of the key the artifacts stack creates ("kms"); None for S3-managed keys
    and for a key config names by its ARN (no alias is made for it)."""
    encryption = environment.encryption
    if not encryption.kms or encryption.key_arn is not None:
        return None
    return key_alias(settings.project, environment)


def _ledger(settings: Settings, environment: Environment) -> Ledger:
    project = settings.project.name
    return Ledger(
        bucket=artifact_bucket_name(project, environment.name, environment.account),
        prefix=f"releases/{environment.name}/",
        account=environment.account,
        region=environment.region,
        alias=_created_key_alias(settings, environment),
        key_arn=environment.encryption.key_arn,
    )


def scope_of(settings: Settings, environment: Environment) -> Scope:
    project = settings.project
    source = environment.policy.promotion_from
    bootstrap = environment.bootstrap
    timeout = bootstrap.max_session_seconds if bootstrap else 3600
    endpoint = endpoint_name(project, environment)
    return Scope(
        partition="aws",
        account=environment.account,
        region=environment.region,
        project=project.name,
        environment=environment.name,
        repository=settings.github.repository,
        branch=settings.release.branch,
        # Every stack the environment can have, the monitoring stack too where [monitoring]
        # is not (or no longer) set: a plan must see that it still runs, and a destroy may
        # delete it (release/pipeline.py, destroy.py).
        stacks=tuple(stack_name(project, environment, part) for part in STACK_PARTS),
        bootstrap_stack=bootstrap_stack_name(project, environment),
        logs_bucket=access_log_bucket_name(project.name, environment.name, environment.account),
        endpoint=endpoint,
        alarms=alarm_names(endpoint),
        destroy_allowed=environment.policy.destroy_allowed,
        ledger=_ledger(settings, environment),
        promoted_from=_ledger(settings, settings.environment(source)) if source else None,
        oidc_provider=bootstrap.oidc_provider if bootstrap else "create",
        max_session_seconds=timeout,
        model=environment.model,
    )


@cache
def handler_permissions() -> Mapping[str, Mapping[str, Sequence[str]]]:
    """Resource type -> operation -> IAM actions (handlers.json)."""
    data = json.loads(files(__package__).joinpath("handlers.json").read_text(encoding="utf-8"))
    types: Mapping[str, Mapping[str, Sequence[str]]] = data["types"]
    return types


@cache
def action_resources() -> Mapping[str, Sequence[str] | None]:
    """IAM action -> the ARN formats it takes ("*": none); None: not an IAM action."""
    data = json.loads(files(__package__).joinpath("actions.json").read_text(encoding="utf-8"))
    actions: Mapping[str, Sequence[str] | None] = data["actions"]
    return actions


def _statement(
    sid: str,
    actions: Iterable[str],
    resources: Sequence[str],
    condition: Mapping[str, Any] | None = None,
) -> Document:
    statement: Document = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": list(resources) if len(resources) != 1 else resources[0],
    }
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def _document(statements: Iterable[Document]) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _tagged(scope: Scope, when: str) -> dict[str, Any]:
    """A condition: the request's (when="Request") or the resource's tags are this
    project's and environment's."""
    return {"StringEquals": {f"aws:{when}Tag/{k}": v for k, v in scope.tags.items()}}


def _kms_alias(alias: str) -> dict[str, Any]:
    # IAM cannot name a key by alias in Resource; kms:ResourceAliases can
    # (https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html).
    return {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}}


def _resources_for(  # noqa: PLR0911  (one answer per resource type: a table)
    scope: Scope, action: str, arn_format: str
) -> tuple[tuple[str, ...], str] | None:
    """(resources, condition kind: "" | "Request" | "Resource") for one of the action's
    resource types, or None when our templates never create that type."""
    service = arn_format.split(":")[2]
    tail = arn_format.split(":", 5)[-1]
    creates = action.split(":")[1].startswith("Create") or action.endswith(":AddTags")
    if service == "iam" and tail.startswith("role/"):
        if action == "iam:CreateServiceLinkedRole":
            return (scope.arn("iam", AUTOSCALING_SERVICE_ROLE, region=False),), ""
        path = role_path(scope.project, scope.environment)
        return (scope.arn("iam", f"role{path}*", region=False),), ""
    if service == "s3" and tail == "${BucketName}":
        return (
            f"arn:{scope.partition}:s3:::{scope.bucket}",
            f"arn:{scope.partition}:s3:::{scope.logs_bucket}",
        ), ""
    if service == "s3" and tail == "${BucketName}/${ObjectName}":
        return (
            f"arn:{scope.partition}:s3:::{scope.bucket}/*",
            f"arn:{scope.partition}:s3:::{scope.logs_bucket}/*",
        ), ""
    if service == "cloudwatch" and tail.startswith("alarm:"):
        # and the alarms target tracking makes for the endpoint's variant, named
        # TargetTracking-endpoint/<endpoint>/variant/<variant>-AlarmHigh|Low-<id>
        # (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html)
        tracking = f"alarm:TargetTracking-endpoint/{scope.endpoint}/*"
        named = [f"alarm:{name}" for name in scope.alarms]
        return tuple(scope.arn("cloudwatch", alarm) for alarm in [*named, tracking]), ""
    if service == "cloudwatch" and tail.startswith("dashboard/"):
        return (scope.arn("cloudwatch", f"dashboard/{scope.endpoint}", region=False),), ""
    if service == "kms" and tail.startswith("alias/"):
        return ((scope.arn("kms", scope.alias),) if scope.alias else ()), ""
    if service == "kms" and tail.startswith("key/"):
        # Not by its tags: a new key's tags take up to five minutes to authorize anything
        # (https://docs.aws.amazon.com/kms/latest/developerguide/abac.html), and CloudFormation
        # tags, aliases and rotates it at once. CreateKey itself carries the request's tags.
        return (scope.arn("kms", "key/*"),), ""
    if service == "application-autoscaling":
        # Scalable targets are named by generated ids; their tags are not condition keys
        # of every call, so the account's targets (https://docs.aws.amazon.com/service-authorization/latest/reference/list_applicationautoscaling.html).
        return (scope.arn("application-autoscaling", "scalable-target/*"),), ""
    if service == "sagemaker":
        kind = tail.split("/", 1)[0]
        if kind == "endpoint":
            return (scope.arn("sagemaker", f"endpoint/{scope.endpoint}"),), ""
        if kind in {
            "endpoint-config",
            "model",
            "monitoring-schedule",
            "data-quality-job-definition",
        }:
            return (scope.arn("sagemaker", f"{kind}/*"),), "Request" if creates else "Resource"
    return None


def _statements_for(scope: Scope, actions: Iterable[str], prefix: str) -> list[Document]:
    """Statements allowing actions on this environment's resources only, grouped by the
    resources and condition they share."""
    groups: dict[tuple[tuple[str, ...], str], set[str]] = {}
    table = action_resources()
    for action in sorted(set(actions) - NEVER):
        formats = table.get(action)
        if formats is None:
            continue  # not an IAM action (some schemas list API names IAM never checks)
        scoped = [f for f in formats if f != "*"]
        if not scoped:
            kind = "Request" if action in _TAGGED_CREATES else ""
            groups.setdefault((("*",), kind), set()).add(action)
            continue
        if action in _TAG_ON_CREATE:
            # Tagging a key as it is created takes TagResource on no particular key
            # (https://docs.aws.amazon.com/kms/latest/developerguide/create-keys.html#iam-policy-create-key).
            groups.setdefault((("*",), "Request"), set()).add(action)
        for arn_format in scoped:
            found = _resources_for(scope, action, arn_format)
            if found is not None and found[0]:
                groups.setdefault(found, set()).add(action)
    statements = []
    for number, ((resources, kind), grouped) in enumerate(sorted(groups.items()), start=1):
        condition = _tagged(scope, kind) if kind else None
        statements.append(_statement(f"{prefix}{number}", grouped, resources, condition))
    return statements


def template_actions(types: Iterable[str], operations: Sequence[str]) -> set[str]:
    """The handler permissions of these resource types for these operations."""
    table = handler_permissions()
    actions: set[str] = set()
    for resource_type in types:
        for operation in operations:
            actions.update(table[resource_type][operation])
    return actions


def _stack_arns(scope: Scope) -> list[str]:
    return [scope.arn("cloudformation", f"stack/{name}/*") for name in scope.stacks]


def _ledger_statements(scope: Scope, ledger: Ledger, sid: str, *, write: bool) -> list[Document]:
    bucket = f"arn:{scope.partition}:s3:::{ledger.bucket}"
    objects = f"{bucket}/*" if write else f"{bucket}/{ledger.prefix}*"
    statements = [
        _statement(
            f"{sid}List",
            ["s3:ListBucket"],
            [bucket],
            None if write else {"StringLike": {"s3:prefix": [ledger.prefix, f"{ledger.prefix}*"]}},
        ),
        _statement(
            f"{sid}Objects",
            ["s3:GetObject", *(["s3:PutObject"] if write else [])],
            [objects],
        ),
    ]
    key = ledger.key(scope.partition)
    if key is not None:
        resources, condition = key
        statements.append(
            _statement(
                f"{sid}Key",
                ["kms:Decrypt", *(["kms:GenerateDataKey"] if write else [])],
                resources,
                {
                    **condition,
                    "StringEquals": {"kms:ViaService": f"s3.{ledger.region}.amazonaws.com"},
                },
            )
        )
    return statements


def _reads(scope: Scope, types: Iterable[str]) -> list[Document]:
    """What CI reads with the deploy and read roles: the stacks, their drift (the read
    handler permissions of every resource type, with the caller's credentials), the endpoint,
    its alarms and metrics."""
    stack_reads = [
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackEvents",
        "cloudformation:DescribeStackResourceDrifts",
        "cloudformation:DescribeStackResources",
        "cloudformation:DetectStackDrift",
        "cloudformation:GetTemplate",
        "cloudformation:ListStackResources",
    ]
    return [
        _statement("StackReads", stack_reads, _stack_arns(scope)),
        # Drift detection's status has no resource type (Service Authorization Reference).
        _statement("DriftStatus", ["cloudformation:DescribeStackDriftDetectionStatus"], ["*"]),
        _statement(
            "Endpoint",
            ["sagemaker:DescribeEndpoint"],
            [scope.arn("sagemaker", f"endpoint/{scope.endpoint}")],
        ),
        _statement(
            "EndpointState",
            ["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            [scope.arn("sagemaker", "endpoint-config/*"), scope.arn("sagemaker", "model/*")],
            _tagged(scope, "Resource"),
        ),
        _statement(
            "Alarms",
            ["cloudwatch:DescribeAlarms"],
            [scope.arn("cloudwatch", f"alarm:{a}") for a in scope.alarms],
        ),
        *_statements_for(scope, template_actions(types, READ), "DriftReads"),
    ]


def deploy_policy(scope: Scope, types: Iterable[str]) -> Document:
    """The deploy role's policy: plan and apply change sets on this environment's stacks with
    the execution role, keep the ledger and the model, verify, register, and read for drift."""
    execution_role = scope.role_arn("cfn-exec")
    changes = [
        "cloudformation:DeleteChangeSet",
        "cloudformation:DescribeChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:ListChangeSets",
    ]
    with_role = ["cloudformation:CreateChangeSet"]
    group = scope.arn("sagemaker", f"model-package-group/{scope.endpoint}")
    packages = scope.arn("sagemaker", f"model-package/{scope.endpoint}/*")
    bootstrap = scope.arn("cloudformation", f"stack/{scope.bootstrap_stack}/*")
    statements = [
        *_reads(scope, types),
        # Preflight checks that the bootstrap stack is in place; it may not change it.
        _statement("Bootstrapped", ["cloudformation:DescribeStacks"], [bootstrap]),
        _statement("ChangeSets", changes, _stack_arns(scope)),
        # Every change runs as the execution role: CreateChangeSet (and DeleteStack) only
        # with it (cloudformation:RoleArn, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html).
        _statement(
            "WithTheExecutionRole",
            with_role,
            _stack_arns(scope),
            {"ArnEquals": {"cloudformation:RoleArn": execution_role}},
        ),
        *_destroy(scope, execution_role),
        # No imports: a change set importing another project's resource (its bucket, its key)
        # would put it under this environment's stacks and so under the execution role
        # (cloudformation:ImportResourceTypes, https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html).
        {
            "Sid": "NoImports",
            "Effect": "Deny",
            "Action": "cloudformation:CreateChangeSet",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringLike": {"cloudformation:ImportResourceTypes": "*"}},
        },
        _statement(
            "PassTheExecutionRole",
            ["iam:PassRole"],
            [execution_role],
            {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        ),
        *_ledger_statements(scope, scope.ledger, "Ledger", write=True),
        *(
            _ledger_statements(scope, scope.promoted_from, "PromotedFrom", write=False)
            if scope.promoted_from
            else []
        ),
        *_model_source(scope),
        _statement(
            "SmokeTest",
            ["sagemaker:InvokeEndpoint"],
            [scope.arn("sagemaker", f"endpoint/{scope.endpoint}")],
        ),
        _statement(
            "Registry",
            [
                "sagemaker:AddTags",
                "sagemaker:CreateModelPackage",
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:UpdateModelPackage",
            ],
            [group, packages],
        ),
        # No resource type in the Service Authorization Reference.
        _statement(
            "AccountReads",
            [
                "cloudwatch:GetMetricData",
                "sagemaker:ListModelPackages",
                "application-autoscaling:DescribeScalableTargets",
            ],
            ["*"],
        ),
    ]
    return _document(statements)


def _object_arn(scope: Scope, uri: str) -> str:
    """The S3 object (or, ending in "/", the prefix's objects) an s3:// URI names."""
    path = uri.removeprefix("s3://")
    return scope.arn("s3", path + ("*" if path.endswith("/") else ""), region=False, account=False)


def _model_source(scope: Scope) -> list[Document]:
    """What fetching a model trained elsewhere reads ([model], release/sources.py): an
    artifact's archive, metrics and baseline; a package group's versions and the prefix its
    training pipeline writes under (a version with files elsewhere is refused)."""
    model = scope.model
    if model.kind == ARTIFACT:
        uris = [model.uri, model.metrics, *([model.baseline] if model.baseline else [])]
        return [
            _statement("ModelArtifact", ["s3:GetObject"], [_object_arn(scope, u) for u in uris])
        ]
    if model.kind == PACKAGE:
        return [
            _statement(
                "ModelPackages",
                ["sagemaker:DescribeModelPackage"],
                [scope.arn("sagemaker", f"model-package/{model.group}/*")],
            ),
            _statement(
                "ModelPackageFiles", ["s3:GetObject"], [_object_arn(scope, model.artifacts)]
            ),
        ]
    return []


def _destroy(scope: Scope, execution_role: str) -> list[Document]:
    """`invoke destroy` deletes the serving and monitoring stacks, never the artifacts stack
    (models and ledger), as the execution role, where the policy allows destroying."""
    if not scope.destroy_allowed:
        return []
    stacks = [
        scope.arn("cloudformation", f"stack/{name}/*")
        for name in scope.stacks
        if not name.endswith(f"-{ARTIFACTS}")
    ]
    condition = {"ArnEquals": {"cloudformation:RoleArn": execution_role}}
    return [_statement("Destroy", ["cloudformation:DeleteStack"], stacks, condition)]


def read_policy(scope: Scope, types: Iterable[str]) -> Document:
    """The read-only role's policy: the ledger, the stacks and their drift, the endpoint."""
    return _document(
        [*_reads(scope, types), *_ledger_statements(scope, scope.ledger, "Ledger", write=False)]
    )


def execution_policy(scope: Scope, types: Iterable[str]) -> Document:
    """The CloudFormation execution role's policy: each resource type's handler permissions
    on this environment's resources; it may pass the stacks' roles to SageMaker only and
    make roles only under the environment's permissions boundary."""
    # iam:PassRole is granted below, to SageMaker only, never with the handlers' actions.
    actions = template_actions(types, STACK_OPERATIONS) - {"iam:PassRole"}
    statements = _statements_for(scope, actions - _BOUNDED, "Resources")
    path = role_path(scope.project, scope.environment)
    roles = scope.arn("iam", f"role{path}*", region=False)
    bounded = sorted(actions & _BOUNDED)
    if bounded:
        statements.append(
            _statement(
                "RolesUnderTheBoundary",
                bounded,
                [roles],
                {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary_arn}},
            )
        )
    # Registering the scalable target, Application Auto Scaling checks that the caller may
    # describe and scale the endpoint itself (https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html#service-linked-role-permissions-validation);
    # the registry schema does not list them.
    statements.append(
        _statement(
            "AutoscalingValidation",
            ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
            [scope.arn("sagemaker", f"endpoint/{scope.endpoint}")],
        )
    )
    key = scope.key
    if key is not None:
        # CreateEndpoint (and a monitoring job) with a KMS key: SageMaker creates grants on
        # it as the caller (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html).
        resources, condition = key
        statements += [
            _statement(
                "KeyGrantsForSageMaker",
                ["kms:CreateGrant"],
                resources,
                {**condition, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            _statement("KeyForSageMaker", ["kms:DescribeKey"], resources, condition or None),
        ]
    statements.append(
        _statement(
            "PassTheStacksRoles",
            ["iam:PassRole"],
            [roles],
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    return _document(statements)


# Actions that create a role or widen one: allowed only on roles that carry the boundary
# (iam:PermissionsBoundary, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
_BOUNDED = frozenset(
    {
        "iam:AttachRolePolicy",
        "iam:CreateRole",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
    }
)


def boundary_policy(scope: Scope) -> Document:
    """The most any role the stacks create may do: SageMaker's model and monitoring
    containers read the model and baselines, write data capture and reports, pull AWS's
    images, write their logs and metrics, and use the environment's key through S3 and
    SageMaker."""
    buckets = [
        f"arn:{scope.partition}:s3:::{scope.bucket}",
        f"arn:{scope.partition}:s3:::{scope.bucket}/*",
    ]
    statements = [
        _statement(
            "Artifacts",
            ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
            buckets,
        ),
        # AWS-owned image repositories of the region (their accounts vary by region).
        _statement(
            "Images",
            ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [f"arn:{scope.partition}:ecr:{scope.region}:*:repository/*"],
        ),
        _statement("ImageLogin", ["ecr:GetAuthorizationToken"], ["*"]),
        _statement(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [scope.arn("logs", "log-group:/aws/sagemaker/*")],
        ),
        _statement("Metrics", ["cloudwatch:PutMetricData"], ["*"]),
    ]
    key = scope.key
    if key is not None:
        resources, condition = key
        statements.append(
            _statement(
                "Key",
                [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                resources,
                condition,
            )
        )
    return _document(statements)


def github_trust(scope: Scope, subjects: Sequence[str]) -> Document:
    """Only these GitHub OIDC subjects of this repository may assume the role
    (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services)."""
    return _document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": scope.provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC}:aud": OIDC_AUDIENCE,
                        f"{GITHUB_OIDC}:sub": list(subjects) if len(subjects) > 1 else subjects[0],
                    }
                },
            }
        ]
    )


def deploy_subjects(scope: Scope) -> list[str]:
    """The deploy jobs run in the GitHub environment named after this one."""
    return [f"repo:{scope.repository}:environment:{scope.environment}"]


def read_subjects(scope: Scope) -> list[str]:
    """The drift workflow runs on the release branch in no environment; the release
    workflow's job runs in the release environment's GitHub environment (its reviewers
    approve each release)."""
    return [
        f"repo:{scope.repository}:ref:refs/heads/{scope.branch}",
        f"repo:{scope.repository}:environment:{scope.environment}",
    ]


def cloudformation_trust() -> Document:
    return _document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudformation.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    )
