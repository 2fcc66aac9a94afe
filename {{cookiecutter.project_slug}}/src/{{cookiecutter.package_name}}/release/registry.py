"""The SageMaker model registry of an environment: each model it served is an approved version.

After a deploy or rollback of E executes and verifies, the model E now serves is registered
in the model package group "<project>-<env>" (created here on first use: moto skips
AWS::SageMaker::ModelPackageGroup, and the group is the pipeline's bookkeeping, not a stack's),
unless the group's newest version already names the same sha256. So the newest version is
always what E serves, and `invoke rollback --to-model-package N` can put version N back.

The registry is an index of what the ledger records, not the record itself. A registration
that fails after a deploy succeeded does not fail the deploy: the endpoint serves the
verified model, the record is written (without a model package) and the command exits 0,
with one warning line saying what failed. The exit code and the record keep meaning "what E
runs", which promotion and tagging rely on; a re-run could not repair the registry anyway (it
plans no changes), while the next deploy or rollback registers what it serves, and
`invoke rollback --to <deploy-id>` reaches every recorded deploy without the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape

from ..bucket_layout import MODELS_PREFIX, model_key
from ..config import Environment, Project, Settings
from ..errors import Refusal
from ..model.inference import CSV, JSON
from .aws import error_code, one_line

APPROVED = "Approved"
# CustomerMetadataProperties keys on every version a deploy registers.
SHA256_KEY = "model-sha256"
DEPLOY_ID_KEY = "deploy-id"
COMMIT_KEY = "commit"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_VERSION_ARN = re.compile(r"^arn:[^:]+:sagemaker:[^:]*:\d*:model-package/[^/]+/(\d+)$")


def group_name(project: Project, environment: Environment) -> str:
    return f"{project.name}-{environment.name}"


def version_of(arn: str) -> int | None:
    """The version number at the end of a versioned model package ARN (None if it is not one)."""
    match = _VERSION_ARN.match(arn)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ModelPackage:
    """One version of a group, as registration and rollback read it."""

    arn: str
    version: int
    approval: str
    model_data_url: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    image: str = ""  # the image of its one container
    environment: Mapping[str, str] = field(default_factory=dict)  # and its environment

    @property
    def model_sha256(self) -> str:
        return self.metadata.get(SHA256_KEY, "")

    @classmethod
    def from_description(cls, described: Mapping[str, Any]) -> ModelPackage:
        """From a DescribeModelPackage answer."""
        containers = described.get("InferenceSpecification", {}).get("Containers", [])
        return cls(
            arn=str(described["ModelPackageArn"]),
            version=int(described.get("ModelPackageVersion", 0)),
            approval=str(described.get("ModelApprovalStatus", "")),
            model_data_url=str(containers[0].get("ModelDataUrl", "")) if containers else "",
            metadata=dict(described.get("CustomerMetadataProperties") or {}),
            image=str(containers[0].get("Image", "")) if containers else "",
            environment=dict(containers[0].get("Environment") or {}) if containers else {},
        )


def package_request(
    *,
    group: str,
    model_sha256: str,
    bucket: str,
    container: Mapping[str, Any],
    deploy_id: str,
    commit: str,
) -> dict[str, Any]:
    """The CreateModelPackage call for a served model: the served container's image and
    environment, the content-addressed artifact, approved, traced to its deploy and commit."""
    definition: dict[str, Any] = {
        "Image": str(container["Image"]),
        "ModelDataUrl": f"s3://{bucket}/{model_key(model_sha256)}",
    }
    if container.get("Environment"):
        definition["Environment"] = dict(container["Environment"])
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"served by deploy {deploy_id} (commit {commit[:7]})",
        "InferenceSpecification": {
            "Containers": [definition],
            "SupportedContentTypes": [JSON, CSV],
            "SupportedResponseMIMETypes": [JSON],
        },
        "ModelApprovalStatus": APPROVED,
        "CustomerMetadataProperties": {
            SHA256_KEY: model_sha256,
            DEPLOY_ID_KEY: deploy_id,
            COMMIT_KEY: commit,
        },
    }


def rollback_candidate(
    package: ModelPackage | None, *, number: int, group: str, bucket: str
) -> ModelPackage:
    """Version `number` (package) if a rollback may serve its model, else a Refusal saying why.

    Only an approved version registered for this environment's bucket qualifies: its
    artifact URL must be the content address of the sha256 its metadata names.
    """
    if package is None:
        raise Refusal(f"model package group {group} has no version {number}")
    if package.approval != APPROVED:
        raise Refusal(
            f"version {number} of {group} is {package.approval or 'not approved'}, not "
            f"{APPROVED}; roll back only to an approved model"
        )
    sha256 = package.model_sha256
    if not _SHA256.match(sha256) or package.model_data_url != f"s3://{bucket}/{model_key(sha256)}":
        raise Refusal(
            f"version {number} of {group} has {SHA256_KEY} {sha256 or '(none)'} and artifact "
            f"{package.model_data_url or '(none)'}; only versions a deploy registered "
            f"(s3://{bucket}/{MODELS_PREFIX}<sha256>/model.tar.gz) can be rolled back to"
        )
    return package


def _missing_group(error: ClientError) -> bool:
    # DescribeModelPackageGroup answers a missing group with a ValidationException.
    return error_code(error) == "ValidationException" and "does not exist" in str(error)


class Registry:
    """The model package group of one environment, through a SageMaker client."""

    def __init__(self, sagemaker: Any, group: str) -> None:
        self.sagemaker = sagemaker
        self.group = group

    def exists(self) -> bool:
        try:
            self.sagemaker.describe_model_package_group(ModelPackageGroupName=self.group)
        except ClientError as error:
            if _missing_group(error):
                return False
            raise
        return True

    def ensure_group(self, description: str) -> None:
        if not self.exists():
            self.sagemaker.create_model_package_group(
                ModelPackageGroupName=self.group, ModelPackageGroupDescription=description
            )

    def versions(self) -> list[tuple[int, str]]:
        """(version, ARN) of every version in the group, newest first."""
        paginator = self.sagemaker.get_paginator("list_model_packages")
        found = [
            (int(summary["ModelPackageVersion"]), str(summary["ModelPackageArn"]))
            for page in paginator.paginate(ModelPackageGroupName=self.group)
            for summary in page.get("ModelPackageSummaryList", [])
            if summary.get("ModelPackageVersion")
        ]
        return sorted(found, reverse=True)

    def describe(self, arn: str) -> ModelPackage:
        described = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return ModelPackage.from_description(described)

    def newest(self) -> ModelPackage | None:
        versions = self.versions()
        return self.describe(versions[0][1]) if versions else None

    def version(self, number: int) -> ModelPackage | None:
        arns = [arn for version, arn in self.versions() if version == number]
        return self.describe(arns[0]) if arns else None

    def register(self, request: Mapping[str, Any]) -> ModelPackage:
        arn = self.sagemaker.create_model_package(**request)["ModelPackageArn"]
        return self.describe(str(arn))


def served_container(sagemaker: Any, endpoint_config: str) -> dict[str, Any]:
    """The primary container (image, environment) of the model an endpoint config serves."""
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint_config)
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    container: dict[str, Any] = model["PrimaryContainer"]
    return container


@dataclass(frozen=True)
class Served:
    """What a verified deploy serves, as the registry needs it."""

    model_sha256: str
    endpoint_config: str
    deploy_id: str
    commit: str
    bucket: str


def register_served_model(
    sagemaker: Any, project: Project, environment: Environment, served: Served
) -> tuple[ModelPackage, bool]:
    """(the version naming the served model, whether this call created it)."""
    registry = Registry(sagemaker, group_name(project, environment))
    registry.ensure_group(f"Models served by {project.name} in {environment.name}")
    newest = registry.newest()
    if newest is not None and newest.model_sha256 == served.model_sha256:
        return newest, False
    request = package_request(
        group=registry.group,
        model_sha256=served.model_sha256,
        bucket=served.bucket,
        container=served_container(sagemaker, served.endpoint_config),
        deploy_id=served.deploy_id,
        commit=served.commit,
    )
    return registry.register(request), True


def register_after_verify(
    settings: Settings,
    environment: Environment,
    sagemaker: Any,
    served: Served | None,
    out: Console,
) -> str:
    """Register the model a verified deploy serves; the version's ARN, or "" when the registry
    is off, the deploy was not verified (served is None), or registering failed (after one
    warning line)."""
    if served is None or not settings.release.model_registry:
        return ""
    group = group_name(settings.project, environment)
    try:
        package, created = register_served_model(sagemaker, settings.project, environment, served)
    except Exception as error:  # nothing here may cost a deploy that changed E its record
        out.print(
            f"[bold yellow]warning: {environment.name} serves the verified model and the deploy "
            f"is recorded, but registering it in model package group {group} failed "
            f"({escape(type(error).__name__ + ': ' + one_line(error))})",
            soft_wrap=True,  # one line, however long the group name
        )
        return ""
    said = "registered" if created else "already the newest version:"
    out.print(f"model registry: {said} {group} version {package.version} ({package.arn})")
    return package.arn
