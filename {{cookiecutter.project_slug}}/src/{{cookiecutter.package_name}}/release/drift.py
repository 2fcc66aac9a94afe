"""Drift: is what runs in AWS what the ledger says the engine left there?

Three questions per environment, each against the ledger, never against the working tree:

- **Templates.** Each stack's live template (GetTemplate) against the template of the last
  record whose execute changed that stack (its change set ran), fetched from that record's
  bundle: equal by content (template_diff.template_sha256), or the property diff between
  them. A stack the last such record is a destroy of must be absent. Someone who updated a
  stack by hand, or deleted it, shows here.
- **Resources.** CloudFormation's own drift detection (DetectStackDrift, then
  DescribeStackResourceDrifts for MODIFIED and DELETED resources): a property changed in the
  console (an alarm's threshold, the endpoint moved to another config) while the template
  stayed. CloudFormation does not undo such a change on the next update unless the template
  changes that very property
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-drift.html),
  so a deploy or a rollback over it would leave it in place.
- **The endpoint.** What it serves (live.py) against what the newest record left live.

Deciding drift is pure (the functions over records and answers below); reading AWS and the
ledger is done once, by `read_drift`. `invoke drift` prints the report (exit 2 on drift);
a deploy's preflight reports it and the environment's policy.refuse_drift decides whether
it refuses.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ..config import Environment, Settings
from ..errors import AwsError
from ..naming import endpoint_name, stack_names
from .aws import Aws, one_line
from .ledger import DESTROY, DeployRecord, Ledger, Outcome, newest_first
from .live import LiveState, left_live, read_live
from .plan import live_template, stack_status
from .template_diff import diff_templates, template_sha256

IN_SYNC = "in sync"
DRIFTED_RESOURCE_STATES = ("MODIFIED", "DELETED")
_DETECTION_POLL_SECONDS = 2.0
_DETECTION_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Expected:
    """What the ledger says a stack should be: the template of `deploy_id`, or absent (a
    destroy), or nothing known (no record ever changed it)."""

    deploy_id: str | None
    template_sha256: str | None  # the sha256 of the record's template file; None: absent
    absent: bool = False


def expected_stacks(records: Sequence[DeployRecord], names: Sequence[str]) -> dict[str, Expected]:
    """For each stack (records newest first): the newest record that changed it decides."""
    expected: dict[str, Expected] = {}
    for name in names:
        for record in records:
            if record.kind == DESTROY and name in record.destroyed:
                expected[name] = Expected(record.deploy_id, None, absent=True)
                break
            if record.kind != DESTROY and name in record.change_sets:
                expected[name] = Expected(record.deploy_id, record.templates.get(name))
                break
        else:
            expected[name] = Expected(None, None)
    return expected


def expected_endpoint(records: Sequence[DeployRecord]) -> tuple[str | None, LiveState | None]:
    """(the record, what it left live) for the newest record that knows; (id, None) after
    a destroy; (None, None) when no record says."""
    for record in records:
        if record.kind == DESTROY and record.outcome is Outcome.SUCCEEDED:
            return record.deploy_id, None
        state = left_live(record)
        if state is not None:
            return record.deploy_id, state
    return None, None


@dataclass(frozen=True)
class Difference:
    path: str  # "/Threshold", or a template_diff path
    expected: str
    actual: str


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    resource_type: str
    status: str  # MODIFIED, DELETED (CloudFormation's), or the template diff's action
    differences: tuple[Difference, ...] = ()


@dataclass(frozen=True)
class StackDrift:
    stack: str
    expected_from: str | None  # the record whose template (or destroy) is expected
    template: str  # in sync, differs, missing, unexpected (destroyed but present), unknown
    template_changes: tuple[ResourceDrift, ...] = ()
    resources: tuple[ResourceDrift, ...] = ()  # CloudFormation's drift detection
    detection: str = ""  # CloudFormation's StackDriftStatus, or why it could not run
    # False when CloudFormation could not check every resource (DETECTION_FAILED: "failed
    # for at least one resource", or no answer in time): then IN_SYNC would be a guess.
    checked: bool = True

    @property
    def drifted(self) -> bool:
        return self.template not in {IN_SYNC, "unknown"} or bool(self.resources)

    def resources_said(self, limit: int | None = None) -> str:
        """'LogicalId STATUS, ...' of the drifted resources (the first `limit`); "" if none."""
        return ", ".join(f"{r.logical_id} {r.status}" for r in self.resources[:limit])

    @property
    def blocking(self) -> bool:
        """Drift a deploy would leave in place: a missing stack is not, the deploy makes it."""
        return self.template in {"differs", "unexpected"} or bool(self.resources)


@dataclass(frozen=True)
class EndpointDrift:
    endpoint: str
    expected_from: str | None
    expected: Mapping[str, str] | None  # None: absent (or unknown when expected_from is None)
    actual: Mapping[str, str] | None  # None: absent

    @property
    def drifted(self) -> bool:
        if self.expected_from is None:
            return False
        if self.expected is None or self.actual is None:
            return (self.expected is None) != (self.actual is None)
        want = LiveState(self.expected["endpoint_config"], self.expected.get("model_sha256", ""))
        have = LiveState(self.actual["endpoint_config"], self.actual.get("model_sha256", ""))
        return not want.matches(have)


@dataclass(frozen=True)
class DriftReport:
    environment: str
    stacks: tuple[StackDrift, ...]
    endpoint: EndpointDrift
    records: int = field(default=0)  # how many records the ledger had

    @property
    def drifted(self) -> bool:
        return self.endpoint.drifted or any(stack.drifted for stack in self.stacks)

    @property
    def blocking(self) -> bool:
        """Drift a deploy would not undo (policy.refuse_drift refuses it): changed templates
        and resources, an endpoint on another config; not what is missing, which it makes."""
        endpoint = self.endpoint.drifted and self.endpoint.actual is not None
        return endpoint or any(stack.blocking for stack in self.stacks)

    @property
    def unchecked(self) -> tuple[str, ...]:
        """The stacks CloudFormation could not fully check."""
        return tuple(stack.stack for stack in self.stacks if not stack.checked)

    def to_json(self) -> str:
        return json.dumps(
            {**asdict(self), "drifted": self.drifted, "unchecked": list(self.unchecked)},
            indent=2,
            sort_keys=True,
        )

    def summary(self) -> str:
        """One line: what drifted, for a refusal or a CI log."""
        parts = []
        for stack in self.stacks:
            if stack.template not in {IN_SYNC, "unknown"}:
                parts.append(f"{stack.stack}'s template {stack.template}")
            if stack.resources:
                parts.append(f"{stack.stack}: {stack.resources_said(3)}")
        if self.endpoint.drifted:
            parts.append(f"{self.endpoint.endpoint} {_endpoint_words(self.endpoint)}")
        return "; ".join(parts) if parts else f"{self.environment} is in sync with its ledger"


def _endpoint_words(endpoint: EndpointDrift) -> str:
    if endpoint.actual is None:
        return "is missing"
    if endpoint.expected is None:
        return f"exists, but {endpoint.expected_from} destroyed it"
    return (
        f"serves {endpoint.actual.get('endpoint_config')}, not "
        f"{endpoint.expected.get('endpoint_config')} ({endpoint.expected_from})"
    )


def endpoint_line(endpoint: EndpointDrift) -> str:
    if endpoint.expected_from is None:
        return f"endpoint {endpoint.endpoint}: no record says what it should serve"
    if not endpoint.drifted:
        serving = endpoint.actual.get("endpoint_config") if endpoint.actual else "nothing"
        return (
            f"endpoint {endpoint.endpoint}: {IN_SYNC} (serves {serving}, as "
            f"{endpoint.expected_from} left it)"
        )
    return f"endpoint {endpoint.endpoint}: DRIFTED: {_endpoint_words(endpoint)}"


# --- reading AWS and the ledger ---------------------------------------------------------------


def read_drift(
    settings: Settings,
    environment: Environment,
    aws: Aws,
    ledger: Ledger,
    *,
    pending: Sequence[DeployRecord] = (),
    wait_seconds: float = _DETECTION_TIMEOUT_SECONDS,
) -> DriftReport:
    """The environment's drift, read once (see the module docstring). pending: records kept
    on disk that the ledger does not have yet (recording.py): they count, as they happened.
    wait_seconds bounds the wait for CloudFormation's detection (a rollback waits less)."""
    records = newest_first([*ledger.records(), *pending])
    names = stack_names(settings.project, environment)
    expected = expected_stacks(records, names)
    cloudformation = aws.client("cloudformation")
    # A stack that only holds change sets (REVIEW_IN_PROGRESS) has no resources: CloudFormation
    # counts it as not existing (plan.change_set_type_for), and so does drift.
    present = {
        name
        for name in names
        if stack_status(cloudformation, name) not in {None, "REVIEW_IN_PROGRESS"}
    }
    detections = _start_detections(cloudformation, sorted(present))
    stacks = tuple(
        _stack_drift(
            cloudformation,
            ledger,
            name,
            expected[name],
            present=name in present,
            detection=(detections.get(name, ""), wait_seconds),
        )
        for name in names
    )
    endpoint = endpoint_name(settings.project, environment)
    expected_from, state = expected_endpoint(records)
    live = read_live(aws.client("sagemaker"), endpoint)
    return DriftReport(
        environment=environment.name,
        stacks=stacks,
        endpoint=EndpointDrift(
            endpoint=endpoint,
            expected_from=expected_from,
            expected=state.as_record() if state is not None else None,
            actual=live.as_record() if live is not None else None,
        ),
        records=len(records),
    )


