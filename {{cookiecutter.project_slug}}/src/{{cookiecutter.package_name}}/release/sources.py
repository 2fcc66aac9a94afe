"""Models trained elsewhere: an S3 artifact, or a version of a SageMaker model package group.

Either becomes what `invoke package` makes, ModelFiles in the deploy's folder (the archive,
its sha256 and its monitoring baseline) with its hold-out metrics, and from there the
one pipeline takes it like a built model: the archive is copied to the environment's bucket
at its content address (models/<sha256>/model.tar.gz), the templates name that address, the
gate and the behaviour diff judge it, and the record names where it came from. Nothing is
planned until the bytes are here and checked, so a refusal changes nothing.

- An artifact (`[environments.E.model] source = "artifact"`) names its sha256; a download
  with another digest is refused. Its metrics are model-quality statistics as Model Monitor
  writes them (binary_classification_metrics, "Model quality metrics and Amazon CloudWatch
  monitoring", https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html),
  and with Model Monitor its baseline prefix holds statistics.json and constraints.json.
  It is served by the framework's image, like a built model.
- A package (`source = "package"`, or `--model-package`) must be Approved (a training
  pipeline registers PendingManualApproval; a person approves). Its one container's image
  and environment are served as the package names them (its ImageDigest is documented as
  the training image's, so it is not used to pin); its metrics are
  ModelMetrics.ModelQuality.Statistics, its baseline DriftCheckBaselines.ModelDataQuality
  (or ModelMetrics.ModelDataQuality). SageMaker serves a model only from an image "in the
  same region as the model or endpoint you are creating" (ContainerDefinition,
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html),
  so an image of another region is refused here rather than by CreateModel mid-deploy.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..config import ARTIFACT, LATEST_APPROVED, PACKAGE, PACKAGE_GROUP, Environment, ModelSource
from ..digests import sha256_of
from ..errors import AwsError, Refusal
from ..images import Container, ecr_image_parts
from ..model.gate import ACCURACY, ROC_AUC
from ..model.packaged import ARCHIVE, BASELINE_DIR, HANDLER, ModelFiles
from .aws import Aws, error_code, one_line
from .registry import APPROVED

BASELINE_FILES = ("statistics.json", "constraints.json")
_S3 = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.+)$")
_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):model-package/"
    r"(?P<group>[^/]+)/(?P<version>\d+)$"
)


@dataclass(frozen=True)
class External:
    """A model trained elsewhere, fetched and checked into the deploy's folder."""

    files: ModelFiles
    metrics: Mapping[str, float]  # accuracy and roc_auc, from its model-quality statistics
    container: Container | None  # a package's own; None: the framework's image serves it
    origin: Mapping[str, str]  # what the record keeps: kind, uri, and package and image


def check_image(image: str, environment: Environment, where: str) -> str:
    """The image, if SageMaker can serve it in the environment's region, else a Refusal."""
    parts = ecr_image_parts(image)
    if parts is None:
        raise Refusal(f"{where}: image {image!r} is not an Amazon ECR image URI")
    if parts["region"] != environment.region:
        raise Refusal(
            f"{where}: image {image} is in {parts['region']}, but SageMaker serves a model "
            f"only from an image in the endpoint's region ({environment.region}); copy it there"
        )
    return image


def _s3(uri: str) -> tuple[str, str]:
    match = _S3.match(uri)
    if match is None:
        raise Refusal(f"{uri!r} is not an s3://bucket/key URI")
    return match.group("bucket"), match.group("key")


def _download(aws: Aws, uri: str, target: Path) -> Path:
    bucket, key = _s3(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        aws.client("s3").download_file(bucket, key, str(target))
    except ClientError as error:
        raise Refusal(f"cannot read {uri} ({one_line(error)})") from None
    return target


def quality_metrics(document: Any, where: str) -> dict[str, float]:
    """accuracy and roc_auc from model-quality statistics (binary_classification_metrics)."""
    try:
        metrics = document["binary_classification_metrics"]
        found = {ACCURACY: metrics["accuracy"]["value"], ROC_AUC: metrics["auc"]["value"]}
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in found.values()):
            raise TypeError("not numbers")
    except (KeyError, TypeError) as error:
        raise Refusal(
            f"{where} is not model-quality statistics: it needs "
            f"binary_classification_metrics.accuracy.value and .auc.value ({error})"
        ) from None
    return {name: float(value) for name, value in found.items()}


def _metrics(aws: Aws, uri: str, folder: Path) -> dict[str, float]:
    path = _download(aws, uri, folder / "evaluation.json")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise Refusal(f"{uri} is not JSON model-quality statistics") from None
    finally:
        path.unlink(missing_ok=True)
    return quality_metrics(document, uri)


