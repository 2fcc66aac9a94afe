"""Model Monitor: a data-quality schedule comparing captured traffic with the model's baseline.

This module is optional: the template leaves it out when include_model_monitor is "n", and
app.py adds the stack only where it exists and an environment has a [monitoring] table.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import CfnResource, Names, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ..bucket_layout import baseline_key, data_capture_prefix, monitoring_prefix
from ..config import Environment, Monitoring, Project
from ..images import ecr_repository_arn, model_monitor_image
from ..naming import MODEL_NAME_DIGITS
from .artifacts_stack import import_artifacts_bucket
from .encryption import key_id, use_key
from .permissions import (
    Grant,
    allow,
    pull_image,
    put_metrics,
    read_objects,
    sagemaker_role,
    write_logs,
    write_objects,
)

SAGEMAKER = sagemaker.CfnDataQualityJobDefinition


def content_name(
    scope: Construct, resource: CfnResource, *, model_sha256: str, max_length: int
) -> str:
    """A unique name for `resource` that changes whenever one of its properties does.

    `<construct path, cut short>-<8 hex: digest of the properties but the model>-<the model
    sha256's first 12 hex>`. A new model renames it through the last part, which a
    model rollback re-points along with the rest of the template (rollback.repoint_model);
    any other change through the digest.
    """
    properties = json.dumps(Stack.of(scope).resolve(resource._cfn_properties), sort_keys=True)
    digest = hashlib.sha256(properties.replace(model_sha256, "<model>").encode()).hexdigest()
    suffix = f"-{digest[:8]}-{model_sha256[:MODEL_NAME_DIGITS]}"
    prefix = Names.unique_resource_name(
        resource, max_length=max_length - len(suffix), separator="-"
    )
    return prefix + suffix


class DataQualityMonitor(Construct):
    """A scheduled Model Monitor data-quality job on one endpoint.

    Attributes: ``role``, ``policy`` (its permissions; the stack adds them),
    ``job_definition`` and ``schedule``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        endpoint_name: str,
        image_uri: str,
        settings: Monitoring,
        statistics_uri: str,
        constraints_uri: str,
        output_uri: str,
        model_sha256: str,
        kms_key_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.role, self.policy = sagemaker_role(
            self, f"Runs Model Monitor data-quality jobs on {endpoint_name}"
        )
        # Every property of a data-quality job definition is create-only, so a new baseline
        # (every new model) replaces it, and CloudFormation refuses to replace a resource
        # under the name it already has ("CloudFormation cannot update a stack when a
        # custom-named resource requires replacing", Name type,
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html).
        # JobDefinitionName is optional, but the schedule names its job and the type returns
        # only its ARN (lowercased by SageMaker); so the name carries a digest of the
        # definition: whatever replaces it also renames it, and the schedule follows in place.
        self.job_definition = SAGEMAKER(
            self,
            "JobDefinition",
            endpoint_name=endpoint_name,
            role_arn=self.role.role_arn,
            data_quality_app_specification=SAGEMAKER.DataQualityAppSpecificationProperty(
                image_uri=image_uri
            ),
            data_quality_job_input=SAGEMAKER.DataQualityJobInputProperty(
                endpoint_input=SAGEMAKER.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_baseline_config=SAGEMAKER.DataQualityBaselineConfigProperty(
                statistics_resource=SAGEMAKER.StatisticsResourceProperty(s3_uri=statistics_uri),
                constraints_resource=SAGEMAKER.ConstraintsResourceProperty(s3_uri=constraints_uri),
            ),
            data_quality_job_output_config=SAGEMAKER.MonitoringOutputConfigProperty(
                kms_key_id=kms_key_id,
                monitoring_outputs=[
                    SAGEMAKER.MonitoringOutputProperty(
                        s3_output=SAGEMAKER.S3OutputProperty(
                            local_path="/opt/ml/processing/output",
                            s3_uri=output_uri,
                            s3_upload_mode="EndOfJob",
                        )
                    )
                ],
            ),
            job_resources=SAGEMAKER.MonitoringResourcesProperty(
                cluster_config=SAGEMAKER.ClusterConfigProperty(
                    instance_count=1,
                    instance_type=settings.instance_type,
                    volume_size_in_gb=20,
                    volume_kms_key_id=kms_key_id,
                )
            ),
            network_config=SAGEMAKER.NetworkConfigProperty(
                enable_inter_container_traffic_encryption=True
            ),
            stopping_condition=SAGEMAKER.StoppingConditionProperty(
                max_runtime_in_seconds=settings.max_runtime_seconds
            ),
        )
        self.job_definition.job_definition_name = content_name(
            self, self.job_definition, model_sha256=model_sha256, max_length=63
        )
        self.job_definition.node.add_dependency(self.policy)
        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=Names.unique_resource_name(self, max_length=63, separator="-"),
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition.job_definition_name,
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=settings.schedule
                ),
            ),
        )
        # The schedule names its job definition by a plain string, so CloudFormation sees no
        # reference: without this it creates both at once and the schedule can fail to
        # find its job.
        self.schedule.add_dependency(self.job_definition)


class MonitoringStack(Stack):
    """Model Monitor for one environment's endpoint (deployed after the serving stack).

    Attributes: ``bucket`` (imported) and ``monitor`` (DataQualityMonitor).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        environment: Environment,
        settings: Monitoring,
        endpoint_name: str,
        model_sha256: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.bucket = import_artifacts_bucket(self, project, environment)
        baseline = baseline_key(model_sha256, "*")
        capture = f"{data_capture_prefix(environment.name)}*"
        reports = f"{monitoring_prefix(environment.name)}*"
        self.monitor = DataQualityMonitor(
            self,
            "DataQuality",
            endpoint_name=endpoint_name,
            image_uri=model_monitor_image(environment.region, self.url_suffix),
            settings=settings,
            statistics_uri=self.bucket.s3_url_for_object(
                baseline_key(model_sha256, "statistics.json")
            ),
            constraints_uri=self.bucket.s3_url_for_object(
                baseline_key(model_sha256, "constraints.json")
            ),
            output_uri=self.bucket.s3_url_for_object(monitoring_prefix(environment.name)),
            model_sha256=model_sha256,
            kms_key_id=key_id(self, project, environment),
        )
        describe_endpoint = iam.PolicyStatement(
            actions=["sagemaker:DescribeEndpoint"],
            resources=[
                self.format_arn(
                    service="sagemaker", resource="endpoint", resource_name=endpoint_name
                )
            ],
        )
        list_inputs = iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [capture, baseline]}},
        )
        allow(
            self.monitor.policy,
            [
                read_objects(self.bucket, baseline),
                read_objects(self.bucket, capture),
                write_objects(self.bucket, reports),
                Grant(describe_endpoint),
                Grant(list_inputs),
                *pull_image(
                    self, ecr_repository_arn("model_monitor", environment.region, self.partition)
                ),
                write_logs(self, environment, "/aws/sagemaker/ProcessingJobs*"),
                put_metrics("StringLike", "aws/sagemaker/Endpoints/*"),
                # Read captured requests and the baseline, write reports, encrypt the job's
                # volume (a grant for its EBS volume) with the environment's key.
                *use_key(
                    self,
                    project,
                    environment,
                    ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"],
                ),
            ],
            "Scoped wildcards: this model's baseline files, this environment's captured "
            "requests and monitoring reports, the processing-job log groups SageMaker names; "
            "ecr:GetAuthorizationToken has no resource level and PutMetricData is limited by "
            "a namespace condition; key/* only where the key carries this environment's alias "
            "(kms:ResourceAliases: IAM cannot name a key by its alias).",
        )
