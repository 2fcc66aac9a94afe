"""CloudFormation drift detection, which moto does not have, for the types our stacks use.

DetectStackDrift compares each resource's actual configuration with the one its template
expects ("the expected resource configuration ... with the actual configuration", as
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-drift.html
puts it) and answers a detection id; DescribeStackDriftDetectionStatus reports the stack as
DRIFTED or IN_SYNC once DETECTION_COMPLETE; DescribeStackResourceDrifts lists each
resource as IN_SYNC, MODIFIED (with PropertyDifferences: PropertyPath, ExpectedValue,
ActualValue, DifferenceType NOT_EQUAL), DELETED, or NOT_CHECKED for a type whose drift is
not checked (API_DescribeStackResourceDrifts, API_PropertyDifference).

Here the expected configuration is the template's properties with their intrinsic functions
resolved against the stack (moto's own resolver), and the actual one is read from the
service's backend, for the properties a console change reaches: an alarm's threshold and
evaluation, the endpoint's EndpointConfigName, a scalable target's capacities, a bucket's
versioning; a model, an endpoint config and a monitoring schedule are checked for being
there (they are immutable in place). Any other type is NOT_CHECKED, which is what AWS says
for types it cannot check. Detection completes at once (the local AWS has no time).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.utilities.utils import get_partition

NOT_CHECKED = object()  # a reader's answer for "this type is not checked"
_LOCK = threading.Lock()
_DETECTIONS: dict[str, dict[str, Any]] = {}  # detection id -> the stack's result


def reset() -> None:
    with _LOCK:
        _DETECTIONS.clear()


Reader = Callable[[str, str, Any, dict[str, Any]], Any]


def _alarm(account: str, region: str, resource: Any, expected: dict[str, Any]) -> Any:
    alarm = cloudwatch_backends[account][region].alarms.get(resource.name)
    if alarm is None:
        return None
    actual = {
        "Threshold": alarm.threshold,
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "DatapointsToAlarm": alarm.datapoints_to_alarm,
        "TreatMissingData": alarm.treat_missing_data,
        "Period": alarm.period,
    }
    return {key: value for key, value in actual.items() if key in expected}


def _endpoint(account: str, region: str, resource: Any, expected: dict[str, Any]) -> Any:
    endpoint = sagemaker_backends[account][region].endpoints.get(resource.endpoint_name)
    if endpoint is None:
        return None
    return {"EndpointConfigName": endpoint.endpoint_config_name}


def _exists(attribute: str, name: str) -> Reader:
    def read(account: str, region: str, resource: Any, expected: dict[str, Any]) -> Any:
        found = getattr(sagemaker_backends[account][region], attribute).get(getattr(resource, name))
        return None if found is None else {}

    return read


def _scalable_target(account: str, region: str, resource: Any, expected: dict[str, Any]) -> Any:
    backend = applicationautoscaling_backends[account][region]
    target = backend.targets.get(resource.dimension, {}).get(resource.resource_id)
    if target is None:
        return None
    return {"MinCapacity": target.min_capacity, "MaxCapacity": target.max_capacity}


def _bucket(account: str, region: str, resource: Any, expected: dict[str, Any]) -> Any:
    bucket = s3_backends[account][get_partition(region)].buckets.get(resource.name)
    if bucket is None:
        return None
    if "VersioningConfiguration" not in expected:
        return {}
    return {"VersioningConfiguration": {"Status": bucket.versioning_status or "Suspended"}}


READERS: dict[str, Reader] = {
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::SageMaker::Endpoint": _endpoint,
    "AWS::SageMaker::EndpointConfig": _exists("endpoint_configs", "endpoint_config_name"),
    "AWS::SageMaker::Model": _exists("_models", "model_name"),
    "AWS::ApplicationAutoScaling::ScalableTarget": _scalable_target,
    "AWS::S3::Bucket": _bucket,
}


def _same(expected: Any, actual: Any) -> bool:
    """Equal as CloudFormation compares them: numbers by value ("80" and 80.0 agree)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(_same(value, actual.get(key)) for key, value in expected.items())
    try:
        return float(expected) == float(actual)
    except (TypeError, ValueError):
        return str(expected) == str(actual)


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "PropertyPath": f"/{key}",
            "ExpectedValue": json.dumps(expected[key])
            if isinstance(expected[key], dict)
            else str(expected[key]),
            "ActualValue": json.dumps(value) if isinstance(value, dict) else str(value),
            "DifferenceType": "NOT_EQUAL",
        }
        for key, value in actual.items()
        if key in expected and not _same(expected[key], value)
    ]


