"""A SageMaker Model, EndpointConfig (instances with data capture, or serverless) and Endpoint
with a blue/green rollout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import CfnTag
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..config import EndpointSettings, Rollout, RolloutStrategy
from ..naming import MODEL_SHA256_TAG, VARIANT_NAME
from .permissions import sagemaker_role

# The scikit-learn container runs inference.py from the code/ folder inside model.tar.gz.
SERVING_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
}


def traffic_routing(rollout: Rollout) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
    """SageMaker's traffic routing for the configured strategy; steps are % of the fleet."""
    step = (
        sagemaker.CfnEndpoint.CapacitySizeProperty(
            type="CAPACITY_PERCENT", value=rollout.step_percent
        )
        if rollout.step_percent is not None
        else None
    )
    return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type=rollout.strategy.sagemaker_type,
        canary_size=step if rollout.strategy is RolloutStrategy.CANARY else None,
        linear_step_size=step if rollout.strategy is RolloutStrategy.LINEAR else None,
        wait_interval_in_seconds=rollout.wait_seconds,
    )


def _variant(
    settings: EndpointSettings, model_name: str
) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
    """The one production variant: an instance fleet, or a serverless one, which "Specifies
    a serverless endpoint configuration instead of an instance-based endpoint configuration"
    (ProductionVariant.ServerlessConfig,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html)."""
    if settings.serverless:
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=model_name,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=settings.memory_size_mb,
                max_concurrency=settings.max_concurrency,
            ),
            initial_variant_weight=1.0,
        )
    return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
        variant_name=VARIANT_NAME,
        model_name=model_name,
        initial_instance_count=settings.instance_count,
        instance_type=settings.instance_type,
        initial_variant_weight=1.0,
    )


def _data_capture(
    settings: EndpointSettings, capture_uri: str, kms_key_id: str | None
) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
    return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
        kms_key_id=kms_key_id,
        enable_capture=True,
        initial_sampling_percentage=settings.data_capture_percent,
        destination_s3_uri=capture_uri,
        capture_options=[
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
            sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
        ],
        capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
            csv_content_types=["text/csv"],
            json_content_types=["application/json"],
        ),
    )


class ModelEndpoint(Construct):
    """Serves one model artifact from one endpoint, rolled out blue/green.

    The Model, EndpointConfig and Endpoint carry the artifact's sha256 as a tag, so a new
    model changes all three resources (and the live endpoint can always be traced to the
    bytes it serves). Any alarm in ``rollback_alarm_names`` rolls a deployment back.

    Attributes: ``role`` (the execution role), ``policy`` (its permissions; the stack adds
    what the container may touch), ``model``, ``endpoint_config``, ``endpoint`` and
    ``endpoint_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        image_uri: str,
        model_data_url: str,
        model_sha256: str,
        settings: EndpointSettings,
        serving_environment: Mapping[str, str] | None = None,
        rollout: Rollout,
        capture_uri: str,
        rollback_alarm_names: Sequence[str],
        retain_variant_properties: bool,
        kms_key_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.endpoint_name = endpoint_name
        tags = [CfnTag(key=MODEL_SHA256_TAG, value=model_sha256)]
        self.role, self.policy = sagemaker_role(self, f"Runs the {endpoint_name} model container")
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            # The handler needs no network; SageMaker still fetches the model data and
            # captures requests. Create-only, which is fine for an unnamed Model (checkov
            # CKV_AWS_370; https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html).
            # Serverless Inference does not support it ("... VPC configuration, network
            # isolation, data capture ...", https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html).
            enable_network_isolation=not settings.serverless,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image_uri,
                model_data_url=model_data_url,
                environment=(
                    SERVING_ENVIRONMENT if serving_environment is None else serving_environment
                )
                or None,
            ),
            tags=tags,
        )
        # SageMaker checks it can read the model data while creating the Model: the role's
        # policy must exist first.
        self.model.node.add_dependency(self.policy)
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[_variant(settings, self.model.attr_model_name)],
            # The instance's storage volume (create-only: a new key is a new config); for a
            # serverless endpoint "SageMaker AI uses this key to encrypt your Amazon ECR
            # image" (https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints-create-config.html).
            kms_key_id=kms_key_id,
            data_capture_config=(
                None if settings.serverless else _data_capture(settings, capture_uri, kms_key_id)
            ),
            tags=tags,
        )
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            # Autoscaling owns the instance count: an update keeps the live count and weight
            # ("To retain the variant properties of an endpoint when updating it, set
            # RetainAllVariantProperties to true", UpdateEndpoint,
            # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html),
            # so a blue/green deploy under load brings the new fleet up at the size
            # autoscaling chose, not at instance_count. Ignored when the endpoint is created.
            retain_all_variant_properties=retain_variant_properties,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=traffic_routing(rollout),
                    termination_wait_in_seconds=rollout.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=rollout.max_execution_timeout_seconds,
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[
                        sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name)
                        for name in rollback_alarm_names
                    ]
                ),
            ),
            tags=tags,
        )
