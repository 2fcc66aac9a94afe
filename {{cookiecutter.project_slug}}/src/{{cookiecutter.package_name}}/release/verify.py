"""After a deploy: is the endpoint InService, serving the config and model this deploy made?

The intended EndpointConfig is the one the serving stack now holds (its physical id, read
with DescribeStackResources: moto reports no Outputs after a CREATE); the model is checked
by the sha256 tag and the artifact URL. A smoke invocation sends the sample request; the
answer must be the handler's JSON, scores and all. Only the embedded local AWS, which runs
no serving container (moto answers every invocation with a canned body), is excused the
scores, and the verify line says so and what it did check.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..bucket_layout import model_key
from ..model.inference import SAMPLE_CONTENT_TYPE, check_response, sample_request
from ..naming import MODEL_SHA256_TAG
from .aws import Aws, one_line
from .ledger import Failure

_ENDPOINT = "AWS::SageMaker::Endpoint"
_ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"


@dataclass(frozen=True)
class Verified:
    endpoint: str
    endpoint_config: str
    smoke: str


def _name(physical_id: str) -> str:
    """A SageMaker resource's physical id is its ARN (name lowercased); we need the name."""
    return physical_id.rsplit("/", 1)[-1] if physical_id.startswith("arn:") else physical_id


def logical_ids(template_path: Path, resource_type: str) -> list[str]:
    template = json.loads(template_path.read_text(encoding="utf-8"))
    return [
        logical_id
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    ]


def physical_names(cloudformation: Any, stack_name: str) -> dict[str, str]:
    resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    return {
        str(r["LogicalResourceId"]): _name(str(r["PhysicalResourceId"]))
        for r in resources
        if r.get("LogicalResourceId") and r.get("PhysicalResourceId")
    }


class _NotServing(Exception):
    """Why the endpoint is not serving what this deploy intended (one line)."""


def verify_endpoint(
    aws: Aws,
    *,
    stack_name: str,
    template_path: Path,
    model_sha256: str,
    timeout_seconds: float,
) -> Verified | Failure:
    sagemaker = aws.client("sagemaker")
    try:
        names = physical_names(aws.client("cloudformation"), stack_name)
        (endpoint_id,) = logical_ids(template_path, _ENDPOINT)
        (config_id,) = logical_ids(template_path, _ENDPOINT_CONFIG)
        if endpoint_id not in names or config_id not in names:
            raise _NotServing(f"{stack_name} has no endpoint or endpoint config resource")
        endpoint, intended_config = names[endpoint_id], names[config_id]
        described = _wait_in_service(sagemaker, endpoint, timeout_seconds)
        config = _check_serving(sagemaker, described, intended_config, model_sha256)
        smoke = _smoke(aws.client("sagemaker-runtime"), endpoint, local=aws.is_local)
    except _NotServing as problem:
        return Failure(stack=stack_name, resource="endpoint", reason=str(problem))
    return Verified(endpoint=endpoint, endpoint_config=config, smoke=smoke)


def _wait_in_service(sagemaker: Any, endpoint: str, timeout_seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    while True:
        described: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint)
        status = described["EndpointStatus"]
        if status == "InService":
            return described
        if status in {"Failed", "OutOfService", "Deleting"}:
            raise _NotServing(f"{endpoint} is {status}: {described.get('FailureReason', '')}")
        if time.monotonic() > deadline:
            raise _NotServing(f"{endpoint} still {status} after {timeout_seconds:.0f} s")
        time.sleep(10)


def _check_serving(
    sagemaker: Any, described: dict[str, Any], intended_config: str, model_sha256: str
) -> str:
    """The endpoint config's name as SageMaker spells it, once it checks out.

    The intended name comes from the stack's physical id, an ARN, and SageMaker lowercases
    the name in ARNs while DescribeEndpoint keeps the case it was created with: names are
    compared casefolded.
    """
    endpoint = described["EndpointName"]
    config_name = str(described["EndpointConfigName"])
    if config_name.casefold() != intended_config.casefold():
        raise _NotServing(
            f"{endpoint} serves {described['EndpointConfigName']}, not this deploy's "
            f"{intended_config} (a deployment may have rolled back on an alarm)"
        )
    tags = {
        tag["Key"]: tag["Value"]
        for tag in sagemaker.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    }
    if tags.get(MODEL_SHA256_TAG) != model_sha256:
        raise _NotServing(
            f"{endpoint} is tagged model {tags.get(MODEL_SHA256_TAG)}, not {model_sha256}"
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    url = model["PrimaryContainer"]["ModelDataUrl"]
    if not url.endswith(model_key(model_sha256)):
        raise _NotServing(f"{endpoint}'s model reads {url}, not {model_key(model_sha256)}")
    return config_name


# What the smoke step says on the local AWS: it must not read as a scored answer.
LOCAL_SMOKE = (
    "not scored: the local AWS does not run the serving container, so its answer "
    "({size} bytes of {kind}) is not the handler's; checked: InService, this deploy's "
    "endpoint config, the model-sha256 tag and artifact; the handler itself is tested by "
    "tests/test_model_inference.py"
)


def _smoke(runtime: Any, endpoint: str, *, local: bool) -> str:
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint,
            ContentType=SAMPLE_CONTENT_TYPE,
            Accept="application/json",
            Body=sample_request(),
        )
    except ClientError as error:
        raise _NotServing(f"smoke invocation: {one_line(error)}") from None
    body = response["Body"].read()
    if response.get("ContentType") != "application/json":
        kind = response.get("ContentType") or "no content type"
        if local:
            return LOCAL_SMOKE.format(size=len(body), kind=kind)
        # On SageMaker the container answers: anything but the handler's JSON is not ours.
        raise _NotServing(
            f"smoke invocation answered {len(body)} bytes of {kind}, not the handler's JSON"
        )
    try:
        scores = check_response(body, rows=2)
    except ValueError as error:
        raise _NotServing(f"smoke invocation: {error}") from None
    return "scored the sample: " + ", ".join(f"{score:.3f}" for score in scores)
