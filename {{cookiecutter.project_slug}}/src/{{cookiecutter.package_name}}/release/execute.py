"""Execute one change set and follow its stack until it settles, printing its events.

Real CloudFormation reports an event per resource; moto reports only stack-level events
and settles immediately. Both are read the same way: new events (by id) are printed as
they arrive, and the stack status decides success. A failure names the first failed
resource and its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .aws import one_line
from .ledger import Failure
from .plan import StackPlan

_SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}


def _event_key(event: dict[str, Any]) -> str:
    return str(
        event.get("EventId")
        or (event.get("Timestamp"), event.get("LogicalResourceId"), event.get("ResourceStatus"))
    )


def _new_events(cloudformation: Any, stack_name: str, seen: set[str]) -> list[dict[str, Any]]:
    """Events not printed yet, oldest first (the API returns newest first)."""
    events = cloudformation.describe_stack_events(StackName=stack_name).get("StackEvents", [])
    fresh = [event for event in events if _event_key(event) not in seen]
    seen.update(_event_key(event) for event in fresh)
    return list(reversed(fresh))


def _failure(stack_name: str, events: list[dict[str, Any]], status: str) -> Failure:
    for event in events:
        if str(event.get("ResourceStatus", "")).endswith("_FAILED") and event.get(
            "ResourceStatusReason"
        ):
            return Failure(
                stack=stack_name,
                resource=str(event.get("LogicalResourceId", stack_name)),
                reason=str(event["ResourceStatusReason"]),
            )
    return Failure(stack=stack_name, resource=stack_name, reason=f"stack ended {status}")


def execute_change_set(
    cloudformation: Any,
    stack: StackPlan,
    *,
    timeout_seconds: float,
    report: Callable[[str], None],
    poll_seconds: float = 5.0,
) -> Failure | None:
    """Execute and wait; None on success, else what failed."""
    assert stack.change_set_id is not None
    # Events already there belong to earlier operations.
    seen: set[str] = set()
    try:
        _new_events(cloudformation, stack.stack_name, seen)
        cloudformation.execute_change_set(ChangeSetName=stack.change_set_id)
    except ClientError as error:
        return Failure(stack=stack.stack_name, resource=stack.stack_name, reason=one_line(error))
    deadline = time.monotonic() + timeout_seconds
    history: list[dict[str, Any]] = []
    delay = 0.1
    while True:
        for event in _new_events(cloudformation, stack.stack_name, seen):
            history.append(event)
            reason = event.get("ResourceStatusReason")
            report(
                f"{event.get('LogicalResourceId', '')} {event.get('ResourceStatus', '')}"
                + (f": {reason}" if reason else "")
            )
        status = str(
            cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]["StackStatus"]
        )
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            return Failure(
                stack=stack.stack_name,
                resource=stack.stack_name,
                reason=f"still {status} after {timeout_seconds:.0f} s; it goes on in "
                "CloudFormation: watch it there before deploying again",
            )
        time.sleep(delay)
        delay = min(delay * 2, poll_seconds)
    if status in _SUCCEEDED:
        return None
    history += _new_events(cloudformation, stack.stack_name, seen)
    return _failure(stack.stack_name, history, status)