def _start_detections(cloudformation: Any, names: Sequence[str]) -> dict[str, str]:
    """Start CloudFormation's drift detection on each stack (they run side by side)."""
    started = {}
    for name in names:
        try:
            answer = cloudformation.detect_stack_drift(StackName=name)
        except ClientError as error:
            raise AwsError(f"cannot detect drift of {name}: {one_line(error)}") from None
        started[name] = str(answer["StackDriftDetectionId"])
    return started


def _stack_drift(
    cloudformation: Any,
    ledger: Ledger,
    name: str,
    expected: Expected,
    *,
    present: bool,
    detection: tuple[str, float],
) -> StackDrift:
    if not present:
        template = IN_SYNC if expected.absent or expected.deploy_id is None else "missing"
        return StackDrift(name, expected.deploy_id, template)
    said, resources, checked = _detected(cloudformation, name, *detection)
    found: dict[str, Any] = {"resources": resources, "detection": said, "checked": checked}
    if expected.absent:
        return StackDrift(name, expected.deploy_id, "unexpected", **found)
    if expected.deploy_id is None:
        return StackDrift(name, None, "unknown", **found)
    recorded = _recorded_template(ledger, expected, name)
    live = live_template(cloudformation, name)
    if template_sha256(live) == template_sha256(recorded):
        return StackDrift(name, expected.deploy_id, IN_SYNC, **found)
    changes = tuple(
        ResourceDrift(
            logical_id=diff.logical_id,
            resource_type=diff.resource_type,
            status=diff.action,
            differences=tuple(
                Difference(change.path, _shown(change.before), _shown(change.after))
                for change in diff.properties
            ),
        )
        for diff in diff_templates(recorded, live).resources
    )
    return StackDrift(name, expected.deploy_id, "differs", changes, **found)


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _recorded_template(ledger: Ledger, expected: Expected, name: str) -> dict[str, Any]:
    """The template the record deployed, from its bundle, checked against its sha256."""
    assert expected.deploy_id is not None
    path = f"templates/{name}.template.json"
    body = ledger.bundle_file(expected.deploy_id, path)
    if body is None:
        raise AwsError(
            f"the bundle of {expected.deploy_id} has no {path} in "
            f"{ledger.url(expected.deploy_id)}; restore it from the bucket's object versions"
        )
    if expected.template_sha256 and hashlib.sha256(body).hexdigest() != expected.template_sha256:
        raise AwsError(
            f"{ledger.url(expected.deploy_id)}bundle/{path} is not the template its record "
            "names (sha256 differs); restore it from the bucket's object versions"
        )
    try:
        template: dict[str, Any] = json.loads(body)
    except ValueError as error:
        raise AwsError(
            f"{ledger.url(expected.deploy_id)}bundle/{path} is not JSON ({error}); restore it "
            "from the bucket's object versions"
        ) from None
    return template


