"""CloudWatch as SageMaker and CloudWatch behave where moto does not: what an execute's
outcome (outcomes.py) reads.

- SageMaker publishes an endpoint's invocation metrics to the AWS/SageMaker namespace with
  the dimensions EndpointName and VariantName: Invocations, Invocation4XXErrors,
  Invocation5XXErrors (counts) and ModelLatency, in microseconds
  (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). moto's
  SageMaker Runtime publishes nothing; here each InvokeEndpoint that answers publishes them,
  on the variant the endpoint serves, with the time moto took as the latency.
- GetMetricData answers percentile statistics (pNN or pNN.NN, "the value of the specified
  percentile", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html);
  moto answers Sum, Average, Minimum, Maximum and SampleCount only, and None for the rest.
  Percentiles come from single values (nearest rank), and are not available "for metrics
  when any of the metric values are negative numbers" (GetMetricStatistics,
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html),
  nor here from statistic sets, whose single values are unknown.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from moto.cloudwatch import models as cloudwatch_models
from moto.sagemakerruntime import models as runtime_models

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,2})?|100)$")
_NAMESPACE = "AWS/SageMaker"


def percentile(values: list[float], stat: str) -> float | None:
    """The pNN of values (nearest rank); None for no values, a negative value, or a stat
    that is not a percentile."""
    found = _PERCENTILE.match(stat)
    if found is None or not values or min(values) < 0:
        return None
    rank = max(1, math.ceil(float(found.group(1)) / 100 * len(values)))
    return sorted(values)[rank - 1]


def _statistic(original: Any) -> Any:
    def statistic(self: Any, stat: str) -> Any:
        if not _PERCENTILE.match(stat):
            return original(self, stat)
        if self.metric_aggregated_list:
            return None
        return percentile(list(self.metric_single_values_list), stat)

    return statistic


def _publishing(original: Any) -> Any:
    def invoke_endpoint(self: Any, endpoint_name: str, unique_repr: bytes) -> Any:
        started = time.perf_counter()
        answer = original(self, endpoint_name, unique_repr)
        latency_us = (time.perf_counter() - started) * 1_000_000
        publish_invocation(self.account_id, self.region_name, endpoint_name, latency_us)
        return answer

    return invoke_endpoint


def publish_invocation(account: str, region: str, endpoint: str, latency_us: float) -> None:
    """One answered invocation's metrics, on the variant the endpoint serves (none when the
    endpoint does not exist: SageMaker answers that call with an error, not a metric)."""
    from moto.sagemaker.models import sagemaker_backends

    sagemaker = sagemaker_backends[account][region]
    endpoint_model = sagemaker.endpoints.get(endpoint)
    if endpoint_model is None:
        return
    variants = endpoint_model.production_variants or [{"VariantName": "AllTraffic"}]
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": str(variants[0]["VariantName"])},
    ]
    cloudwatch = cloudwatch_models.cloudwatch_backends[account][region]
    for name, value, unit in (
        ("Invocations", 1.0, "None"),
        ("Invocation4XXErrors", 0.0, "None"),
        ("Invocation5XXErrors", 0.0, "None"),
        ("ModelLatency", latency_us, "Microseconds"),
    ):
        cloudwatch.metric_data.append(
            cloudwatch_models.MetricDatum(_NAMESPACE, name, value, dimensions, None, unit)
        )


def install() -> None:
    """Idempotent, like the CloudFormation patches."""
    statistics: Any = cloudwatch_models.Statistics
    if getattr(statistics, "strict_installed", False):
        return
    statistics.strict_installed = True
    statistics.get_statistics_for_type = _statistic(statistics.get_statistics_for_type)
    backend: Any = runtime_models.SageMakerRuntimeBackend
    backend.invoke_endpoint = _publishing(backend.invoke_endpoint)
