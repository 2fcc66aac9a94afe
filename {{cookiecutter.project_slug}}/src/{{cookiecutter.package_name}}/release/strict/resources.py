"""CloudFormation resource types moto skips and our stacks use, provisioned as AWS would.

moto's CloudFormation ignores these types with a warning (moto/cloudformation/parsing.py:
`resource_class_from_type`), so a stack "creates" them without anything existing. Each
class here creates the real object in moto's service backend (so DescribeAlarms,
DescribeScalableTargets and GetBucketPolicy see it), answers Ref and Fn::GetAtt with the
values CloudFormation documents, and fails where the service would:

- AWS::CloudWatch::Alarm: Ref is the alarm name, GetAtt Arn
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html).
- AWS::S3::BucketPolicy: the bucket must exist (S3 answers NoSuchBucket).
- AWS::ApplicationAutoScaling::ScalableTarget: a SageMaker variant target needs the endpoint
  and variant to exist ("Before you can use automatic scaling, you must have already
  created an Amazon SageMaker AI model endpoint",
  https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html);
  Ref is "resource id|dimension|namespace"; a serverless variant scales only its
  provisioned concurrency (serverless.py).
- AWS::ApplicationAutoScaling::ScalingPolicy: the target must be registered
  (ObjectNotFoundException, https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html).
- AWS::SageMaker::DataQualityJobDefinition: names are unique (ResourceInUse); Ref is the ARN.
- AWS::SageMaker::MonitoringSchedule: the job definition it names must exist; names unique.

The strict layer registers these classes with moto (cloudformation.install) before serving.
"""

from __future__ import annotations

import json
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.utils import arn_formatter

from . import serverless
from .faults import ResourceFailed


def _any(value: Any) -> Any:
    """moto's signatures say str where its code takes None too."""
    return value


def _props(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = cloudformation_json.get("Properties") or {}
    return properties


class _Model:
    """The parts every type here shares: update = delete then create unless in place.

    A mixin: moto registers the direct subclasses of CloudFormationModel."""

    physical_id: str

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attributes()

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ()

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.attributes():
            raise UnformattedGetAttTemplateException()
        return getattr(self, attribute_name.lower())

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        model: Any = cls
        return model.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        """Resources are deleted through their instance (ResourceMap calls .delete)."""

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class Alarm(_Model, CloudFormationModel):
    def __init__(self, name: str, arn: str) -> None:
        self.physical_id = name
        self.arn = arn
        self.name = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ("Arn",)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Alarm:
        p = _props(cloudformation_json)
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace", ""),
            metric_name=p.get("MetricName", ""),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)),
            threshold=float(p.get("Threshold", 0)),
            statistic=_any(p.get("Statistic")),
            description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            extended_statistic=p.get("ExtendedStatistic"),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            treat_missing_data=p.get("TreatMissingData"),
            unit=p.get("Unit"),
            tags=p.get("Tags", []),
        )
        return cls(resource_name, alarm.alarm_arn)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Alarm:
        # PutMetricAlarm on an existing name updates it in place.
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])


class BucketPolicy(_Model, CloudFormationModel):
    def __init__(self, bucket: str) -> None:
        self.physical_id = f"{bucket}-policy"
        self.bucket = bucket

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> BucketPolicy:
        p = _props(cloudformation_json)
        bucket = str(p["Bucket"])
        backend = s3_backends[account_id]["aws"]
        if bucket not in backend.buckets:
            raise ResourceFailed(f"The specified bucket does not exist (Bucket: {bucket})")
        backend.put_bucket_policy(
            bucket, json.dumps(_as_moto_enforces(p["PolicyDocument"])).encode()
        )
        return cls(bucket)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = s3_backends[account_id]["aws"]
        if self.bucket in backend.buckets:
            backend.delete_bucket_policy(self.bucket)


def _as_moto_enforces(document: dict[str, Any]) -> dict[str, Any]:
    """The policy less its TLS-only Deny statements. moto enforces bucket policies without
    their conditions (moto/s3/models.py, put_bucket_policy), so `Deny s3:* if
    aws:SecureTransport is false` would refuse every request; a real SDK always speaks TLS
    to S3, where that statement never applies."""
    statements = document.get("Statement", [])
    kept = [
        statement
        for statement in (statements if isinstance(statements, list) else [statements])
        if not (
            statement.get("Effect") == "Deny"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        )
    ]
    return {**document, "Statement": kept}