def _fetch(aws: Aws, model_uri: str, baseline: Mapping[str, str], outdir: Path) -> ModelFiles:
    """The archive and baseline files in outdir, as package_model would have written them;
    the archive last, so its presence means the rest is there."""
    files = {
        name: _download(aws, uri, outdir / BASELINE_DIR / name) for name, uri in baseline.items()
    }
    archive = _download(aws, model_uri, outdir / ARCHIVE)
    return ModelFiles(path=archive, sha256=sha256_of(archive), baseline=files)


def fetch_artifact(aws: Aws, source: ModelSource, outdir: Path, handler: bool = True) -> External:
    """[model] source = "artifact": the archive, checked against its sha256, and its files."""
    baseline = {name: source.baseline + name for name in BASELINE_FILES} if source.baseline else {}
    metrics = _metrics(aws, source.metrics, outdir)
    files = _fetch(aws, source.uri, baseline, outdir)
    if files.sha256 != source.sha256:
        raise Refusal(
            f"{source.uri} has sha256 {files.sha256}, not the {source.sha256} "
            "[model] sha256 names; check what was uploaded there, or name its sha256"
        )
    if handler and HANDLER not in _members(files.path):
        # A framework image runs code/inference.py from the archive (SAGEMAKER_PROGRAM);
        # without it the endpoint would fail to start, mid-deploy.
        raise Refusal(
            f"{source.uri} has no {HANDLER}, which the framework image runs; package the "
            "model with its handler, as invoke package does"
        )
    return External(files, metrics, None, {"kind": ARTIFACT, "uri": source.uri})