def _detected(
    cloudformation: Any, name: str, detection_id: str, wait_seconds: float
) -> tuple[str, tuple[ResourceDrift, ...], bool]:
    """Wait for a stack's drift detection: (its StackDriftStatus, the drifted resources,
    whether every resource was checked)."""
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            status = cloudformation.describe_stack_drift_detection_status(
                StackDriftDetectionId=detection_id
            )
            if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            if time.monotonic() > deadline:
                return f"detection still in progress after {wait_seconds:.0f} s", (), False
            time.sleep(_DETECTION_POLL_SECONDS)
        drifts = cloudformation.describe_stack_resource_drifts(
            StackName=name, StackResourceDriftStatusFilters=list(DRIFTED_RESOURCE_STATES)
        )["StackResourceDrifts"]
    except ClientError as error:
        raise AwsError(f"cannot read the drift of {name}: {one_line(error)}") from None
    resources = tuple(
        ResourceDrift(
            logical_id=str(drift["LogicalResourceId"]),
            resource_type=str(drift["ResourceType"]),
            status=str(drift["StackResourceDriftStatus"]),
            differences=tuple(
                Difference(
                    str(difference["PropertyPath"]),
                    str(difference.get("ExpectedValue", "")),
                    str(difference.get("ActualValue", "")),
                )
                for difference in drift.get("PropertyDifferences", [])
            ),
        )
        for drift in drifts
    )
    # DETECTION_FAILED still reports what it could check ("some resources ... could not be
    # checked", API_DescribeStackDriftDetectionStatus): said, not hidden.
    said = str(status.get("StackDriftStatus", ""))
    checked = status["DetectionStatus"] == "DETECTION_COMPLETE"
    if not checked:
        reason = status.get("DetectionStatusReason", "")
        said = f"{said} (detection failed for some resources: {reason})"
    return said, resources, checked
