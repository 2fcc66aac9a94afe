"""What an execute did to the endpoint's traffic: its CloudWatch metrics over the rollout.

After an execute (a deploy, a rollback) the record keeps the endpoint's invocation metrics
from the moment preflight began to the moment the execute ended, the rollout window: how
many calls it answered, how many failed with a 5XX, and its p99 model latency. SageMaker
publishes them to AWS/SageMaker by EndpointName and VariantName, ModelLatency in
microseconds (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html);
one GetMetricData call reads the three, each as one value over the whole window (a period
of the window's length, rounded up to a minute: "the granularity, in seconds, ... can be
as short as one minute (60 seconds) and must be a multiple of 60",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html).

A metric CloudWatch has no datapoint for is None and is said as "no data", never as 0: an
endpoint nobody called in the window, or metrics not published yet (SageMaker publishes
them at one-minute intervals). Reading them never costs a record: a failure to read is kept
in the record as the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import one_line

NAMESPACE = "AWS/SageMaker"
# (the record's key, the metric, the statistic)
METRICS = (
    ("invocations", "Invocations", "Sum"),
    ("errors_5xx", "Invocation5XXErrors", "Sum"),
    ("model_latency_p99_us", "ModelLatency", "p99"),
)


def aligned(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window widened to whole minutes: SageMaker's metrics are one-minute datapoints,
    and CloudWatch advises a StartTime and EndTime aligned with the period ("For better
    performance, specify StartTime and EndTime values that align with the value of the
    metric's Period", API_GetMetricData); a call in the execute's last minute counts."""
    first = start.replace(second=0, microsecond=0)
    last = end.replace(second=0, microsecond=0)
    if last < end or last <= first:
        last += timedelta(minutes=1)
    return first, last


def window_period(start: datetime, end: datetime) -> int:
    """The window's length in seconds, rounded up to a whole number of minutes (at least
    one): one datapoint per metric covers it."""
    return max(60, math.ceil((end - start).total_seconds() / 60) * 60)


def read_rollout_metrics(
    cloudwatch: Any, endpoint: str, variant: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """The record's `metrics`: the window, the endpoint, and each metric's value (None: no
    data), or `error` with why they could not be read."""
    start, end = aligned(start, end)
    window: dict[str, Any] = {
        "endpoint": endpoint,
        "variant": variant,
        "start": start.isoformat(timespec="seconds"),
        "end": end.isoformat(timespec="seconds"),
    }
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
    ]
    queries = [
        {
            "Id": key.replace("_", ""),
            "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                "Period": window_period(start, end),
                "Stat": stat,
            },
            "ReturnData": True,
        }
        for key, metric, stat in METRICS
    ]
    try:
        answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    except (ClientError, BotoCoreError) as error:  # kept as the reason, never raised
        return {**window, "error": one_line(error) or type(error).__name__}
    values = {str(result["Id"]): result.get("Values", []) for result in answer["MetricDataResults"]}
    for key, _, stat in METRICS:
        found = values.get(key.replace("_", ""), [])
        window[key] = _combine(found, stat) if found else None
    return window


def _combine(values: list[float], stat: str) -> float:
    """One value from a window's datapoints (one, unless CloudWatch split the window)."""
    return float(sum(values)) if stat == "Sum" else float(max(values))


def describe(metrics: Mapping[str, Any]) -> str:
    """One line for people: '3 invocations, 0 5XX, p99 model latency 41.2 ms', with 'no
    data' where CloudWatch had none."""
    if not metrics:
        return "not read (the record predates rollout metrics)"
    if metrics.get("error"):
        return f"could not be read: {metrics['error']}"
    invocations, errors, latency = (metrics.get(key) for key, _, _ in METRICS)
    if invocations is None and errors is None and latency is None:
        return (
            f"no data: CloudWatch has no invocation metrics for {metrics.get('endpoint')} "
            f"between {metrics.get('start')} and {metrics.get('end')}"
        )
    parts = [
        "no data for invocations"
        if invocations is None
        else f"{invocations:,.0f} invocation{'' if invocations == 1 else 's'}",
        "no data for 5XX" if errors is None else f"{errors:,.0f} 5XX",
        "no data for latency" if latency is None else f"p99 model latency {latency / 1000:,.1f} ms",
    ]
    return ", ".join(parts)