class ScalableTarget(_Model, CloudFormationModel):
    def __init__(self, namespace: str, resource_id: str, dimension: str) -> None:
        self.physical_id = f"{resource_id}|{dimension}|{namespace}"
        self.namespace, self.resource_id, self.dimension = namespace, resource_id, dimension

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ScalableTarget:
        p = _props(cloudformation_json)
        namespace, resource_id = p["ServiceNamespace"], p["ResourceId"]
        if namespace == "sagemaker":
            _require_variant(account_id, region_name, resource_id, p["ScalableDimension"])
        applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            namespace,
            resource_id,
            p["ScalableDimension"],
            int(p["MinCapacity"]),
            int(p["MaxCapacity"]),
            str(p.get("RoleARN", "")),
            _any(p.get("SuspendedState")),
        )
        return cls(namespace, resource_id, p["ScalableDimension"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ScalableTarget:
        # Min and max capacity update in place: RegisterScalableTarget on a registered target.
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        if self.resource_id in backend.targets.get(self.dimension, {}):
            backend.deregister_scalable_target(self.namespace, self.resource_id, self.dimension)


def _require_variant(account_id: str, region_name: str, resource_id: str, dimension: str) -> None:
    parts = resource_id.split("/")
    if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant":
        raise ResourceFailed(f"Unsupported resource ID {resource_id} for namespace sagemaker")
    endpoint = sagemaker_backends[account_id][region_name].endpoints.get(parts[1])
    variants = {v["VariantName"]: v for v in (endpoint.production_variants if endpoint else [])}
    if parts[3] not in variants:
        raise ResourceFailed(
            f"The endpoint variant {resource_id} does not exist; the scalable target must be "
            "registered after the endpoint (a missing DependsOn?)"
        )
    problem = serverless.target_problem(variants[parts[3]], dimension)
    if problem:
        raise ResourceFailed(problem)


def registered_target(account_id: str, region_name: str, endpoint: str, variant: str) -> bool:
    """Whether Application Auto Scaling has a target on this endpoint variant."""
    targets = applicationautoscaling_backends[account_id][region_name].targets
    resource_id = f"endpoint/{endpoint}/variant/{variant}"
    return any(resource_id in by_id for by_id in targets.values())


class ScalingPolicy(_Model, CloudFormationModel):
    def __init__(self, arn: str, key: tuple[str, str, str, str]) -> None:
        self.physical_id = arn
        self.arn = arn
        self.key = key

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "PolicyName"

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ("Arn",)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ScalingPolicy:
        p = _props(cloudformation_json)
        if "ScalingTargetId" in p:
            resource_id, dimension, namespace = str(p["ScalingTargetId"]).split("|")
        else:
            resource_id, dimension = p["ResourceId"], p["ScalableDimension"]
            namespace = p["ServiceNamespace"]
        backend = applicationautoscaling_backends[account_id][region_name]
        if resource_id not in backend.targets.get(dimension, {}):
            raise ResourceFailed(
                f"No scalable target registered for service namespace: {namespace}, "
                f"resource ID: {resource_id}, scalable dimension: {dimension}"
            )
        body = p.get("TargetTrackingScalingPolicyConfiguration") or p.get(
            "StepScalingPolicyConfiguration", {}
        )
        policy = backend.put_scaling_policy(
            resource_name, namespace, resource_id, dimension, body, p.get("PolicyType")
        )
        return cls(policy.policy_arn, (resource_name, namespace, resource_id, dimension))

    def delete(self, account_id: str, region_name: str) -> None:
        backend = applicationautoscaling_backends[account_id][region_name]
        name, namespace, resource_id, dimension = self.key
        if resource_id in backend.targets.get(dimension, {}):
            backend.delete_scaling_policy(name, namespace, resource_id, dimension)


# SageMaker Model Monitor objects, kept by name per account and region.
_SCHEDULES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def reset() -> None:
    _SCHEDULES.clear()


class DataQualityJobDefinition(_Model, CloudFormationModel):
    def __init__(self, name: str, arn: str) -> None:
        self.physical_id = arn
        self.name = name
        self.jobdefinitionarn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::DataQualityJobDefinition"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "JobDefinitionName"

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ("JobDefinitionArn",)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> DataQualityJobDefinition:
        p = _props(cloudformation_json)
        backend = sagemaker_backends[account_id][region_name]
        if resource_name in backend.data_quality_job_definitions:
            raise ResourceFailed(f"Job definition with name {resource_name} already exists")
        created = backend.create_data_quality_job_definition(
            account_id=account_id,
            job_definition_name=resource_name,
            tags=p.get("Tags"),
            role_arn=p["RoleArn"],
            job_resources=p["JobResources"],
            stopping_condition=p.get("StoppingCondition"),
            network_config=p.get("NetworkConfig"),
            data_quality_baseline_config=p.get("DataQualityBaselineConfig"),
            data_quality_app_specification=p["DataQualityAppSpecification"],
            data_quality_job_input=p["DataQualityJobInput"],
            data_quality_job_output_config=p["DataQualityJobOutputConfig"],
        )
        return cls(resource_name, str(created["JobDefinitionArn"]).lower())

    def delete(self, account_id: str, region_name: str) -> None:
        backend = sagemaker_backends[account_id][region_name]
        backend.data_quality_job_definitions.pop(self.name, None)


def job_definition_exists(account_id: str, region_name: str, name: str) -> bool:
    return name in sagemaker_backends[account_id][region_name].data_quality_job_definitions


class MonitoringSchedule(_Model, CloudFormationModel):
    def __init__(self, name: str, arn: str) -> None:
        self.physical_id = arn
        self.name = name
        self.monitoringschedulearn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::MonitoringSchedule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "MonitoringScheduleName"

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ("MonitoringScheduleArn",)

    @classmethod
    def _put(
        cls, name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> MonitoringSchedule:
        config = _props(cloudformation_json)["MonitoringScheduleConfig"]
        job = config.get("MonitoringJobDefinitionName")
        if job is not None and not job_definition_exists(account_id, region_name, job):
            raise ResourceFailed(f"Could not find job definition {job}")
        arn = arn_formatter("monitoring-schedule", name, account_id, region_name).lower()
        _SCHEDULES.setdefault((account_id, region_name), {})[name] = {
            "MonitoringScheduleName": name,
            "MonitoringScheduleArn": arn,
            "MonitoringScheduleConfig": config,
        }
        return cls(name, arn)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> MonitoringSchedule:
        if resource_name in _SCHEDULES.get((account_id, region_name), {}):
            raise ResourceFailed(f"Monitoring schedule {resource_name} already exists")
        return cls._put(resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> MonitoringSchedule:
        # UpdateMonitoringSchedule changes the config in place under the same name.
        if new_resource_name != original_resource.name:
            original_resource.delete(account_id, region_name)
        return cls._put(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        _SCHEDULES.get((account_id, region_name), {}).pop(self.name, None)


def schedules(account_id: str, region_name: str) -> dict[str, dict[str, Any]]:
    """The monitoring schedules that exist (moto has no Model Monitor schedule API)."""
    return dict(_SCHEDULES.get((account_id, region_name), {}))


class OIDCProvider(_Model, CloudFormationModel):
    """AWS::IAM::OIDCProvider, which moto's CloudFormation does not create: the provider is
    made in moto's IAM (so a role can name it and GetOpenIDConnectProvider finds it), its
    Ref is its ARN, and a second provider for the same URL in an account fails as in IAM
    ("EntityAlreadyExists", https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html)."""

    def __init__(self, arn: str) -> None:
        self.physical_id = arn
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IAM::OIDCProvider"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def attributes(cls) -> tuple[str, ...]:
        return ("Arn",)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> OIDCProvider:
        from moto.iam.exceptions import EntityAlreadyExists
        from moto.iam.models import iam_backends

        p = _props(cloudformation_json)
        backend = iam_backends[account_id]["global"]
        url = str(p["Url"])
        arn = f"arn:aws:iam::{account_id}:oidc-provider/{url.removeprefix('https://')}"
        if arn in backend.open_id_providers:  # IAM's words, not moto's "Unknown"
            raise EntityAlreadyExists(f"Provider with url {url} already exists.")
        provider = backend.create_open_id_connect_provider(
            url=p["Url"],
            thumbprint_list=list(p.get("ThumbprintList") or []),
            client_id_list=list(p.get("ClientIdList") or []),
            tags=list(p.get("Tags") or []),
        )
        return cls(provider.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.iam.models import iam_backends

        iam_backends[account_id]["global"].delete_open_id_connect_provider(self.arn)


TYPES: tuple[type[CloudFormationModel], ...] = (
    OIDCProvider,
    Alarm,
    BucketPolicy,
    ScalableTarget,
    ScalingPolicy,
    DataQualityJobDefinition,
    MonitoringSchedule,
)
