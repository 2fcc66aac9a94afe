"""The bootstrap stack's CloudFormation template: plain data from the configuration.

Only IAM resources, so no CDK: what `invoke bootstrap` plans is exactly this document. Per
environment (`<project>-<env>-bootstrap`), deployed once by an account admin:

- the GitHub OIDC provider, where config says "create" (one per account);
- the deploy role (CI's, in the GitHub environment of the same name), the CloudFormation
  execution role every deploy passes, and the read-only role (release and drift workflows);
- the permissions boundary every role the stacks create carries.
"""

from __future__ import annotations

from typing import Any

from ..config import Environment, Settings
from ..naming import (
    DEPLOY_ROLE,
    EXECUTION_ROLE,
    READ_ROLE,
    bootstrap_role_name,
    boundary_policy_name,
)
from .policies import (
    GITHUB_OIDC,
    OIDC_AUDIENCE,
    Scope,
    boundary_policy,
    cloudformation_trust,
    deploy_policy,
    deploy_subjects,
    execution_policy,
    github_trust,
    handler_permissions,
    read_policy,
    read_subjects,
    scope_of,
)

# The resource types only the Model Monitor stack has.
MONITORING_TYPES = frozenset(
    {"AWS::SageMaker::DataQualityJobDefinition", "AWS::SageMaker::MonitoringSchedule"}
)
# The resource types only an autoscaled endpoint has. The bootstrap covers them even where
# the endpoint has none (autoscaling.enabled = false, or serverless), so that turning
# autoscaling on, or serving on instances again, needs no new bootstrap.
AUTOSCALING_TYPES = frozenset(
    {"AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy"}
)
# The resource types only an environment whose artifacts stack creates its key has.
KEY_TYPES = frozenset({"AWS::KMS::Key", "AWS::KMS::Alias"})
# Output names: `invoke bootstrap` prints them as the GitHub variables to set.
OUTPUTS = {
    "DeployRoleArn": "DeployRole",
    "ExecutionRoleArn": "ExecutionRole",
    "ReadRoleArn": "ReadRole",
}


def resource_types(environment: Environment) -> list[str]:
    """The resource types the environment's stacks create, and AUTOSCALING_TYPES always (a
    test holds this to the synthesized templates)."""
    types = set(handler_permissions())
    if environment.monitoring is None:
        types -= MONITORING_TYPES
    if not environment.encryption.kms or environment.encryption.key_arn is not None:
        types -= KEY_TYPES  # S3-managed keys, or a key the environment was given
    return sorted(types)


def _after(depends: list[str], resource: dict[str, Any]) -> dict[str, Any]:
    return {**resource, "DependsOn": depends} if depends else resource


def _role(
    scope: Scope,
    role: str,
    trust: dict[str, Any],
    policy: dict[str, Any],
    description: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": bootstrap_role_name(scope.project, scope.environment, role),
            "Description": description,
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": role, "PolicyDocument": policy}],
            "Tags": [{"Key": k, "Value": v} for k, v in scope.tags.items()],
            **extra,
        },
    }


def bootstrap_template(settings: Settings, environment: Environment) -> dict[str, Any]:
    scope = scope_of(settings, environment)
    types = resource_types(environment)
    env = f"{scope.project} {scope.environment}"
    depends = ["GitHubProvider"] if scope.oidc_provider == "create" else []
    resources: dict[str, Any] = {}
    if depends:
        resources["GitHubProvider"] = {
            "Type": "AWS::IAM::OIDCProvider",
            "Properties": {"Url": f"https://{GITHUB_OIDC}", "ClientIdList": [OIDC_AUDIENCE]},
        }
    resources["PermissionsBoundary"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "ManagedPolicyName": boundary_policy_name(scope.project, scope.environment),
            "Description": f"The most any role of {env}'s stacks may do",
            "PolicyDocument": boundary_policy(scope),
        },
    }
    resources["ExecutionRole"] = _role(
        scope,
        EXECUTION_ROLE,
        cloudformation_trust(),
        execution_policy(scope, types),
        f"CloudFormation creates {env}'s resources as this role",
    )
    # IAM refuses a trust policy naming a provider that does not exist yet.
    resources["DeployRole"] = _after(
        depends,
        _role(
            scope,
            DEPLOY_ROLE,
            github_trust(scope, deploy_subjects(scope)),
            deploy_policy(scope, types),
            f"CI deploys {env} as this role",
            MaxSessionDuration=scope.max_session_seconds,
        ),
    )
    resources["ReadRole"] = _after(
        depends,
        _role(
            scope,
            READ_ROLE,
            github_trust(scope, read_subjects(scope)),
            read_policy(scope, types),
            f"CI reads {env}'s ledger and checks its drift as this role",
        ),
    )
    outputs = {
        output: {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}}
        for output, logical_id in OUTPUTS.items()
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{env}: CI's roles and CloudFormation's execution role (invoke bootstrap)",
        "Resources": resources,
        "Outputs": outputs,
    }
