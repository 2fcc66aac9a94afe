"""The bootstrap's policies, proven by evaluation: the execution role allows every action
CloudFormation's handlers need for each resource type our templates create, on this
environment's names, and denies the same on another project's or environment's; the
templates name their resources the way the policies scope them; the evaluator follows
IAM's rules."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.access import lint
from {{ cookiecutter.package_name }}.access.evaluate import Decision, Request, evaluate
from {{ cookiecutter.package_name }}.access.lint import (
    CHECK_IDS,
    IAM_ACKNOWLEDGEMENTS,
    authorization_details,
    findings_of,
    policies,
)
from {{ cookiecutter.package_name }}.access.policies import (
    AUTOSCALING_SERVICE_ROLE,
    NEVER,
    STACK_OPERATIONS,
    Scope,
    action_resources,
    boundary_policy,
    deploy_policy,
    execution_policy,
    handler_permissions,
    read_policy,
    scope_of,
)
from {{ cookiecutter.package_name }}.access.template import (
    AUTOSCALING_TYPES,
    bootstrap_template,
    resource_types,
)
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.infra.scan import (
    ScanError,
    judge,
    load_acknowledgements,
    summary,
)
from {{ cookiecutter.package_name }}.naming import boundary_policy_name, role_path

from .conftest import ENVIRONMENTS, PROJECT_ROOT

# Handler permissions that are not IAM actions (API names the schemas list; IAM checks
# another action for them, e.g. s3:PutBucketCORS for DeleteBucketCors).
NOT_IAM_ACTIONS = {
    "s3:DeleteBucketAnalyticsConfiguration",
    "s3:DeleteBucketCors",
    "s3:DeleteBucketEncryption",
    "s3:DeleteBucketLifecycle",
    "s3:DeleteBucketMetricsConfiguration",
    "s3:DeleteBucketReplication",
    "s3:PutBucketReplication",
    "s3:PutObjectLockConfiguration",
    "s3:UpdateBucketMetadataAnnotationTableConfiguration",
}
# Resource kinds our templates never create, so never granted: IAM users and groups
# (AWS::IAM::Policy can attach to them), S3 Tables, Lambda provisioned concurrency
# (Application Auto Scaling can scale it), S3 access points, and the SageMaker resource
# types AddTags/ListTags also take.
NOT_OURS = (
    "group/",
    "user/",
    "s3tables",
    ":lambda:",
    "accesspoint/",
    "access-grants",
    "storage-lens",
    "alarm-mute-rule",
    "insight-rule",
    ":slo/",
)


def sample(scope: Scope, action: str, arn_format: str) -> str | None:
    """A resource of this scope's environment of the kind arn_format names, or None for a
    kind our templates never create."""
    if any(part in arn_format for part in NOT_OURS):
        return None
    arn = (
        arn_format.replace("${Partition}", scope.partition)
        .replace("${Region}", scope.region)
        .replace("${Account}", scope.account)
    )
    kind = arn.split(":", 5)[-1]
    if kind.startswith("role/"):
        if action == "iam:CreateServiceLinkedRole":
            return scope.arn("iam", AUTOSCALING_SERVICE_ROLE, region=False)
        return scope.arn(
            "iam", f"role{role_path(scope.project, scope.environment)}Role1", region=False
        )
    names = {
        "${BucketName}/${ObjectName}": f"{scope.bucket}/models/model.tar.gz",
        "${BucketName}": scope.bucket,
        "alarm:${AlarmName}": f"alarm:{scope.alarms[0]}",
        "dashboard/${DashboardName}": f"dashboard/{scope.endpoint}",
        "alias/${Alias}": (scope.alias or "alias/none"),
        "key/${KeyId}": "key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "scalable-target/${ResourceId}": "scalable-target/0123456789abcdef",
        "endpoint/${EndpointName}": f"endpoint/{scope.endpoint}",
    }
    if kind in names:
        return arn.replace(kind, names[kind])
    if kind.split("/")[0] in {
        "endpoint-config",
        "model",
        "monitoring-schedule",
        "data-quality-job-definition",
    }:
        return arn.split("${")[0] + "generated-name-1234"
    return None


def context(scope: Scope) -> dict[str, Any]:
    tags = {**{f"aws:RequestTag/{k}": v for k, v in scope.tags.items()}}
    tags |= {f"aws:ResourceTag/{k}": v for k, v in scope.tags.items()}
    return {
        **tags,
        "iam:PermissionsBoundary": scope.boundary_arn,
        "iam:PassedToService": "sagemaker.amazonaws.com",
    }


def handler_requests(scope: Scope, types: list[str]) -> list[Request]:
    requests = []
    for resource_type in types:
        for operation in STACK_OPERATIONS:
            for action in handler_permissions()[resource_type][operation]:
                if action in NEVER or action in NOT_IAM_ACTIONS:
                    continue
                formats = action_resources()[action]
                assert formats is not None, f"{action} has no IAM data"
                scoped = [f for f in formats if f != "*"] or ["*"]
                for arn_format in scoped:
                    arn = "*" if arn_format == "*" else sample(scope, action, arn_format)
                    if arn is not None:
                        requests.append(Request(action, arn, context(scope)))
    return requests


def other(scope: Scope, project: str, environment: str) -> Scope:
    """The same shape of names for another project or environment of the account."""
    old = f"{scope.project}-{scope.environment}"
    new = f"{project}-{environment}"
    return replace(
        scope,
        project=project,
        environment=environment,
        ledger=replace(
            scope.ledger,
            bucket=scope.bucket.replace(old, new),
            alias=scope.alias.replace(old, new) if scope.alias else None,
        ),
        logs_bucket=scope.logs_bucket.replace(old, new),
        endpoint=new,
        alarms=tuple(a.replace(old, new) for a in scope.alarms),
    )


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_execution_role_allows_every_handler_action_here_and_denies_it_elsewhere(
    settings: Settings, env_name: str
) -> None:
    env = settings.environment(env_name)
    scope = scope_of(settings, env)
    types = resource_types(env)
    policy = execution_policy(scope, types)
    requests = handler_requests(scope, types)
    assert len(requests) > 150
    denied = [
        f"{r.action} on {r.resource}"
        for r in requests
        if evaluate([policy], r) is not Decision.ALLOWED
    ]
    assert not denied, "\n".join(denied)
    for project, environment in (("other-svc", env_name), (scope.project, "elsewhere")):
        stranger = other(scope, project, environment)
        allowed = sorted(
            {
                r.action
                for r in handler_requests(stranger, types)
                if r.resource != "*"
                and "scalable-target/" not in r.resource
                and ":key/" not in r.resource  # KMS keys: by no name or tag (policies.py)
                and r.action != "iam:CreateServiceLinkedRole"
                and evaluate([policy], r) is Decision.ALLOWED
            }
        )
        assert not allowed, f"allowed on {project}-{environment}'s resources: {allowed}"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_roles_are_made_only_under_the_boundary_and_passed_only_to_sagemaker(
    settings: Settings, env_name: str
) -> None:
    scope = scope_of(settings, settings.environment(env_name))
    policy = execution_policy(scope, resource_types(settings.environment(env_name)))
    role = scope.arn("iam", f"role{role_path(scope.project, scope.environment)}Role1", region=False)
    bounded = Request("iam:CreateRole", role, {"iam:PermissionsBoundary": scope.boundary_arn})
    assert evaluate([policy], bounded) is Decision.ALLOWED
    for unbounded in (
        {},
        {"iam:PermissionsBoundary": scope.arn("iam", "policy/AdministratorAccess", region=False)},
    ):
        assert evaluate([policy], replace(bounded, context=unbounded)) is Decision.IMPLICIT
    assert (
        evaluate([policy], Request("iam:DeleteRolePermissionsBoundary", role)) is Decision.IMPLICIT
    )
    passing = Request("iam:PassRole", role, {"iam:PassedToService": "sagemaker.amazonaws.com"})
    assert evaluate([policy], passing) is Decision.ALLOWED
    to_lambda = replace(passing, context={"iam:PassedToService": "lambda.amazonaws.com"})
    assert evaluate([policy], to_lambda) is Decision.IMPLICIT
    deploy_role = scope.role_arn("deploy")
    assert evaluate([policy], replace(passing, resource=deploy_role)) is Decision.IMPLICIT


def test_the_templates_create_exactly_the_types_the_bootstrap_covers_named_as_it_scopes_them(
    settings: Settings, template_json: dict[str, dict[str, Any]]
) -> None:
    for env_name in ENVIRONMENTS:
        env = settings.environment(env_name)
        scope = scope_of(settings, env)
        resources = [
            r
            for artifact, template in template_json.items()
            if artifact.startswith(f"{env_name}-")
            for r in template["Resources"].values()
        ]
        created = {r["Type"] for r in resources}
        unused = set() if env.autoscaling.enabled else AUTOSCALING_TYPES  # covered anyway
        assert created == set(resource_types(env)) - unused
        props = [(r["Type"], r.get("Properties", {})) for r in resources]
        buckets = {p.get("BucketName") for t, p in props if t == "AWS::S3::Bucket"}
        assert buckets == {scope.bucket, scope.logs_bucket}
        assert {p["AlarmName"] for t, p in props if t == "AWS::CloudWatch::Alarm"} == set(
            scope.alarms
        )
        assert [p["DashboardName"] for t, p in props if t == "AWS::CloudWatch::Dashboard"] == [
            scope.endpoint
        ]
        assert [p["EndpointName"] for t, p in props if t == "AWS::SageMaker::Endpoint"] == [
            scope.endpoint
        ]
        boundary = boundary_policy_name(scope.project, env_name)
        for t, p in props:
            if t == "AWS::IAM::Role":
                assert p["Path"] == role_path(scope.project, env_name)
                assert (boundary in json.dumps(p.get("PermissionsBoundary"))) is (
                    env.bootstrap is not None
                )
            if t.startswith("AWS::SageMaker::") or t == "AWS::KMS::Key":
                tags = {tag["Key"]: tag["Value"] for tag in p.get("Tags", [])}
                assert {k: tags.get(k) for k in scope.tags} == scope.tags, t


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_the_policies_fit_iam_s_size_limits(settings: Settings, env_name: str) -> None:
    """A role's inline policies: 10,240 characters in all; a managed policy: 6,144, spaces
    not counted (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    env = settings.environment(env_name)
    scope, types = scope_of(settings, env), resource_types(env)
    for policy in (
        deploy_policy(scope, types),
        read_policy(scope, types),
        execution_policy(scope, types),
    ):
        assert len(json.dumps(policy, separators=(",", ":"))) <= 10_240
    assert len(json.dumps(boundary_policy(scope), separators=(",", ":"))) <= 6_144
    if env.bootstrap is not None:
        template = bootstrap_template(settings, env)
        assert {"DeployRole", "ExecutionRole", "ReadRole", "PermissionsBoundary"} <= set(
            template["Resources"]
        )


# --- the evaluator -----------------------------------------------------------------------

ALLOW_BUCKET = {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}


@pytest.mark.parametrize(
    ("statements", "request_", "decision"),
    [
        ([ALLOW_BUCKET], Request("s3:GetObject", "arn:aws:s3:::b/k"), Decision.ALLOWED),
        ([ALLOW_BUCKET], Request("S3:getobject", "arn:aws:s3:::b/k"), Decision.ALLOWED),
        ([ALLOW_BUCKET], Request("s3:GetObject", "arn:aws:s3:::B/k"), Decision.IMPLICIT),
        ([ALLOW_BUCKET], Request("s3:PutObject", "arn:aws:s3:::b/k"), Decision.IMPLICIT),
        (
            [ALLOW_BUCKET, {"Effect": "Deny", "Action": "*", "Resource": "*"}],
            Request("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision.DENIED,
        ),
        (
            [{**ALLOW_BUCKET, "Condition": {"StringEquals": {"aws:ResourceTag/p": "x"}}}],
            Request("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision.IMPLICIT,
        ),
        (
            [{**ALLOW_BUCKET, "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/p": "x"}}}],
            Request("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision.ALLOWED,
        ),
        (
            [
                {
                    **ALLOW_BUCKET,
                    "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}},
                }
            ],
            Request(
                "s3:GetObject", "arn:aws:s3:::b/k", {"kms:ResourceAliases": ["alias/b", "alias/a"]}
            ),
            Decision.ALLOWED,
        ),
        (
            [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
            Request("iam:CreateRole", "*"),
            Decision.IMPLICIT,
        ),
        (
            [{"Effect": "Allow", "Action": "s3:?etObject", "Resource": "arn:aws:s3:::b/*"}],
            Request("s3:GetObject", "arn:aws:s3:::b/a/b"),
            Decision.ALLOWED,
        ),
    ],
)
def test_the_evaluator_follows_iam_s_rules(
    statements: list[dict[str, Any]], request_: Request, decision: Decision
) -> None:
    assert evaluate([{"Version": "2012-10-17", "Statement": statements}], request_) is decision


def test_a_condition_the_evaluator_does_not_know_is_an_error_not_a_pass() -> None:
    policy = {
        "Statement": [{**ALLOW_BUCKET, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]
    }
    with pytest.raises(ValueError, match="IpAddress"):
        evaluate(
            [policy], Request("s3:GetObject", "arn:aws:s3:::b/k", {"aws:SourceIp": "10.1.1.1"})
        )


# --- parliament on the policies ----------------------------------------------------------

REPORT = "\n".join(
    json.dumps(line)
    for line in (
        {
            "issue": "UNKNOWN_ACTION",
            "title": "Unknown action",
            "detail": "Unknown action s3:GetBucketAbac",
            "location": {"filepath": "prod/ExecutionRole"},
        },
        {
            "issue": "RESOURCE_MISMATCH",
            "title": "No resources match for the given action",
            "detail": [{"action": "sagemaker:CreateEndpoint", "required_format": "arn:*"}],
            "location": {"filepath": "prod/ExecutionRole"},
        },
        {
            "issue": "RESOURCE_STAR",
            "title": "Unnecessary use of Resource *",
            "detail": ["s3:GetObject"],
            "location": {"filepath": "dev/DeployRole"},
        },
    )
)


def test_parliament_s_report_becomes_findings_by_environment_and_policy() -> None:
    findings = findings_of("a warning line\n" + REPORT)
    assert [(f.environment, f.check, f.resource) for f in findings] == [
        ("prod", "UNKNOWN_ACTION", "ExecutionRole:s3:GetBucketAbac"),
        ("prod", "RESOURCE_MISMATCH", "ExecutionRole:sagemaker:CreateEndpoint"),
        ("dev", "RESOURCE_STAR", "DeployRole:s3:GetObject"),
    ]


def test_every_iam_lint_acknowledgement_has_a_reason_and_a_new_finding_fails(
    settings: Settings,
) -> None:
    acknowledgements = load_acknowledgements(
        PROJECT_ROOT / IAM_ACKNOWLEDGEMENTS, settings.environments, CHECK_IDS, "RESOURCE_STAR"
    )
    assert acknowledgements and all(len(a.reason) >= 20 for a in acknowledgements)
    verdict = judge(findings_of(REPORT), acknowledgements, ["dev", "prod"])
    assert [f.check for f in verdict.unacknowledged] == ["RESOURCE_STAR"]
    assert summary(verdict, "parliament", IAM_ACKNOWLEDGEMENTS).startswith(
        "parliament: 1 unacknowledged finding(s), first RESOURCE_STAR"
    )


def test_the_linted_policies_are_the_bootstrapped_environments_four(settings: Settings) -> None:
    documents = policies(settings)
    bootstrapped = [name for name, env in settings.environments.items() if env.bootstrap]
    assert sorted({env for env, _ in documents}) == sorted(bootstrapped)
    assert {policy for _, policy in documents} == {
        "DeployRole",
        "ExecutionRole",
        "ReadRole",
        "PermissionsBoundary",
    }
    details = authorization_details(documents)
    assert len(details["RoleDetailList"]) == len(documents)


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_what_the_handlers_do_not_list_but_aws_documents_is_allowed_here_only(
    settings: Settings, env_name: str
) -> None:
    """Application Auto Scaling validates that the caller may scale the endpoint itself, and
    target tracking makes alarms of its own; SageMaker creates grants on a KMS key as the
    caller of CreateEndpoint."""
    env = settings.environment(env_name)
    scope = scope_of(settings, env)
    policy = execution_policy(scope, resource_types(env))
    endpoint = scope.arn("sagemaker", f"endpoint/{scope.endpoint}")
    tracking = scope.arn(
        "cloudwatch",
        f"alarm:TargetTracking-endpoint/{scope.endpoint}/variant/AllTraffic-AlarmHigh-1a2b",
    )
    for request in (
        Request("sagemaker:UpdateEndpointWeightsAndCapacities", endpoint),
        Request("cloudwatch:PutMetricAlarm", tracking),
    ):
        assert evaluate([policy], request) is Decision.ALLOWED, request
        elsewhere = replace(request, resource=request.resource.replace(scope.endpoint, "other-x"))
        assert evaluate([policy], elsewhere) is Decision.IMPLICIT, elsewhere
    grant = Request(
        "kms:CreateGrant",
        env.encryption.key_arn or scope.arn("kms", "key/1234"),
        {"kms:GrantIsForAWSResource": "true", "kms:ResourceAliases": [scope.alias or ""]},
    )
    expected = Decision.ALLOWED if env.encryption.kms else Decision.IMPLICIT
    assert evaluate([policy], grant) is expected
    not_for_aws = replace(grant, context={**grant.context, "kms:GrantIsForAWSResource": "false"})
    assert evaluate([policy], not_for_aws) is Decision.IMPLICIT


def test_the_deploy_role_may_not_import_resources_into_its_stacks(settings: Settings) -> None:
    env = settings.environment("prod")
    scope = scope_of(settings, env)
    policy = deploy_policy(scope, resource_types(env))
    stack = scope.arn("cloudformation", f"stack/{scope.stacks[0]}/id")
    plan = Request(
        "cloudformation:CreateChangeSet",
        stack,
        {"cloudformation:RoleArn": scope.role_arn("cfn-exec")},
    )
    assert evaluate([policy], plan) is Decision.ALLOWED
    importing = replace(
        plan, context={**plan.context, "cloudformation:ImportResourceTypes": ["AWS::KMS::Key"]}
    )
    assert evaluate([policy], importing) is Decision.DENIED
    without_role = replace(plan, context={})
    assert evaluate([policy], without_role) is Decision.IMPLICIT


@pytest.mark.parametrize(
    ("operator", "pattern", "context", "holds"),
    [
        ("ForAnyValue:StringNotEquals", "a", {}, False),  # no value: no value matches
        ("ForAllValues:StringEquals", "a", {}, True),  # no value: none fails
        ("StringNotEquals", "a", {}, True),
        ("ArnEquals", "arn:aws:iam::1:role/*", {"k": "arn:aws:iam::1:role/x"}, True),
        ("ArnLike", "arn:aws:iam::*:role/*", {"k": "arn:aws:iam::1:role/x"}, True),
        ("ArnLike", "arn:aws:i*:role/*", {"k": "arn:aws:iam::1:role/x"}, False),  # not across :
    ],
)
def test_conditions_hold_as_iam_says(
    operator: str, pattern: str, context: dict[str, str], holds: bool
) -> None:
    key = "k" if context else "absent"
    policy = {"Statement": [{**ALLOW_BUCKET, "Condition": {operator: {key: pattern}}}]}
    decision = evaluate([policy], Request("s3:GetObject", "arn:aws:s3:::b/k", context))
    assert (decision is Decision.ALLOWED) is holds


def test_a_report_line_without_a_location_is_still_a_finding() -> None:
    line = json.dumps({"issue": "RESOURCE_STAR", "title": "t", "detail": ["s3:GetObject"]})
    assert [f.resource for f in findings_of(line)] == [":s3:GetObject"]


def test_parliament_that_does_not_run_is_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = subprocess.CompletedProcess(["parliament"], 2, "", "Traceback ...\nImportError: x\n")
    monkeypatch.setattr(lint, "_parliament", lambda details: failed)
    with pytest.raises(ScanError) as raised:
        lint.run_parliament(settings)
    assert str(raised.value) == "parliament 1.6.4 did not run (exit 2): ImportError: x"
    garbled = subprocess.CompletedProcess(["parliament"], 1, "{not json\n", "")
    monkeypatch.setattr(lint, "_parliament", lambda details: garbled)
    with pytest.raises(ScanError, match=r"^parliament's report is not what it documents"):
        lint.run_parliament(settings)
