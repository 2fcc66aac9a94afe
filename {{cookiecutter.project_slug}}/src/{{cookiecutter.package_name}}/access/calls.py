"""The IAM requests behind recorded AWS calls: what a policy must allow for them to pass.

The strict local AWS records each call (release/strict/server.py: service, action, the
caller's access key, parameters); this module names, for each, the IAM action and the
resource ARN IAM checks, with the condition keys the request carries, as the Service
Authorization Reference defines them
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
A call it cannot map raises: a new call must be mapped (and allowed) before it can pass.

Some requests have no call of their own: CreateChangeSet with a RoleARN also needs
iam:PassRole on that role
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from .evaluate import Request

# Calls no policy governs: GetCallerIdentity needs no permission
# (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
UNAUTHORIZED = frozenset({("sts", "GetCallerIdentity")})


class UnmappedCall(ValueError):
    """A recorded call this module does not know how to authorize."""


@dataclass(frozen=True)
class Where:
    account: str
    region: str
    partition: str = "aws"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


def _stack_arn(where: Where, name_or_id: str) -> str:
    if name_or_id.startswith("arn:"):
        return name_or_id
    return where.arn("cloudformation", f"stack/{name_or_id}/id")  # a real id is a UUID


def _cloudformation(
    where: Where, action: str, params: Mapping[str, Any], change_sets: Mapping[str, str]
) -> list[Request]:
    stack = params.get("StackName") or change_sets.get(params.get("ChangeSetName", ""), "")
    if not stack:
        if action in {"DescribeStackDriftDetectionStatus"}:
            return [Request(f"cloudformation:{action}", "*")]
        raise UnmappedCall(f"cloudformation:{action} names no stack")
    arn = _stack_arn(where, str(stack))
    context: dict[str, str] = {}
    extra: list[Request] = []
    if action in {"CreateChangeSet", "DeleteStack"} and params.get("RoleARN"):
        role = str(params["RoleARN"])
        context["cloudformation:RoleArn"] = role
        extra.append(
            Request("iam:PassRole", role, {"iam:PassedToService": "cloudformation.amazonaws.com"})
        )
    return [Request(f"cloudformation:{action}", arn, context), *extra]


_LISTING = {"list-type", "prefix", "delimiter", "continuation-token", "encoding-type"}


def _s3(call: Mapping[str, Any]) -> list[Request]:
    """S3's REST calls (path style): the action is the method and the query's subresource
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html)."""
    method, path = call["method"], unquote(call["path"]).lstrip("/")
    query = parse_qs(call["query"], keep_blank_values=True)
    query.pop("x-id", None)  # boto3 names the operation there; S3 ignores it
    bucket, _, key = path.partition("/")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        if method in {"GET", "HEAD"} and set(query) <= _LISTING:
            prefix = query.get("prefix", [""])[0]
            return [Request("s3:ListBucket", bucket_arn, {"s3:prefix": prefix} if prefix else {})]
        if method == "GET" and "versioning" in query:
            return [Request("s3:GetBucketVersioning", bucket_arn)]
    else:
        objects = f"{bucket_arn}/{key}"
        if method in {"GET", "HEAD"} and not query:
            return [Request("s3:GetObject", objects)]
        if method in {"GET", "HEAD"} and set(query) == {"versionId"}:
            return [Request("s3:GetObjectVersion", objects)]
        if method == "PUT" and not query:
            return [Request("s3:PutObject", objects)]
        if method == "DELETE" and not query:
            return [Request("s3:DeleteObject", objects)]
    raise UnmappedCall(f"s3 {method} /{path}?{call['query']}")


# SageMaker: the parameter naming each action's resource, and the ARN's resource type.
_SAGEMAKER = {
    "DescribeEndpoint": ("EndpointName", "endpoint"),
    "InvokeEndpoint": ("", "endpoint"),
    "UpdateEndpoint": ("EndpointName", "endpoint"),
    "DescribeEndpointConfig": ("EndpointConfigName", "endpoint-config"),
    "DescribeModel": ("ModelName", "model"),
    "CreateModelPackageGroup": ("ModelPackageGroupName", "model-package-group"),
    "DescribeModelPackageGroup": ("ModelPackageGroupName", "model-package-group"),
    "CreateModelPackage": ("ModelPackageGroupName", "model-package"),
    "DescribeModelPackage": ("ModelPackageName", "model-package"),
    "UpdateModelPackage": ("ModelPackageArn", "model-package"),
    "ListTags": ("ResourceArn", ""),
    "AddTags": ("ResourceArn", ""),
}
# Tag-scoped resource types: their requests carry the resource's tags (aws:ResourceTag).
_TAGGED = frozenset({"endpoint-config", "model"})
_UNSCOPED = frozenset(
    {
        ("sagemaker", "ListModelPackages"),
        ("monitoring", "GetMetricData"),
        ("application-autoscaling", "DescribeScalableTargets"),
    }
)


def _sagemaker(where: Where, call: Mapping[str, Any]) -> list[Request]:
    action, params = call["action"], call["params"] or {}
    if action not in _SAGEMAKER:
        raise UnmappedCall(f"sagemaker:{action}")
    parameter, kind = _SAGEMAKER[action]
    if action == "InvokeEndpoint":  # sagemaker-runtime: POST /endpoints/<name>/invocations
        name = unquote(call["path"].split("/")[2])
    else:
        name = str(params[parameter])
    if name.startswith("arn:"):
        arn = name
    elif kind == "model-package":  # a new version of the group: model-package/<group>/<n>
        arn = where.arn("sagemaker", f"model-package/{name.lower()}/1")
    else:
        arn = where.arn("sagemaker", f"{kind}/{name.lower()}")  # SageMaker lowercases ARNs
    context: dict[str, str] = {}
    if kind in _TAGGED:
        # The tags the resource had when the call was made (the recorder keeps them).
        tags: Mapping[str, str] = call.get("resource_tags") or {}
        context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    return [Request(f"sagemaker:{action}", arn, context)]


def _cloudwatch(where: Where, action: str, params: Mapping[str, Any]) -> list[Request]:
    if action == "DescribeAlarms":
        names = params.get("AlarmNames") or [
            v for k, v in params.items() if k.startswith("AlarmNames.member.")
        ]
        if not names:
            raise UnmappedCall("cloudwatch:DescribeAlarms without AlarmNames")
        return [
            Request("cloudwatch:DescribeAlarms", where.arn("cloudwatch", f"alarm:{n}"))
            for n in names
        ]
    raise UnmappedCall(f"cloudwatch:{action}")


_IAM_PREFIX = {"monitoring": "cloudwatch"}  # signing name -> IAM service prefix


def requests_of(
    calls: Sequence[Mapping[str, Any]], where: Where
) -> Iterator[tuple[Mapping[str, Any], Request]]:
    """Each recorded call's IAM requests, in order (calls made before: their change-set ids)."""
    change_sets: dict[str, str] = {}
    for call in calls:
        service, action = call["service"], call["action"]
        params: Mapping[str, Any] = call["params"] or {}
        if (service, action) in UNAUTHORIZED:
            continue
        if (service, action) in _UNSCOPED:
            requests = [Request(f"{_IAM_PREFIX.get(service, service)}:{action}", "*")]
        elif service == "cloudformation":
            requests = _cloudformation(where, action, params, change_sets)
            answer = call.get("answer") or {}
            if "Id" in answer and "StackId" in answer:
                change_sets[answer["Id"]] = answer["StackId"]
        elif service == "s3":
            requests = _s3(call)
        elif service == "sagemaker":
            requests = _sagemaker(where, call)
        elif service == "monitoring":
            requests = _cloudwatch(where, action, params)
        else:
            raise UnmappedCall(f"{service}:{action}")
        for request in requests:
            yield call, request
