"""What the live endpoint's variants run, and what a template would make them run.

The deploy reads both before it creates a change set, for the endpoint updates that
SageMaker refuses and CloudFormation cannot work around: "If the update would change the
instance type for any model that is a target for auto scaling, the update fails"
(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html), and "You
cannot convert your instance-based, real-time endpoint to a serverless endpoint. If you try
to update your real-time endpoint to serverless, you receive a ValidationError message"
(https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..config import SERVERLESS
from ..errors import AwsError
from .aws import Aws, one_line


def runs_on(variant: Mapping[str, Any]) -> str:
    """A production variant's instance type, or SERVERLESS for a serverless one."""
    if variant.get("ServerlessConfig"):
        return SERVERLESS
    return str(variant.get("InstanceType", ""))


@dataclass(frozen=True)
class LiveEndpoint:
    instance_types: dict[str, str]  # variant -> instance type, or SERVERLESS
    autoscaled: frozenset[str]  # variants registered with Application Auto Scaling


@dataclass(frozen=True)
class PlannedEndpoint:
    instance_types: dict[str, str]  # variant -> instance type, or SERVERLESS
    retains: bool  # the Endpoint keeps the live variants' properties on update


def planned_endpoint(template_path: Path) -> PlannedEndpoint:
    """What a serving template's EndpointConfig runs each variant on, and whether its
    Endpoint keeps the live variants' properties (RetainAllVariantProperties)."""
    template = json.loads(template_path.read_text(encoding="utf-8"))
    resources = template.get("Resources", {}).values()
    return PlannedEndpoint(
        instance_types={
            str(variant["VariantName"]): runs_on(variant)
            for resource in resources
            if resource.get("Type") == "AWS::SageMaker::EndpointConfig"
            for variant in resource.get("Properties", {}).get("ProductionVariants", [])
        },
        retains=any(
            str(resource.get("Properties", {}).get("RetainAllVariantProperties")).lower() == "true"
            for resource in resources
            if resource.get("Type") == "AWS::SageMaker::Endpoint"
        ),
    )


def live_endpoint(aws: Aws, endpoint: str) -> LiveEndpoint | None:
    """None when the endpoint does not exist yet."""
    sagemaker = aws.client("sagemaker")
    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=described["EndpointConfigName"]
        )
        targets = aws.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker",
            ResourceIds=[
                f"endpoint/{endpoint}/variant/{v['VariantName']}"
                for v in config["ProductionVariants"]
            ],
        )
    except ClientError as error:
        if "Could not find" in str(error):
            return None
        raise AwsError(f"cannot read endpoint {endpoint}: {one_line(error)}") from None
    return LiveEndpoint(
        instance_types={str(v["VariantName"]): runs_on(v) for v in config["ProductionVariants"]},
        autoscaled=frozenset(
            str(t["ResourceId"]).rsplit("/", 1)[-1] for t in targets.get("ScalableTargets", [])
        ),
    )
