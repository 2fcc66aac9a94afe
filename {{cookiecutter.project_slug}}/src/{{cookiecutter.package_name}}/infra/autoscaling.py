"""Target-tracking autoscaling of an endpoint variant on invocations per instance."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..config import Autoscaling

# Application Auto Scaling acts through this service-linked role (AWS creates it on first use).
SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


class VariantAutoscaling(Construct):
    """Keeps invocations per instance near the target, within min..max instances.

    Attributes: ``target`` (the scalable target).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        settings: Autoscaling,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        role = iam.Role.from_role_arn(
            self,
            "ServiceLinkedRole",
            stack.format_arn(
                service="iam", region="", resource="role", resource_name=SERVICE_LINKED_ROLE
            ),
            mutable=False,
        )
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=settings.min_capacity,
            max_capacity=settings.max_capacity,
            role=role,
        )
        self.target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=settings.invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(settings.scale_in_cooldown_seconds),
            scale_out_cooldown=Duration.seconds(settings.scale_out_cooldown_seconds),
        )
