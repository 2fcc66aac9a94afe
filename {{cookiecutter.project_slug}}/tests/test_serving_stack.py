"""The serving stack of every environment: model, data capture, blue/green rollout with
auto-rollback on the alarms, autoscaling, dashboard, least-privilege role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import RolloutStrategy, Settings
from {{ cookiecutter.package_name }}.naming import MODEL_SHA256_TAG, VARIANT_NAME

from .conftest import (
    ENVIRONMENTS,
    INSTANCE_ENVIRONMENTS,
    MODEL_SHA256,
    framework_image,
    only_resource,
    resources_of_type,
)


def serving(template_json: dict[str, Any], env: str) -> dict[str, Any]:
    template: dict[str, Any] = template_json[f"{env}-serving"]
    return template


def flat(value: Any) -> str:
    """A property as text, intrinsic functions included, for 'contains' checks."""
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_serves_content_addressed_artifact_with_region_correct_image(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    region = settings.environment(env).region
    container = only_resource(serving(template_json, env), "AWS::SageMaker::Model")["Properties"][
        "PrimaryContainer"
    ]
    account, _, path = framework_image(region).partition(".dkr.ecr.")
    image = flat(container["Image"])
    assert f"{account}.dkr.ecr.{region}." in image
    assert "/" + path.split("/", 1)[1] in image  # the [model] framework's repository and tag
    data_url = flat(container["ModelDataUrl"])
    assert f"models/{MODEL_SHA256}/model.tar.gz" in data_url
    assert f"s3://{settings.project.name}-{env}-" in data_url
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_config_and_endpoint_carry_the_model_digest(
    template_json: dict[str, Any], env: str
) -> None:
    for resource_type in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
    ):
        tags = only_resource(serving(template_json, env), resource_type)["Properties"]["Tags"]
        assert {"Key": MODEL_SHA256_TAG, "Value": MODEL_SHA256} in tags, resource_type


@pytest.mark.parametrize("env", INSTANCE_ENVIRONMENTS)
def test_endpoint_config_captures_data(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    config = only_resource(serving(template_json, env), "AWS::SageMaker::EndpointConfig")
    capture = config["Properties"]["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert (
        capture["InitialSamplingPercentage"]
        == settings.environment(env).endpoint.data_capture_percent
    )
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert f"/datacapture/{env}/" in flat(capture["DestinationS3Uri"])
    (variant,) = config["Properties"]["ProductionVariants"]
    endpoint = settings.environment(env).endpoint
    assert variant["VariantName"] == VARIANT_NAME
    assert variant["InitialInstanceCount"] == endpoint.instance_count
    assert variant["InstanceType"] == endpoint.instance_type


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deployment_config_follows_the_rollout(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    rollout = settings.environment(env).rollout
    endpoint = only_resource(serving(template_json, env), "AWS::SageMaker::Endpoint")
    policy = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    routing = policy["TrafficRoutingConfiguration"]
    assert routing["Type"] == rollout.strategy.sagemaker_type
    assert routing["WaitIntervalInSeconds"] == rollout.wait_seconds
    assert policy["TerminationWaitInSeconds"] == rollout.termination_wait_seconds
    assert policy["MaximumExecutionTimeoutInSeconds"] == rollout.max_execution_timeout_seconds
    step = {"Type": "CAPACITY_PERCENT", "Value": rollout.step_percent}
    if rollout.strategy is RolloutStrategy.CANARY:
        assert routing["CanarySize"] == step
    elif rollout.strategy is RolloutStrategy.LINEAR:
        assert routing["LinearStepSize"] == step
    else:
        assert "CanarySize" not in routing and "LinearStepSize" not in routing


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_rolls_deployments_back(template_json: dict[str, Any], env: str) -> None:
    template = serving(template_json, env)
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    endpoint = only_resource(template, "AWS::SageMaker::Endpoint")
    rollback = endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert len(alarms) == 2
    # By name, not Ref: the names are fixed, and the endpoint waits for the alarms instead.
    names = {alarm["Properties"]["AlarmName"] for alarm in alarms.values()}
    assert {alarm["AlarmName"] for alarm in rollback} == names
    assert set(alarms) <= set(endpoint["DependsOn"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_watch_the_endpoint_with_configured_thresholds(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    config = settings.environment(env)
    alarms = {
        alarm["Properties"]["MetricName"]: alarm["Properties"]
        for alarm in resources_of_type(
            serving(template_json, env), "AWS::CloudWatch::Alarm"
        ).values()
    }
    errors, latency = alarms["Invocation5XXErrors"], alarms["ModelLatency"]
    assert errors["Threshold"] == config.alarms.error_5xx_count
    assert errors["Statistic"] == "Sum"
    assert latency["Threshold"] == config.alarms.latency_p99_ms * 1000  # microseconds
    assert latency["ExtendedStatistic"] == "p99"
    for alarm in (errors, latency):
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["EvaluationPeriods"] == config.alarms.evaluation_periods
        assert alarm["TreatMissingData"] == "notBreaching"
        assert {"Name": "EndpointName", "Value": f"{settings.project.name}-{env}"} in alarm[
            "Dimensions"
        ]


@pytest.mark.parametrize("env", INSTANCE_ENVIRONMENTS)
def test_autoscaling_bounds_and_target(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    config = settings.environment(env).autoscaling
    template = serving(template_json, env)
    target = only_resource(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert props["MinCapacity"] == config.min_capacity
    assert props["MaxCapacity"] == config.max_capacity
    assert props["ResourceId"] == f"endpoint/{settings.project.name}-{env}/variant/{VARIANT_NAME}"
    assert props["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    (endpoint_id,) = resources_of_type(template, "AWS::SageMaker::Endpoint")
    assert endpoint_id in target["DependsOn"]
    policy = only_resource(template, "AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == config.invocations_per_instance
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dashboard_shows_the_endpoint(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    dashboard = only_resource(serving(template_json, env), "AWS::CloudWatch::Dashboard")
    body = flat(dashboard["Properties"]["DashboardBody"])
    assert f"{settings.project.name}-{env}" in body
    assert "ModelLatency" in body and "Invocation5XXErrors" in body


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_execution_role_is_least_privilege(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    template = serving(template_json, env)
    statements = only_resource(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    actions = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        listed = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        actions.update(listed)
    assert not any(action.endswith("*") for action in actions)
    serverless = settings.environment(env).endpoint.serverless
    assert actions == {
        "s3:GetObject",
        *([] if serverless else ["s3:PutObject"]),  # captured requests
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "cloudwatch:PutMetricData",
        "cloudwatch:DescribeAlarms",
    } | (  # the environment's key (test_encryption.py)
        {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}
        if settings.environment(env).encryption.kms
        else set()
    )
    model = only_resource(template, "AWS::SageMaker::Model")
    (policy_id,) = resources_of_type(template, "AWS::IAM::Policy")
    assert policy_id in model["DependsOn"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_execution_role_may_read_the_rollback_alarms(
    template_json: dict[str, Any], env: str
) -> None:
    """SageMaker deployment guardrails: "Ensure that your IAM execution role has permission
    to perform the cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
    """
    template = serving(template_json, env)
    endpoint = only_resource(template, "AWS::SageMaker::Endpoint")["Properties"]
    alarms = [
        a["AlarmName"] for a in endpoint["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    ]
    statements = only_resource(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    (describe,) = [s for s in statements if s["Action"] == "cloudwatch:DescribeAlarms"]
    resources = json.dumps(describe["Resource"])
    assert alarms and all(f":alarm:{name}" in resources for name in alarms)
    assert "*" not in resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_model_runs_without_network(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    """checkov CKV_AWS_370: the handler needs no network, so the container gets none;
    except serverless, which does not support network isolation (test_serverless.py)."""
    model = only_resource(serving(template_json, env), "AWS::SageMaker::Model")
    isolated = not settings.environment(env).endpoint.serverless
    assert model["Properties"]["EnableNetworkIsolation"] is isolated
