"""The strict local AWS: each behaviour it models, against its AWS documentation.

Every test talks to the server over HTTP with boto3, as the deploy engine does; the URLs in
the docstrings are the behaviour's source.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.release.strict.faults import interrupt_at

from .conftest import aws_client as client

ACCOUNT, REGION = "123456789012", "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def inject(url: str, fault: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/strict-api/faults", data=json.dumps(fault).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


def role_template(path: str, name: str = "fixed-name-role") -> str:
    role = {"RoleName": name, "Path": path, "AssumeRolePolicyDocument": TRUST}
    return json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": role}}})


def apply(cloudformation: Any, stack: str, body: str, kind: str, name: str) -> dict[str, Any]:
    """Create a change set, execute it; the stack as it settled."""
    created = cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateBody=body,
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    stacks: list[dict[str, Any]] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return stacks[0]


def events(cloudformation: Any, stack: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason), oldest first."""
    listed = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason") or "")
        for e in reversed(listed)
    ]


def test_custom_named_replacement_fails_and_rolls_back(aws: str) -> None:
    """A custom-named resource cannot be replaced under its name: "CloudFormation cannot
    update a stack when a custom-named resource requires replacing. Rename X and update the
    stack again." (https://repost.aws/knowledge-center/cloudformation-custom-name). Path is
    create-only for AWS::IAM::Role in its registry schema. A failed update rolls back:
    UPDATE_ROLLBACK_IN_PROGRESS -> UPDATE_ROLLBACK_COMPLETE
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html).
    """
    cloudformation, iam = client(aws, "cloudformation"), client(aws, "iam")
    assert apply(cloudformation, "roles", role_template("/a/"), "CREATE", "one")["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    created = cloudformation.create_change_set(
        StackName="roles",
        ChangeSetName="two",
        TemplateBody=role_template("/b/"),
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    (row,) = cloudformation.describe_change_set(ChangeSetName=created["Id"])["Changes"]
    assert row["ResourceChange"]["Replacement"] == "True"
    assert row["ResourceChange"]["Details"][0]["Target"]["Name"] == "Path"
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    stack = cloudformation.describe_stacks(StackName="roles")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    since = [e for e in events(cloudformation, "roles")][-5:]
    assert since[0][:2] == ("Role", "UPDATE_IN_PROGRESS")
    assert since[1] == (
        "Role",
        "UPDATE_FAILED",
        "CloudFormation cannot update a stack when a custom-named resource requires "
        "replacing. Rename fixed-name-role and update the stack again.",
    )
    assert [status for _, status, _ in since[2:]] == [
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]
    assert iam.get_role(RoleName="fixed-name-role")["Role"]["Path"] == "/a/"
    # Renamed, the same replacement goes through.
    renamed = apply(cloudformation, "roles", role_template("/b/", "renamed"), "UPDATE", "three")
    assert renamed["StackStatus"] == "UPDATE_COMPLETE"
    assert iam.get_role(RoleName="renamed")["Role"]["Path"] == "/b/"


def test_review_in_progress_takes_create_change_sets_only(aws: str) -> None:
    """A CREATE change set makes a stack with no template that stays REVIEW_IN_PROGRESS;
    "You can't use the UPDATE type to create a change set for a new stack"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html);
    real CloudFormation answers "Stack [name] does not exist" (aws/aws-cdk#7731)."""
    cloudformation = client(aws, "cloudformation")
    cloudformation.create_change_set(
        StackName="new",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=role_template("/"),
    )
    assert cloudformation.describe_stacks(StackName="new")["Stacks"][0]["StackStatus"] == (
        "REVIEW_IN_PROGRESS"
    )
    with pytest.raises(ClientError, match=r"Stack \[new\] does not exist"):
        cloudformation.create_change_set(
            StackName="new",
            ChangeSetName="update",
            ChangeSetType="UPDATE",
            TemplateBody=role_template("/"),
        )
    second = cloudformation.create_change_set(
        StackName="new",
        ChangeSetName="second",
        ChangeSetType="CREATE",
        TemplateBody=role_template("/"),
    )
    listed = cloudformation.list_change_sets(StackName="new")["Summaries"]
    assert sorted(c["ChangeSetName"] for c in listed) == ["first", "second"]
    # One stack, not two: the second CREATE change set is on the same stack id.
    assert {c["StackId"] for c in listed} == {second["StackId"]}
    # Executing one deletes the others ("they aren't valid for the updated stack",
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
    cloudformation.execute_change_set(ChangeSetName=second["Id"])
    listed = cloudformation.list_change_sets(StackName="new")["Summaries"]
    assert [c["ChangeSetName"] for c in listed] == ["second"]
    with pytest.raises(ClientError, match="already exists and cannot be created again"):
        cloudformation.create_change_set(
            StackName="new",
            ChangeSetName="again",
            ChangeSetType="CREATE",
            TemplateBody=role_template("/"),
        )


def test_a_failed_first_create_rolls_back_and_takes_no_change_set(aws: str) -> None:
    """ROLLBACK_COMPLETE: "Any resources that were created during the create stack operation
    are deleted ... only a delete operation can be performed" (view-stack-events.html)."""
    cloudformation = client(aws, "cloudformation")
    inject(aws, {"resource": "Role", "reason": "Resource handler returned message: boom"})
    stack = apply(cloudformation, "doomed", role_template("/"), "CREATE", "one")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert ("Role", "CREATE_FAILED", "Resource handler returned message: boom") in events(
        cloudformation, "doomed"
    )
    with pytest.raises(ClientError, match="is in ROLLBACK_COMPLETE state and can not be updated"):
        cloudformation.create_change_set(
            StackName="doomed", ChangeSetName="two", TemplateBody=role_template("/")
        )


def test_an_injected_rollback_failure_leaves_update_rollback_failed(aws: str) -> None:
    cloudformation = client(aws, "cloudformation")
    apply(cloudformation, "stuck", role_template("/", "stuck-role"), "CREATE", "one")
    inject(aws, {"resource": "Role", "reason": "denied", "rollback_fails": True})
    stack = apply(cloudformation, "stuck", role_template("/", "stuck-role2"), "UPDATE", "two")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED"


def test_replacement_follows_references(aws: str) -> None:
    """A resource that refers to a replaced one changes too, evaluated dynamically:
    Replacement Conditional (API_ResourceChange.html)."""
    cloudformation = client(aws, "cloudformation")

    def template(path: str) -> str:
        role = {"Path": path, "AssumeRolePolicyDocument": TRUST}
        policy = {
            "PolicyName": "p",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
            },
        }
        return json.dumps(
            {
                "Resources": {
                    "Role": {"Type": "AWS::IAM::Role", "Properties": role},
                    "Policy": {"Type": "AWS::IAM::Policy", "Properties": policy},
                }
            }
        )

    apply(cloudformation, "refs", template("/a/"), "CREATE", "one")
    created = cloudformation.create_change_set(
        StackName="refs",
        ChangeSetName="two",
        TemplateBody=template("/b/"),
        Capabilities=["CAPABILITY_IAM"],
    )
    rows = {
        c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
        for c in cloudformation.describe_change_set(ChangeSetName=created["Id"])["Changes"]
    }
    assert rows["Role"]["Replacement"] == "True"
    assert rows["Policy"]["Action"] == "Modify"
    assert rows["Policy"]["Details"][0]["ChangeSource"] == "ResourceReference"
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    assert cloudformation.describe_stacks(StackName="refs")["Stacks"][0]["StackStatus"] == (
        "UPDATE_COMPLETE"
    )