def detect(stack: Any, account: str, region: str) -> dict[str, Any]:
    """Each resource of the stack compared with its template: the detection's result."""
    now = datetime.now(UTC)
    drifts = []
    for logical_id, resource_json in stack.template_dict.get("Resources", {}).items():
        resource_type = str(resource_json.get("Type", ""))
        parsed = stack.resource_map._parsed_resources.get(logical_id)
        reader = READERS.get(resource_type)
        expected = parsing.clean_json(resource_json.get("Properties", {}), stack.resource_map)
        drift: dict[str, Any] = {
            "StackId": stack.stack_id,
            "LogicalResourceId": logical_id,
            "PhysicalResourceId": str(getattr(parsed, "physical_resource_id", "") or ""),
            "ResourceType": resource_type,
            "ExpectedProperties": json.dumps(expected, sort_keys=True, default=str),
            "Timestamp": now,
        }
        actual: Any = (
            NOT_CHECKED
            if reader is None or parsed is None
            else reader(account, region, parsed, expected)
        )
        if actual is NOT_CHECKED:
            drift["StackResourceDriftStatus"] = "NOT_CHECKED"
        elif actual is None:
            drift["StackResourceDriftStatus"] = "DELETED"
        else:
            differences = _differences(expected, actual)
            drift["ActualProperties"] = json.dumps(
                {**expected, **actual}, sort_keys=True, default=str
            )
            drift["PropertyDifferences"] = differences
            drift["StackResourceDriftStatus"] = "MODIFIED" if differences else "IN_SYNC"
        drifts.append(drift)
    drifted = [d for d in drifts if d["StackResourceDriftStatus"] in {"MODIFIED", "DELETED"}]
    return {
        "StackId": stack.stack_id,
        "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
        "DetectionStatus": "DETECTION_COMPLETE",
        "DriftedStackResourceCount": len(drifted),
        "Timestamp": now,
        "drifts": drifts,
    }


def _detect_stack_drift(self: Any) -> ActionResult:
    backend = self.cloudformation_backend
    (stack,) = backend.describe_stacks(self._get_param("StackName"))
    result = detect(stack, backend.account_id, backend.region_name)
    detection_id = str(uuid.uuid4())
    with _LOCK:
        _DETECTIONS[detection_id] = result
    return ActionResult({"StackDriftDetectionId": detection_id})


def _describe_status(self: Any) -> ActionResult:
    detection_id = self._get_param("StackDriftDetectionId")
    with _LOCK:
        result = _DETECTIONS.get(detection_id)
    if result is None:
        from moto.cloudformation.exceptions import ValidationError

        raise ValidationError(message=f"Drift detection {detection_id} does not exist")
    shown = {key: value for key, value in result.items() if key != "drifts"}
    return ActionResult({**shown, "StackDriftDetectionId": detection_id})


def _describe_resource_drifts(self: Any) -> ActionResult:
    backend = self.cloudformation_backend
    (stack,) = backend.describe_stacks(self._get_param("StackName"))
    wanted = set(self._get_param("StackResourceDriftStatusFilters", []))
    with _LOCK:
        results = [r for r in _DETECTIONS.values() if r["StackId"] == stack.stack_id]
    if not results:
        return ActionResult({"StackResourceDrifts": []})
    newest = max(results, key=lambda result: result["Timestamp"])
    drifts = [
        drift
        for drift in newest["drifts"]
        if not wanted or drift["StackResourceDriftStatus"] in wanted
    ]
    return ActionResult({"StackResourceDrifts": drifts})


def install() -> None:
    """Idempotent; before the server's first request (its action look-ups are cached)."""
    response: Any = cfn_responses.CloudFormationResponse
    if getattr(response, "strict_drift_installed", False):
        return
    response.strict_drift_installed = True
    response.detect_stack_drift = _detect_stack_drift
    response.describe_stack_drift_detection_status = _describe_status
    response.describe_stack_resource_drifts = _describe_resource_drifts
