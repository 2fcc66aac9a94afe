"""The serving stack: the model endpoint with its alarms, autoscaling and dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..bucket_layout import MODELS_PREFIX, data_capture_prefix, model_key
from ..config import Environment, Project, Serving
from ..images import (
    IMAGE,
    Container,
    image_repository_arn,
    serving_image,
    serving_repository_arn,
)
from ..naming import VARIANT_NAME, endpoint_name
from .alarms import EndpointAlarms
from .artifacts_stack import import_artifacts_bucket
from .autoscaling import VariantAutoscaling
from .dashboard import EndpointDashboard
from .encryption import key_id, use_key
from .model_endpoint import ModelEndpoint
from .permissions import (
    Grant,
    allow,
    pull_image,
    put_metrics,
    read_objects,
    write_logs,
    write_objects,
)


class ServingStack(Stack):
    """Serves the model whose sha256 is given, from the environment's artifact bucket.

    Attributes: ``bucket`` (imported), ``alarms``, ``endpoint`` (ModelEndpoint),
    ``autoscaling`` (None when the environment switches it off) and ``dashboard``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        environment: Environment,
        model_sha256: str,
        serving: Serving,
        container: Container | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        name = endpoint_name(project, environment)
        self.bucket = import_artifacts_bucket(self, project, environment)
        image, serving_environment, repository = self._container(serving, environment, container)
        self.alarms = EndpointAlarms(
            self,
            "Alarms",
            endpoint_name=name,
            variant_name=VARIANT_NAME,
            thresholds=environment.alarms,
        )
        self.endpoint = ModelEndpoint(
            self,
            "Model",
            endpoint_name=name,
            image_uri=image,
            serving_environment=serving_environment,
            model_data_url=self.bucket.s3_url_for_object(model_key(model_sha256)),
            model_sha256=model_sha256,
            settings=environment.endpoint,
            rollout=environment.rollout,
            capture_uri=self.bucket.s3_url_for_object(data_capture_prefix(environment.name)),
            rollback_alarm_names=self.alarms.names,
            retain_variant_properties=environment.autoscaling.enabled,
            kms_key_id=key_id(self, project, environment),
        )
        # A deployment watches the alarms, so they must exist before the endpoint changes.
        self.endpoint.endpoint.node.add_dependency(self.alarms)
        self._grant_runtime_access(
            self.endpoint.policy, self.bucket, environment, self.alarms.names, repository
        )
        # Read the model and write captured requests under the bucket's key; encrypt the
        # captured data and the volume with it ("the SageMaker execution role must include
        # permissions to call kms:Encrypt", CreateEndpointConfig's KmsKeyId).
        allow(
            self.endpoint.policy,
            use_key(
                self,
                project,
                environment,
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            ),
            "key/* only where the key carries this environment's alias (kms:ResourceAliases): "
            "IAM cannot name a key by its alias, and the stacks share no export of its id.",
        )
        self.autoscaling = None
        if environment.autoscaling.enabled:
            self.autoscaling = VariantAutoscaling(
                self,
                "Autoscaling",
                endpoint_name=name,
                variant_name=VARIANT_NAME,
                settings=environment.autoscaling,
            )
            # The scalable target names the endpoint, so the endpoint must exist first.
            self.autoscaling.node.add_dependency(self.endpoint.endpoint)
        self.dashboard = EndpointDashboard(
            self,
            "Dashboard",
            endpoint_name=name,
            variant_name=VARIANT_NAME,
            serverless=environment.endpoint.serverless,
            alarms=[
                cloudwatch.Alarm.from_alarm_name(self, f"Watched{index}", name)
                for index, name in enumerate(self.alarms.names)
            ],
        )

    def _container(
        self, serving: Serving, environment: Environment, container: Container | None
    ) -> tuple[str, Mapping[str, str] | None, str]:
        """(image, container environment, its repository's ARN): a source's own container
        (a registry package), else [model]'s framework image of the region running this
        project's handler (environment None: model_endpoint's), else a team's own image."""
        if container is not None:
            repository = image_repository_arn(container.image, self.partition)
            return container.image, dict(container.environment), repository
        if serving.framework == IMAGE:
            return serving.image, {}, image_repository_arn(serving.image, self.partition)
        framework, version, region = serving.framework, serving.version, environment.region
        return (
            serving_image(framework, version, region, self.url_suffix),
            None,
            serving_repository_arn(framework, version, region, self.partition),
        )

    def _grant_runtime_access(
        self,
        policy: iam.Policy,
        bucket: s3.IBucket,
        environment: Environment,
        alarm_names: Sequence[str],
        repository: str,
    ) -> None:
        """What the model container needs at run time, and nothing more."""
        allow(
            policy,
            [
                read_objects(bucket, f"{MODELS_PREFIX}*"),
                *(
                    []
                    if environment.endpoint.serverless  # captures nothing
                    else [write_objects(bucket, f"{data_capture_prefix(environment.name)}*")]
                ),
                *pull_image(self, repository),
                write_logs(self, environment, "/aws/sagemaker/Endpoints/*"),
                put_metrics("StringEquals", "/aws/sagemaker/Endpoints"),
                # "Ensure that your IAM execution role has permission to perform the
                # cloudwatch:DescribeAlarms action on the auto-rollback alarms you specify"
                # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
                Grant(
                    iam.PolicyStatement(
                        actions=["cloudwatch:DescribeAlarms"],
                        resources=[
                            self.format_arn(
                                service="cloudwatch",
                                resource="alarm",
                                resource_name=alarm,
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            )
                            for alarm in alarm_names
                        ],
                    )
                ),
            ],
            "Scoped wildcards: model artifacts are content-addressed objects under models/; "
            "captured requests are written under this environment's prefix; the container "
            "logs to the endpoint log groups SageMaker names; ecr:GetAuthorizationToken has no "
            "resource level and PutMetricData is limited by a namespace condition.",
        )