def test_skipped_types_exist_and_a_missing_dependency_fails(aws: str) -> None:
    """moto skips alarms, scalable targets, bucket policies and Model Monitor types; here
    they are created in their services, and a scalable target created before its endpoint
    (no DependsOn, so in parallel, DependsOn attribute docs) fails."""
    cloudformation = client(aws, "cloudformation")
    alarm = {
        "AlarmName": "errors",
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1,
        "MetricName": "Invocation5XXErrors",
        "Namespace": "AWS/SageMaker",
        "Period": 60,
        "Statistic": "Sum",
        "Threshold": 1,
    }
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/nowhere/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "MinCapacity": 1,
        "MaxCapacity": 2,
    }
    body = json.dumps(
        {
            "Resources": {
                "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm},
                "Target": {
                    "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                    "Properties": target,
                },
            }
        }
    )
    stack = apply(cloudformation, "types", body, "CREATE", "one")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [e for e in events(cloudformation, "types") if e[1] == "CREATE_FAILED"]
    assert failed[0][0] == "Target" and "does not exist" in failed[0][2]
    # The alarm was created, then deleted by the rollback.
    assert client(aws, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    alarm_only = json.dumps(
        {"Resources": {"Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm}}}
    )
    assert apply(cloudformation, "alarm", alarm_only, "CREATE", "one")["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    (listed,) = client(aws, "cloudwatch").describe_alarms()["MetricAlarms"]
    assert listed["AlarmName"] == "errors"


def test_an_unknown_resource_type_fails_the_template(aws: str) -> None:
    body = json.dumps({"Resources": {"X": {"Type": "AWS::Made::Up", "Properties": {}}}})
    with pytest.raises(ClientError, match=r"Unrecognized resource types: \[AWS::Made::Up\]"):
        client(aws, "cloudformation").create_change_set(
            StackName="x", ChangeSetName="one", ChangeSetType="CREATE", TemplateBody=body
        )


def test_call_faults_answer_with_the_errors_aws_sends(aws: str) -> None:
    """ExpiredToken ("The security token included in the request is expired") is not
    retried; Throttling is, by the SDK's retry policy (CommonErrors)."""
    cloudformation = client(aws, "cloudformation", attempts=3)
    inject(aws, {"action": "ListStacks", "error": "ExpiredToken"})
    with pytest.raises(ClientError) as raised:
        cloudformation.list_stacks()
    assert raised.value.response["Error"]["Code"] == "ExpiredToken"
    cloudformation.list_stacks()  # once only
    inject(aws, {"action": "ListStacks", "error": "Throttling", "times": 2})
    assert cloudformation.list_stacks()["ResponseMetadata"]["RetryAttempts"] == 2
    sagemaker = client(aws, "sagemaker", attempts=1)
    inject(aws, {"action": "ListEndpoints", "error": "ExpiredToken"})
    with pytest.raises(ClientError) as raised:
        sagemaker.list_endpoints()
    assert raised.value.response["Error"]["Code"] == "ExpiredTokenException"


def test_an_answer_can_be_overridden(aws: str) -> None:
    sagemaker = client(aws, "sagemaker")
    inject(aws, {"action": "ListEndpoints", "override": {"Endpoints": [{"EndpointName": "x"}]}})
    assert sagemaker.list_endpoints()["Endpoints"][0]["EndpointName"] == "x"
    assert sagemaker.list_endpoints()["Endpoints"] == []


def test_interrupt_at_raises_in_the_client_before_the_call(aws: str) -> None:
    cloudformation = client(aws, "cloudformation")
    with interrupt_at("ListStacks"), pytest.raises(KeyboardInterrupt):
        cloudformation.list_stacks()
    cloudformation.list_stacks()


def test_a_bad_fault_request_is_refused(aws: str) -> None:
    request = urllib.request.Request(
        f"{aws}/strict-api/faults", data=b'{"action": "X", "error": "Nope"}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 400
    assert "unknown error 'Nope'" in json.loads(raised.value.read())["error"]


def endpoint_template(variant: dict[str, Any], *, target: bool) -> str:
    """A model, an endpoint config with this variant, the endpoint "ep" and, with target, a
    scalable target on its variant that depends on the endpoint."""
    role = f"arn:aws:iam::{ACCOUNT}:role/serving"
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    resources: dict[str, Any] = {
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {"ExecutionRoleArn": role, "PrimaryContainer": {"Image": image}},
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "InitialVariantWeight": 1,
                        **variant,
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "ep",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
    }
    if target:
        resources["Target"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "DependsOn": ["Endpoint"],
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ResourceId": "endpoint/ep/variant/AllTraffic",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "MinCapacity": 1,
                "MaxCapacity": 2,
            },
        }
    return json.dumps({"Resources": resources})


FLEET = {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
SERVERLESS = {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}}


def test_an_instance_endpoint_does_not_become_serverless(aws: str) -> None:
    """ "If you try to update your real-time endpoint to serverless, you receive a
    ValidationError message"; the other way works
    (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html)."""
    cloudformation, sagemaker = client(aws, "cloudformation"), client(aws, "sagemaker")
    body = endpoint_template(FLEET, target=False)
    assert apply(cloudformation, "fleet", body, "CREATE", "one")["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    serverless = endpoint_template(SERVERLESS, target=False)
    stack = apply(cloudformation, "fleet", serverless, "UPDATE", "two")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in events(cloudformation, "fleet") if e[1] == "UPDATE_FAILED"]
    assert failed[0][0] == "Endpoint"
    assert "cannot be updated to a serverless endpoint configuration" in failed[0][2]
    config = sagemaker.describe_endpoint(EndpointName="ep")["EndpointConfigName"]
    (variant,) = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    assert variant["InstanceType"] == "ml.m5.large"
    # Serverless to instances is allowed, and a target added with it registers after it.
    assert apply(cloudformation, "sls", serverless.replace('"ep"', '"ep2"'), "CREATE", "one")[
        "StackStatus"
    ] == ("CREATE_COMPLETE")
    fleet = endpoint_template(FLEET, target=True)
    fleet = fleet.replace('"ep"', '"ep2"').replace("endpoint/ep/", "endpoint/ep2/")
    assert apply(cloudformation, "sls", fleet, "UPDATE", "two")["StackStatus"] == (
        "UPDATE_COMPLETE"
    )


def test_an_update_runs_in_dependency_order_and_removes_last(aws: str) -> None:
    """CloudFormation updates resources in dependency order and deletes old ones in its
    cleanup, after the updates: so an instance type change on an autoscaled variant fails
    even when the same update removes the scalable target ("If the update would change the
    instance type for any model that is a target for auto scaling, the update fails",
    https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). moto
    removed first, and this passed."""
    cloudformation = client(aws, "cloudformation")
    body = endpoint_template(FLEET, target=True)
    assert apply(cloudformation, "order", body, "CREATE", "one")["StackStatus"] == (
        "CREATE_COMPLETE"
    )
    larger = endpoint_template({**FLEET, "InstanceType": "ml.m5.xlarge"}, target=False)
    stack = apply(cloudformation, "order", larger, "UPDATE", "two")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in events(cloudformation, "order") if e[1] == "UPDATE_FAILED"]
    assert failed[0][0] == "Endpoint" and "registered with Application Auto Scaling" in failed[0][2]