def _members(archive: Path) -> set[str]:
    """The file names in a model.tar.gz ("./" prefixes dropped); a broken archive is a
    Refusal."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return {name.removeprefix("./") for name in tar.getnames()}
    except (OSError, EOFError, tarfile.TarError) as error:
        raise Refusal(f"{archive.name} is not a readable .tar.gz ({error})") from None


def package_arn(environment: Environment, group: str, version: int, partition: str) -> str:
    return (
        f"arn:{partition}:sagemaker:{environment.region}:{environment.account}:"
        f"model-package/{group}/{version}"
    )


def resolve_package(
    aws: Aws, environment: Environment, wanted: str, group: str, partition: str = "aws"
) -> dict[str, Any]:
    """DescribeModelPackage of the version `wanted` names (a number, "latest-approved", or a
    versioned ARN), refused in one line unless it is an Approved version of `group` ("" when
    the ARN alone names it)."""
    sagemaker = aws.client("sagemaker")
    match = _PACKAGE_ARN.match(wanted)
    if match is not None:
        where = (match.group("account"), match.group("region"))
        if where != (environment.account, environment.region):
            # The package's artifact must be in the model's region (ModelDataUrl, "must be
            # in the same region as the model package"), and this project reads packages of
            # the environment's own account only (no cross-account resource policy).
            raise Refusal(
                f"{wanted} is a package of account {where[0]} in {where[1]}; "
                f"{environment.name} deploys packages of its own account "
                f"{environment.account} in {environment.region}"
            )
        if group and match.group("group") != group:
            raise Refusal(
                f"{wanted} belongs to model package group {match.group('group')}, not "
                f"{group}, which [environments.{environment.name}.model] names"
            )
        group, arn = match.group("group"), wanted
    elif not group or not PACKAGE_GROUP.match(group):
        raise Refusal(
            f"--model-package {wanted} needs a group: set [environments.{environment.name}"
            '.model] source = "package" with its group, or give the version\'s full ARN'
        )
    elif wanted == LATEST_APPROVED:
        # SageMaker filters by approval after it cuts a page, so a page can be empty while
        # older approved versions follow (the SageMaker Python SDK's
        # get_most_recently_created_approved_model_package pages on for the same reason).
        pages = sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group,
            ModelApprovalStatus=APPROVED,
            SortBy="CreationTime",
            SortOrder="Descending",
        )
        found = [s for page in pages for s in page.get("ModelPackageSummaryList", [])][:1]
        if not found:
            raise Refusal(
                f"model package group {group} has no Approved version; approve one in the "
                "registry first"
            )
        arn = str(found[0]["ModelPackageArn"])
    elif wanted.isdigit() and int(wanted) > 0:
        arn = package_arn(environment, group, int(wanted), partition)
    else:
        raise Refusal(
            f"--model-package {wanted!r} is not a version number, {LATEST_APPROVED!r} or a "
            "version's ARN"
        )
    try:
        described: dict[str, Any] = sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if error_code(error) in {"ValidationException", "ResourceNotFound"}:
            raise Refusal(f"model package {arn} does not exist ({one_line(error)})") from None
        raise
    status = described.get("ModelApprovalStatus", "")
    if status != APPROVED:
        raise Refusal(
            f"version {described.get('ModelPackageVersion')} of {group} is "
            f"{status or 'not approved'}, not {APPROVED}; deploy only an approved model "
            "(approve it in the registry first)"
        )
    return described


def fetch_package(
    aws: Aws,
    environment: Environment,
    described: Mapping[str, Any],
    outdir: Path,
    artifacts: str = "",
) -> External:
    """An Approved package's archive, image, environment, metrics and (with Model Monitor)
    baseline; every file under `artifacts` (the [model] prefix) where one is set."""
    monitored = environment.monitoring is not None
    arn = str(described["ModelPackageArn"])
    containers = described.get("InferenceSpecification", {}).get("Containers", [])
    if len(containers) != 1:
        raise Refusal(f"{arn} has {len(containers)} containers; this project serves exactly one")
    container = containers[0]
    image = str(container.get("Image", ""))
    check_image(image, environment, arn)
    model_uri = str(container.get("ModelDataUrl", ""))
    if not model_uri.endswith(".tar.gz"):
        raise Refusal(f"{arn} has no model.tar.gz ModelDataUrl ({model_uri or 'none'})")
    quality = described.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {})
    if not quality.get("S3Uri"):
        raise Refusal(
            f"{arn} has no ModelMetrics.ModelQuality.Statistics; the quality gate needs its "
            "hold-out metrics (register them with the version)"
        )
    baseline: dict[str, str] = {}
    if monitored:
        data = described.get("DriftCheckBaselines", {}).get("ModelDataQuality") or described.get(
            "ModelMetrics", {}
        ).get("ModelDataQuality", {})
        uris = {
            name: str(data.get(key, {}).get("S3Uri", ""))
            for name, key in zip(BASELINE_FILES, ("Statistics", "Constraints"), strict=True)
        }
        if not all(uris.values()):
            raise Refusal(
                f"{arn} has no DriftCheckBaselines.ModelDataQuality statistics and "
                "constraints; Model Monitor compares the endpoint's traffic with them (register "
                "them with the version)"
            )
        baseline = uris
    for uri in (model_uri, str(quality["S3Uri"]), *baseline.values()):
        if artifacts and not uri.startswith(artifacts):
            raise Refusal(
                f"{arn} names {uri}, outside {artifacts}, where [model] artifacts says its "
                "training pipeline writes; deploy only what that pipeline made"
            )
    metrics = _metrics(aws, str(quality["S3Uri"]), outdir)
    files = _fetch(aws, model_uri, baseline, outdir)
    origin = {"kind": PACKAGE, "uri": model_uri, "package": arn, "image": image}
    environment_of = container.get("Environment") or {}
    remote = sorted(key for key, value in environment_of.items() if str(value).startswith("s3://"))
    if remote:
        # A model registered without repacking its code (the SageMaker Python SDK's script
        # mode) points SAGEMAKER_SUBMIT_DIRECTORY at a sourcedir.tar.gz beside the model:
        # code outside the archive, neither checked here nor readable by the serving role.
        raise Refusal(
            f"{arn}'s container environment {remote[0]} names {environment_of[remote[0]]}, "
            "code outside its model.tar.gz; register the model with its code packed into the "
            "archive (code/inference.py)"
        )
    pairs = tuple(sorted((str(k), str(v)) for k, v in environment_of.items()))
    return External(files, metrics, Container(image, pairs), origin)


def chosen_source(environment: Environment, model_package: str | None) -> ModelSource:
    """The environment's [model] source, or the package --model-package names (a version of
    the environment's package group, "latest-approved", or a version's ARN)."""
    if model_package is None:
        return environment.model
    configured = environment.model if environment.model.kind == PACKAGE else ModelSource()
    return ModelSource(
        PACKAGE, group=configured.group, version=model_package, artifacts=configured.artifacts
    )


def fetch_external(
    aws: Aws, environment: Environment, source: ModelSource, outdir: Path, *, own_image: bool
) -> External:
    """An artifact or a package source, fetched into outdir and checked (module doc); AWS
    refusing a read (a role without access to the group or the bucket) is one line."""
    try:
        if source.kind == ARTIFACT:  # a team's own image ([model] image) runs what it runs
            return fetch_artifact(aws, source, outdir, handler=not own_image)
        described = resolve_package(aws, environment, source.version, source.group)
        return fetch_package(aws, environment, described, outdir, source.artifacts)
    except ClientError as error:
        raise AwsError(f"cannot read the model source ({source.kind}): {one_line(error)}") from None
