"""Executing a change set as real CloudFormation reports it: per-resource events, a rollback.

moto reports only stack-level events and never rolls back, so this path is driven by
botocore's Stubber with the shapes real CloudFormation returns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber

from {{ cookiecutter.package_name }}.release.execute import execute_change_set
from {{ cookiecutter.package_name }}.release.plan import Change, StackPlan

STACK = "app-prod-serving"
CHANGE_SET = "arn:aws:cloudformation:us-east-1:333333333333:changeSet/deploy-x/1"
STACK_ID = "arn:aws:cloudformation:us-east-1:333333333333:stack/app-prod-serving/1"
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def event(number: int, logical_id: str, status: str, reason: str = "") -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "StackId": STACK_ID,
        "EventId": f"event-{number}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::SageMaker::Endpoint",
        "Timestamp": T0 + timedelta(seconds=number),
        "ResourceStatus": status,
    }
    if reason:
        shaped["ResourceStatusReason"] = reason
    return shaped


def stack(status: str) -> dict[str, Any]:
    return {
        "Stacks": [
            {"StackName": STACK, "StackStatus": status, "CreationTime": T0, "StackId": STACK_ID}
        ]
    }


def test_per_resource_events_are_streamed_and_the_failure_is_named() -> None:
    cloudformation: Any = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).client("cloudformation")
    old = event(1, STACK, "UPDATE_COMPLETE")
    started = event(2, STACK, "UPDATE_IN_PROGRESS", "User Initiated")
    endpoint = event(3, "Endpoint", "UPDATE_IN_PROGRESS")
    failed = event(4, "Endpoint", "UPDATE_FAILED", "Alarm app-prod-errors-5xx fired")
    rollback = event(5, STACK, "UPDATE_ROLLBACK_COMPLETE")
    with Stubber(cloudformation) as stub:
        by_stack = {"StackName": STACK}
        stub.add_response("describe_stack_events", {"StackEvents": [old]}, by_stack)
        stub.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET})
        stub.add_response(
            "describe_stack_events", {"StackEvents": [endpoint, started, old]}, by_stack
        )
        stub.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), by_stack)
        stub.add_response(
            "describe_stack_events",
            {"StackEvents": [rollback, failed, endpoint, started, old]},
            by_stack,
        )
        stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"), by_stack)
        stub.add_response("describe_stack_events", {"StackEvents": [rollback, failed]}, by_stack)
        lines: list[str] = []
        failure = execute_change_set(
            cloudformation,
            StackPlan(
                STACK, "t.json", "UPDATE", CHANGE_SET, (Change("Modify", "E", "T", "False"),)
            ),
            timeout_seconds=60,
            report=lines.append,
            poll_seconds=0.01,
        )
        stub.assert_no_pending_responses()
    assert lines == [
        f"{STACK} UPDATE_IN_PROGRESS: User Initiated",
        "Endpoint UPDATE_IN_PROGRESS",
        "Endpoint UPDATE_FAILED: Alarm app-prod-errors-5xx fired",
        f"{STACK} UPDATE_ROLLBACK_COMPLETE",
    ]
    assert failure is not None
    assert (failure.stack, failure.resource) == (STACK, "Endpoint")
    assert failure.reason == "Alarm app-prod-errors-5xx fired"


def test_a_stack_that_settles_complete_is_a_success() -> None:
    cloudformation: Any = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    ).client("cloudformation")
    with Stubber(cloudformation) as stub:
        by_stack = {"StackName": STACK}
        stub.add_response("describe_stack_events", {"StackEvents": []}, by_stack)
        stub.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET})
        stub.add_response(
            "describe_stack_events", {"StackEvents": [event(1, STACK, "UPDATE_COMPLETE")]}, by_stack
        )
        stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"), by_stack)
        lines: list[str] = []
        failure = execute_change_set(
            cloudformation,
            StackPlan(STACK, "t.json", "UPDATE", CHANGE_SET),
            timeout_seconds=60,
            report=lines.append,
        )
    assert failure is None and lines == [f"{STACK} UPDATE_COMPLETE"]
