"""The plan: one CloudFormation change set per stack, and what each would change.

Parsing change-set descriptions into rows and rendering them are pure functions; the
functions taking a `cloudformation` client create, wait for and delete the change sets.
Real CloudFormation and moto both report a change set without changes as FAILED with a
"didn't contain changes" reason: that is a stack with nothing to do, not an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..errors import AwsError
from .aws import error_code, one_line
from .template_diff import StackDiff, diff_templates

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_CREATE_WAIT_SECONDS = 300


@dataclass(frozen=True)
class Change:
    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional, or "" where the endpoint does not say


@dataclass(frozen=True)
class StackPlan:
    stack_name: str
    template_path: str
    change_set_type: str  # CREATE (new stack) or UPDATE
    change_set_id: str | None  # None when there is nothing to change
    changes: tuple[Change, ...] = field(default_factory=tuple)
    # The live template against this one, property by property (template_diff.py): it
    # explains the rows above, which stay the authority for what CloudFormation will do.
    diff: StackDiff = field(default_factory=lambda: StackDiff(None, ()))
    # The role CloudFormation acts as (the bootstrap's execution role); None: the caller.
    role_arn: str | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class Plan:
    environment: str
    deploy_id: str
    model_sha256: str
    stacks: tuple[StackPlan, ...]

    @property
    def has_changes(self) -> bool:
        return any(stack.has_changes for stack in self.stacks)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def changes_of(description: Mapping[str, Any]) -> tuple[Change, ...]:
    """Rows from a DescribeChangeSet response (all pages merged into Changes)."""
    rows = []
    for change in description.get("Changes", []):
        resource = change.get("ResourceChange", {})
        rows.append(
            Change(
                action=str(resource.get("Action", "")),
                logical_id=str(resource.get("LogicalResourceId", "")),
                resource_type=str(resource.get("ResourceType", "")),
                replacement=str(resource.get("Replacement") or ""),
            )
        )
    return tuple(rows)


def is_no_change(description: Mapping[str, Any]) -> bool:
    reason = str(description.get("StatusReason", ""))
    return description.get("Status") == "FAILED" and any(text in reason for text in _NO_CHANGES)


def stack_status(cloudformation: Any, stack_name: str) -> str | None:
    """The stack's status, or None when it does not exist (or was deleted)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise AwsError(f"cannot describe stack {stack_name}: {one_line(error)}") from None
    status = str(stacks[0]["StackStatus"]) if stacks else None
    return None if status == "DELETE_COMPLETE" else status


def change_set_type_for(status: str | None) -> str:
    """CREATE for a new stack and for one that only has change sets (REVIEW_IN_PROGRESS:
    a first deploy whose change set failed, or an interrupted dry run), else UPDATE.

    CloudFormation counts a REVIEW_IN_PROGRESS stack as not existing: an UPDATE change set
    on it is refused ("Stack [name] does not exist"), a CREATE one is taken
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
    """
    return "CREATE" if status in {None, "REVIEW_IN_PROGRESS"} else "UPDATE"


