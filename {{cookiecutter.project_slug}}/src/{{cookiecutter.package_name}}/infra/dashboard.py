"""A CloudWatch dashboard for an endpoint: traffic, errors, latency, resources, alarms."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from .alarms import endpoint_metric


class EndpointDashboard(Construct):
    """One screen to read during a rollout (see docs/runbook.md).

    Attributes: ``dashboard``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        alarms: Sequence[cloudwatch.IAlarm],
        serverless: bool = False,
    ) -> None:
        super().__init__(scope, id)

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return endpoint_metric(endpoint_name, variant_name, name, statistic)

        def instance_metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="/aws/sagemaker/Endpoints",
                metric_name=name,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant_name},
                statistic="Average",
                period=Duration.minutes(1),
            )

        # Named after the endpoint so the execution role can be scoped to it.
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=endpoint_name)
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations",
                left=[metric("Invocations", "Sum")],
                right=[metric("Invocation4XXErrors", "Sum"), metric("Invocation5XXErrors", "Sum")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Model latency (microseconds)",
                left=[metric("ModelLatency", "p50"), metric("ModelLatency", "p99")],
                right=[metric("OverheadLatency", "p99")],
                width=12,
            ),
        )
        if serverless:
            # "The metrics below are an exhaustive list of metrics for serverless endpoints.
            # Any metric not listed below is not published for serverless endpoints": no
            # CPUUtilization or InvocationsPerInstance; MemoryUtilization, ModelSetupTime (a
            # cold start's) and ServerlessConcurrentExecutionsUtilization ("the number of
            # concurrent executions divided by the maximum concurrency") instead
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-monitoring.html).
            capacity = cloudwatch.GraphWidget(
                title="Serverless capacity",
                left=[
                    metric("ServerlessConcurrentExecutionsUtilization", "Maximum"),
                    instance_metric("MemoryUtilization"),
                ],
                right=[metric("ModelSetupTime", "p99")],
                width=24,
            )
        else:
            capacity = cloudwatch.GraphWidget(
                title="Instances",
                left=[instance_metric("CPUUtilization"), instance_metric("MemoryUtilization")],
                right=[metric("InvocationsPerInstance", "Sum")],
                width=24,
            )
        self.dashboard.add_widgets(capacity)
