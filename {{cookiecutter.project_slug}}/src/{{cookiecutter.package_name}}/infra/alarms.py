"""CloudWatch alarms on an endpoint variant: 5XX errors and p99 model latency."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ..config import Alarms
from ..naming import alarm_names


def endpoint_metric(
    endpoint_name: str, variant_name: str, metric_name: str, statistic: str
) -> cloudwatch.Metric:
    """A per-minute AWS/SageMaker metric of one endpoint variant."""
    return cloudwatch.Metric(
        namespace="AWS/SageMaker",
        metric_name=metric_name,
        dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
        statistic=statistic,
        period=Duration.minutes(1),
    )


class EndpointAlarms(Construct):
    """Alarms that gate deployments (auto-rollback) and page people afterwards.

    Attributes: ``errors`` (Invocation5XXErrors), ``latency`` (ModelLatency p99),
    ``alarms`` (both, in that order) and ``names``. The names are fixed strings derived from
    the endpoint, so the endpoint's rollback configuration and the dashboard name the alarms
    without a reference (and the runbook can name them too).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        thresholds: Alarms,
    ) -> None:
        super().__init__(scope, id)
        self.names = list(alarm_names(endpoint_name))
        self.errors = cloudwatch.Alarm(
            self,
            "Errors5xx",
            alarm_name=self.names[0],
            metric=endpoint_metric(endpoint_name, variant_name, "Invocation5XXErrors", "Sum"),
            threshold=thresholds.error_5xx_count,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=thresholds.evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"{endpoint_name}: >= {thresholds.error_5xx_count} 5XX responses a minute "
                f"for {thresholds.evaluation_periods} minutes"
            ),
        )
        self.latency = cloudwatch.Alarm(
            self,
            "LatencyP99",
            alarm_name=self.names[1],
            # ModelLatency is reported in microseconds.
            metric=endpoint_metric(endpoint_name, variant_name, "ModelLatency", "p99"),
            threshold=thresholds.latency_p99_ms * 1000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=thresholds.evaluation_periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"{endpoint_name}: p99 model latency above {thresholds.latency_p99_ms} ms "
                f"for {thresholds.evaluation_periods} minutes"
            ),
        )
        self.alarms = [self.errors, self.latency]