def live_template(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    """The template the stack runs now, as deployed (GetTemplate, TemplateStage "Original":
    the template as submitted, before transforms, like the one it is compared with;
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html).
    botocore hands a JSON body back parsed; a body that is not JSON was not deployed by this
    engine."""
    try:
        body = cloudformation.get_template(StackName=stack_name, TemplateStage="Original")[
            "TemplateBody"
        ]
    except ClientError as error:
        raise AwsError(
            f"cannot read the live template of {stack_name}: {one_line(error)}"
        ) from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if not isinstance(body, dict):
        raise AwsError(
            f"the live template of {stack_name} is not JSON, so it was not deployed by this "
            "project: compare it by hand (aws cloudformation get-template) before deploying"
        )
    return body


def pending_change_sets(cloudformation: Any, stack_name: str) -> int:
    summaries = cloudformation.list_change_sets(StackName=stack_name).get("Summaries", [])
    return sum(1 for s in summaries if s.get("ExecutionStatus") == "AVAILABLE")


def _describe(cloudformation: Any, change_set_id: str) -> dict[str, Any]:
    """DescribeChangeSet once creation settled, with every page of changes."""
    deadline = time.monotonic() + _CREATE_WAIT_SECONDS
    delay = 0.2
    while True:
        description: dict[str, Any] = cloudformation.describe_change_set(
            ChangeSetName=change_set_id
        )
        if description["Status"] not in {"CREATE_PENDING", "CREATE_IN_PROGRESS"}:
            break
        if time.monotonic() > deadline:
            raise AwsError(f"change set {change_set_id} was not ready after 5 minutes")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    token = description.get("NextToken")
    while token:
        page = cloudformation.describe_change_set(ChangeSetName=change_set_id, NextToken=token)
        description["Changes"] += page.get("Changes", [])
        token = page.get("NextToken")
    return description


def create_change_set(
    cloudformation: Any,
    stack_name: str,
    template_path: Path,
    change_set_name: str,
    role_arn: str | None = None,
) -> StackPlan:
    """A change set for the template; role_arn: the role CloudFormation acts as (the
    bootstrap's execution role), else the caller's credentials."""
    status = stack_status(cloudformation, stack_name)
    change_set_type = change_set_type_for(status)
    body = template_path.read_text(encoding="utf-8")
    # Read before the change set: the diff is against what was live when it was planned.
    live = live_template(cloudformation, stack_name) if change_set_type == "UPDATE" else None
    try:
        created = cloudformation.create_change_set(
            StackName=stack_name,
            ChangeSetName=change_set_name,
            ChangeSetType=change_set_type,
            TemplateBody=body,
            Capabilities=CAPABILITIES,
            Description=f"planned by deploy {change_set_name}",
            **({"RoleARN": role_arn} if role_arn else {}),
        )
    except ClientError as error:
        raise AwsError(
            f"CloudFormation refused a change set for {stack_name}: {one_line(error)}"
        ) from None
    plan = StackPlan(
        stack_name=stack_name,
        template_path=str(template_path),
        change_set_type=change_set_type,
        change_set_id=created["Id"],
        role_arn=role_arn,
    )
    try:
        description = _describe(cloudformation, created["Id"])
        unchanged = is_no_change(description)
        if description["Status"] != "CREATE_COMPLETE" and not unchanged:
            raise AwsError(
                f"change set for {stack_name} is {description['Status']}: "
                f"{description.get('StatusReason', 'no reason given')}"
            )
        # Once CloudFormation took the template (a circular one, say, is refused there).
        plan = replace(plan, diff=diff_templates(live, json.loads(body)))
    except BaseException:
        delete_change_sets(cloudformation, [plan])  # this one is not in the caller's list yet
        raise
    return plan if unchanged else replace(plan, changes=changes_of(description))


def delete_change_sets(cloudformation: Any, stacks: Iterable[StackPlan]) -> None:
    """Remove the plan's change sets, and the empty stacks a CREATE change set made.

    Deleting a CREATE change set leaves its stack in REVIEW_IN_PROGRESS on real
    CloudFormation; deleting that stack (it has no resources) leaves AWS as it was. Deleting
    a stack deletes every change set on it, so a stack that still holds another deploy's
    change set is left alone. A stack planned with a role (a bootstrapped environment) is
    left too: its deploy role may not delete stacks, and preflight, drift and the next
    CREATE change set treat an empty REVIEW_IN_PROGRESS stack as absent.
    """
    for stack in stacks:
        if stack.change_set_id is None:
            continue
        try:
            cloudformation.delete_change_set(ChangeSetName=stack.change_set_id)
        except ClientError as error:
            if error_code(error) != "ChangeSetNotFound":
                raise AwsError(
                    f"cannot delete change set of {stack.stack_name}: {one_line(error)}"
                ) from None
        if (
            stack.role_arn is None
            and stack.change_set_type == "CREATE"
            and stack_status(cloudformation, stack.stack_name) == "REVIEW_IN_PROGRESS"
            and not cloudformation.list_change_sets(StackName=stack.stack_name).get("Summaries")
        ):
            cloudformation.delete_stack(StackName=stack.stack_name)
