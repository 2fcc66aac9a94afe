"""Models trained elsewhere (release/sources.py): an S3 artifact with its sha256, and an
Approved version of a SageMaker model package group, deployed through the one pipeline
against the local AWS; the endpoint's model must name the intended artifact and image."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from {{ cookiecutter.package_name }}.access.evaluate import Decision, Request, evaluate
from {{ cookiecutter.package_name }}.access.policies import deploy_policy, scope_of
from {{ cookiecutter.package_name }}.access.template import resource_types
from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import AwsError, ConfigError
from {{ cookiecutter.package_name }}.model.package import build_archive, package_model
from {{ cookiecutter.package_name }}.model.packaged import PackagedModel
from {{ cookiecutter.package_name }}.model.settings import load
from {{ cookiecutter.package_name }}.release import sources
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, DeployRequest, deploy

from .conftest import CONFIG_PATH, PROJECT_ROOT, framework_image, local_document
from .conftest import aws_client as client
from .test_release_deploy import BUCKET, CONFIRM, commit, refused, run
from .test_release_rollback import roll

TRAINING = "acme-training-123456789012"  # where a training job writes its outputs
GROUP = "threat-models"  # the model package group a training pipeline writes
ARTIFACTS = f"s3://{TRAINING}/"  # where it writes the models, metrics and baselines
# A team's own serving image, unlike any framework's a bake can choose.
PACKAGE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/threat-scorer:7"
SERVING_ENV = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
}


def statistics(accuracy: float, auc: float) -> dict[str, Any]:
    """Model-quality statistics as Model Monitor writes them (binary classification)."""
    return {
        "version": 0.0,
        "binary_classification_metrics": {
            "accuracy": {"value": accuracy, "standard_deviation": "NaN"},
            "auc": {"value": auc, "standard_deviation": "NaN"},
        },
    }


def upload_run(
    aws: str,
    tmp_path: Path,
    run_id: str,
    *,
    accuracy: float = 0.9,
    auc: float = 0.92,
    regularization: float = 1.0,
) -> tuple[str, PackagedModel]:
    """What a training job leaves in S3: s3://TRAINING/<run>/ with model.tar.gz,
    evaluation.json and baseline/{statistics,constraints}.json; the prefix and the model."""
    s3 = client(aws, "s3")
    if TRAINING not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=TRAINING)
    packaged = package_model(
        tmp_path / run_id, replace(load(PROJECT_ROOT), regularization=regularization)
    )
    s3.upload_file(str(packaged.path), TRAINING, f"{run_id}/output/model.tar.gz")
    body = json.dumps(statistics(accuracy, auc)).encode()
    s3.put_object(Bucket=TRAINING, Key=f"{run_id}/evaluation.json", Body=body)
    for name, path in packaged.baseline.items():
        s3.upload_file(str(path), TRAINING, f"{run_id}/baseline/{name}")
    return f"s3://{TRAINING}/{run_id}/", packaged


def with_model(aws: str, table: dict[str, Any]) -> Settings:
    document = local_document(aws)
    document["environments"]["local"]["model"] = table
    return parse(document, CONFIG_PATH)


def artifact_table(prefix: str, sha256: str) -> dict[str, Any]:
    return {
        "source": "artifact",
        "uri": f"{prefix}output/model.tar.gz",
        "sha256": sha256,
        "metrics": f"{prefix}evaluation.json",
        "baseline": f"{prefix}baseline/",
    }


def register(
    aws: str,
    prefix: str,
    *,
    status: str = "PendingManualApproval",
    group: str = GROUP,
    image: str = PACKAGE_IMAGE,
    metrics: bool = True,
) -> str:
    """What a training pipeline's RegisterModel step does: a new version of the group."""
    sagemaker = client(aws, "sagemaker")
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    if group not in {g["ModelPackageGroupName"] for g in groups}:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": image,
                    "ModelDataUrl": f"{prefix}output/model.tar.gz",
                    "Environment": SERVING_ENV,
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"{prefix}baseline/statistics.json",
                },
                "Constraints": {
                    "ContentType": "application/json",
                    "S3Uri": f"{prefix}baseline/constraints.json",
                },
            }
        },
    }
    if metrics:
        request["ModelMetrics"] = {
            "ModelQuality": {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": f"{prefix}evaluation.json",
                }
            }
        }
    return str(sagemaker.create_model_package(**request)["ModelPackageArn"])


def approve(aws: str, arn: str) -> None:
    client(aws, "sagemaker").update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved"
    )


def served(aws: str, endpoint: str) -> dict[str, Any]:
    """The primary container of the model the endpoint's config serves."""
    sagemaker = client(aws, "sagemaker")
    config = sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    variants = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    model = sagemaker.describe_model(ModelName=variants[0]["ModelName"])
    container: dict[str, Any] = model["PrimaryContainer"]
    return container


# --- an artifact ------------------------------------------------------------------------------


def test_an_artifact_is_served_from_its_content_address_with_the_framework_image(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, packaged = upload_run(aws, tmp_path, "run-7")
    settings = with_model(aws, artifact_table(prefix, packaged.sha256))
    outcome, said = run(settings, repo, execute=True)
    record = outcome.record
    assert record is not None and record.model_sha256 == packaged.sha256
    assert f"model {packaged.sha256} (" in said and f"from {prefix}output/model.tar.gz" in said
    assert record.model_source == {"kind": "artifact", "uri": f"{prefix}output/model.tar.gz"}
    assert record.model_metrics == {"accuracy": 0.9, "roc_auc": 0.92}
    container = served(aws, record.endpoint["name"])
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/models/{packaged.sha256}/model.tar.gz"
    assert container["Image"] == framework_image()
    objects = {o["Key"] for o in client(aws, "s3").list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"models/{packaged.sha256}/baseline/statistics.json" in objects


def test_an_artifact_whose_sha256_differs_is_refused_and_nothing_changes(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, packaged = upload_run(aws, tmp_path, "run-7")
    run(with_model(aws, artifact_table(prefix, packaged.sha256)), repo, execute=True)
    wrong = "0" * 64
    settings = with_model(aws, artifact_table(prefix, wrong))
    folders = sorted((repo / "build" / "deploys" / "local").iterdir())
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message == (
        f"{prefix}output/model.tar.gz has sha256 {packaged.sha256}, not the {wrong} [model] "
        "sha256 names; check what was uploaded there, or name its sha256"
    )
    assert sorted((repo / "build" / "deploys" / "local").iterdir()) == folders


def test_an_artifact_below_the_gate_is_refused_with_its_metrics(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, packaged = upload_run(aws, tmp_path, "run-8", accuracy=0.7, auc=0.95)
    settings = with_model(aws, artifact_table(prefix, packaged.sha256))
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message.startswith(
        "the model is below the quality gate: hold-out accuracy 0.7000 < min_accuracy 0.85"
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sha256": "abc"}, "sha256: 'abc' is not valid"),
        ({"uri": "s3://train-bkt/m.zip"}, "uri: 's3://train-bkt/m.zip' is not a model.tar.gz"),
        (
            {"uri": "https://example.com/model.tar.gz"},
            "uri: 'https://example.com/model.tar.gz' is not valid",
        ),
        ({"baseline": None}, "baseline: missing"),
        ({"group": "x"}, "group: unknown key"),
        ({"source": "registry"}, "source: 'registry' is not valid"),
    ],
)
def test_a_bad_artifact_table_is_one_line(aws: str, change: dict[str, Any], problem: str) -> None:
    monitored = "monitoring" in local_document(aws)["environments"]["local"]
    if "baseline" in change and not monitored:
        pytest.skip("without Model Monitor an artifact needs no baseline")
    table = artifact_table("s3://train-bkt/run/", "a" * 64)
    table.update(change)
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigError) as raised:
        with_model(aws, table)
    assert f"environments.local.model.{problem}" in str(raised.value)
    assert "\n" not in str(raised.value)


# --- a registry package -----------------------------------------------------------------------


def test_a_package_must_be_approved_and_then_serves_its_own_image(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, packaged = upload_run(aws, tmp_path, "run-9")
    arn = register(aws, prefix)
    settings = with_model(
        aws, {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 1}
    )
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message == (
        f"version 1 of {GROUP} is PendingManualApproval, not Approved; deploy only an approved "
        "model (approve it in the registry first)"
    )
    approve(aws, arn)
    outcome, _ = run(settings, repo, execute=True)
    record = outcome.record
    assert record is not None and record.model_sha256 == packaged.sha256
    assert record.model_source == {
        "kind": "package",
        "uri": f"{prefix}output/model.tar.gz",
        "package": arn,
        "image": PACKAGE_IMAGE,
    }
    container = served(aws, record.endpoint["name"])
    assert container["Image"] == PACKAGE_IMAGE
    assert container["Environment"] == SERVING_ENV
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/models/{packaged.sha256}/model.tar.gz"
    assert record.model_metrics == {"accuracy": 0.9, "roc_auc": 0.92}


def test_latest_approved_takes_the_newest_approved_version(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    first, _ = upload_run(aws, tmp_path, "run-1")
    second, newer = upload_run(aws, tmp_path, "run-2", regularization=0.05)
    third, _ = upload_run(aws, tmp_path, "run-3", regularization=0.5)
    approve(aws, register(aws, first))
    approve(aws, register(aws, second))
    register(aws, third)  # pending: not a candidate
    settings = with_model(
        aws,
        {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": "latest-approved"},
    )
    outcome, _ = run(settings, repo, execute=True)
    assert outcome.record is not None and outcome.record.model_sha256 == newer.sha256
    assert outcome.record.model_source["package"].endswith(f"/{GROUP}/2")


def deploy_package(settings: Settings, repo: Path, wanted: str) -> DeployOutcome:
    """invoke deploy --env local --execute --model-package WANTED."""
    return deploy(
        settings,
        DeployRequest(environment="local", execute=True, model_package=wanted),
        root=repo,
        environ=CONFIRM,
        out=Console(file=io.StringIO(), width=200),
    )


def test_model_package_overrides_the_source_for_one_deploy(
    aws: str, local_settings: Settings, repo: Path, tmp_path: Path
) -> None:
    prefix, packaged = upload_run(aws, tmp_path, "run-4")
    arn = register(aws, prefix)
    approve(aws, arn)
    message = refused(aws, lambda: deploy_package(local_settings, repo, "1"))
    assert message.startswith("--model-package 1 needs a group: set [environments.local.model]")
    grouped = with_model(
        aws, {"source": "package", "group": "team-models", "artifacts": ARTIFACTS, "version": 1}
    )
    message = refused(aws, lambda: deploy_package(grouped, repo, arn))
    assert message == (
        f"{arn} belongs to model package group {GROUP}, not team-models, which "
        "[environments.local.model] names"
    )
    foreign = arn.replace(":123456789012:", ":999999999999:")
    message = refused(aws, lambda: deploy_package(local_settings, repo, foreign))
    assert message == (
        f"{foreign} is a package of account 999999999999 in us-east-1; local deploys packages "
        "of its own account 123456789012 in us-east-1"
    )
    message = refused(aws, lambda: deploy_package(grouped, repo, "newest"))
    assert "is not a version number, 'latest-approved' or a version's ARN" in message
    outcome = deploy_package(local_settings, repo, arn)  # a build environment, one package
    assert outcome.record is not None and outcome.record.model_sha256 == packaged.sha256
    assert outcome.record.model_source["package"] == arn


def test_a_package_without_metrics_or_in_another_region_is_refused(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, _ = upload_run(aws, tmp_path, "run-5")
    approve(aws, register(aws, prefix, metrics=False))
    settings = with_model(
        aws, {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 1}
    )
    message = refused(aws, lambda: run(settings, repo))
    assert "has no ModelMetrics.ModelQuality.Statistics; the quality gate needs" in message
    elsewhere = PACKAGE_IMAGE.replace("us-east-1", "eu-west-1")
    approve(aws, register(aws, prefix, image=elsewhere))
    settings = with_model(
        aws, {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 2}
    )
    message = refused(aws, lambda: run(settings, repo))
    assert message.endswith(
        f"image {elsewhere} is in eu-west-1, but SageMaker serves a model only from an image "
        "in the endpoint's region (us-east-1); copy it there"
    )


def test_rollback_crosses_source_kinds_and_restores_each_image(
    aws: str, local_settings: Settings, repo: Path, tmp_path: Path
) -> None:
    built, _ = run(local_settings, repo, execute=True)
    prefix, packaged = upload_run(aws, tmp_path, "run-6", regularization=0.05)
    approve(aws, register(aws, prefix))
    settings = with_model(
        aws, {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 1}
    )
    commit(repo, "model-source.txt", "the package now\n")
    from_package, _ = run(settings, repo, execute=True)
    assert built.record is not None and from_package.record is not None
    endpoint = built.record.endpoint["name"]
    assert served(aws, endpoint)["Image"] == PACKAGE_IMAGE
    back, _ = roll(settings, repo, execute=True)
    assert back.record is not None and back.record.model_sha256 == built.record.model_sha256
    assert back.record.model_source == {"kind": "build"}
    assert served(aws, endpoint)["Image"] == framework_image()
    # The served group's version 2 is the package's model: re-pointing the live (built)
    # templates at it would serve it with the wrong image.
    message = refused(aws, lambda: roll(settings, repo, to_model_package=2))
    assert message == (
        f"version 2 of {settings.project.name}-local was served by image {PACKAGE_IMAGE} "
        f"with its own container environment, which the templates of {back.record.deploy_id} "
        "do not name; roll back with --to <deploy-id>, whose templates carry them"
    )
    forth, _ = roll(settings, repo, execute=True)
    assert forth.record is not None and forth.record.model_sha256 == packaged.sha256
    assert forth.record.model_source["kind"] == "package"
    assert served(aws, endpoint)["Image"] == PACKAGE_IMAGE


def test_a_package_with_files_outside_its_pipeline_prefix_is_refused(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    prefix, _ = upload_run(aws, tmp_path, "run-5")
    approve(aws, register(aws, prefix))
    table = {"source": "package", "group": GROUP, "version": 1}
    settings = with_model(aws, {**table, "artifacts": f"s3://{TRAINING}/approved/"})
    message = refused(aws, lambda: run(settings, repo))
    assert message.endswith(
        f"names {prefix}output/model.tar.gz, outside s3://{TRAINING}/approved/, where [model] "
        "artifacts says its training pipeline writes; deploy only what that pipeline made"
    )


def test_the_deploy_role_reads_only_its_model_source(aws: str) -> None:
    """In a bootstrapped environment the deploy role may read the package group's versions and
    its pipeline's prefix, or the artifact's three files, and nothing of another's."""
    package = with_model(
        aws, {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 1}
    )
    env = package.environment("local")
    policy = deploy_policy(scope_of(package, env), resource_types(env))
    version = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/3"
    assert (
        evaluate([policy], Request("sagemaker:DescribeModelPackage", version)) is Decision.ALLOWED
    )
    other = version.replace(GROUP, "other-models")
    assert evaluate([policy], Request("sagemaker:DescribeModelPackage", other)) is Decision.IMPLICIT
    inside = f"arn:aws:s3:::{TRAINING}/run-1/output/model.tar.gz"
    assert evaluate([policy], Request("s3:GetObject", inside)) is Decision.ALLOWED
    outside = "arn:aws:s3:::someone-else/run-1/output/model.tar.gz"
    assert evaluate([policy], Request("s3:GetObject", outside)) is Decision.IMPLICIT
    artifact = with_model(aws, artifact_table(f"s3://{TRAINING}/run-7/", "a" * 64))
    env = artifact.environment("local")
    policy = deploy_policy(scope_of(artifact, env), resource_types(env))
    for key in (
        "run-7/output/model.tar.gz",
        "run-7/evaluation.json",
        "run-7/baseline/statistics.json",
    ):
        assert (
            evaluate([policy], Request("s3:GetObject", f"arn:aws:s3:::{TRAINING}/{key}"))
            is Decision.ALLOWED
        )
    sibling = f"arn:aws:s3:::{TRAINING}/run-8/output/model.tar.gz"
    assert evaluate([policy], Request("s3:GetObject", sibling)) is Decision.IMPLICIT


# --- the framework that serves a built or artifact model ([model]) ----------------------------

PINNED = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team-scorer@sha256:" + "c" * 64


def serving_with(aws: str, table: dict[str, Any]) -> Settings:
    """The settings with this [model], and only the local environment: an image serves one
    region, and a bake's other environments may be in another."""
    document = local_document(aws)
    document["model"] = table
    document["environments"] = {"local": document["environments"]["local"]}
    document["release"]["environment"] = "local"
    return parse(document, CONFIG_PATH)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"framework": "tensorflow", "version": "2"}, "model.framework: 'tensorflow' is not valid"),
        (
            {"framework": "xgboost", "version": "0.9"},
            "model.version: images.json has no xgboost serving image '0.9' (it has 1.7-1, 3.0-5)",
        ),
        (
            {"framework": "image", "image": PINNED.split("@", maxsplit=1)[0] + ":latest"},
            "model.image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team-scorer:latest' is "
            "not valid",
        ),
        (
            {"framework": "image", "image": PINNED.replace("us-east-1", "eu-west-1")},
            "environments.local.region: 'us-east-1' is not the region of [model] image",
        ),
        ({"framework": "xgboost", "version": "1.7-1", "image": PINNED}, "model.image: unknown key"),
    ],
)
def test_a_bad_serving_table_is_one_line(aws: str, table: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        serving_with(aws, table)
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("table", "image"),
    [
        (
            {"framework": "xgboost", "version": "1.7-1"},
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        ),
        (
            {"framework": "pytorch", "version": "2.6.0"},
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312",
        ),
        ({"framework": "image", "image": PINNED}, PINNED),
    ],
)
def test_a_built_model_is_served_by_the_configured_framework(
    aws: str, repo: Path, table: dict[str, Any], image: str
) -> None:
    outcome, _ = run(serving_with(aws, table), repo, execute=True)
    assert outcome.record is not None
    container = served(aws, outcome.record.endpoint["name"])
    assert container["Image"] == image
    own = table["framework"] == "image"  # a team's own container gets no handler settings
    assert container.get("Environment", {}) == (
        {} if own else SERVING_ENV | {"SAGEMAKER_CONTAINER_LOG_LEVEL": "20"}
    )


def test_a_version_that_does_not_exist_or_cannot_be_read_is_one_line(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/9"
    message = refused(aws, lambda: deploy_package(local_settings, repo, missing))
    assert message.startswith(f"model package {missing} does not exist (")

    def denied(*_: object, **__: object) -> None:
        error = {"Code": "AccessDeniedException", "Message": "not authorized"}
        raise ClientError({"Error": error}, "DescribeModelPackage")

    monkeypatch.setattr(sources, "resolve_package", denied)
    with pytest.raises(AwsError) as raised:
        deploy_package(local_settings, repo, missing)
    assert str(raised.value) == (
        "cannot read the model source (package): An error occurred (AccessDeniedException) "
        "when calling the DescribeModelPackage operation: not authorized"
    )


def test_a_package_whose_code_is_outside_its_archive_is_refused(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    """The SageMaker Python SDK registers script-mode models without repacking: the code is a
    sourcedir.tar.gz that SAGEMAKER_SUBMIT_DIRECTORY names in S3."""
    prefix, _ = upload_run(aws, tmp_path, "run-5")
    arn = register(aws, prefix)
    sagemaker = client(aws, "sagemaker")
    approve(aws, arn)
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    container = described["InferenceSpecification"]["Containers"][0]
    remote = f"{prefix}source/sourcedir.tar.gz"
    spec = {
        "Containers": [
            {**container, "Environment": {**SERVING_ENV, "SAGEMAKER_SUBMIT_DIRECTORY": remote}}
        ],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    request = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": spec,
        "ModelMetrics": described["ModelMetrics"],
        "DriftCheckBaselines": described["DriftCheckBaselines"],
    }
    sagemaker.create_model_package(**request)
    table = {"source": "package", "group": GROUP, "artifacts": ARTIFACTS, "version": 2}
    message = refused(aws, lambda: run(with_model(aws, table), repo))
    assert message.endswith(
        f"container environment SAGEMAKER_SUBMIT_DIRECTORY names {remote}, code outside its "
        "model.tar.gz; register the model with its code packed into the archive "
        "(code/inference.py)"
    )


def test_an_artifact_without_its_handler_is_refused(aws: str, repo: Path, tmp_path: Path) -> None:
    s3 = client(aws, "s3")
    prefix, _ = upload_run(aws, tmp_path, "run-6")
    bare = tmp_path / "bare.tar.gz"
    bare.write_bytes(build_archive({"model.json": b"{}"}))
    s3.upload_file(str(bare), TRAINING, "run-6/output/model.tar.gz")
    sha = hashlib.sha256(bare.read_bytes()).hexdigest()
    message = refused(aws, lambda: run(with_model(aws, artifact_table(prefix, sha)), repo))
    assert message == (
        f"{prefix}output/model.tar.gz has no code/inference.py, which the framework image runs; "
        "package the model with its handler, as invoke package does"
    )


# --- promotion --------------------------------------------------------------------------------


def test_a_promotion_takes_only_the_package_its_source_ran(
    aws: str, repo: Path, tmp_path: Path
) -> None:
    """Each environment resolves latest-approved in its own group: a version approved
    between local's deploy and qa's is another model, refused as such (naming both
    packages), not as a library drift; the version local ran, named, promotes."""
    first, _ = upload_run(aws, tmp_path, "run-8")
    ran = register(aws, first)
    approve(aws, ran)
    table = {"source": "package", "group": GROUP, "artifacts": ARTIFACTS}
    document = local_document(aws)
    document["environments"]["local"]["model"] = {**table, "version": "latest-approved"}
    qa = json.loads(json.dumps(document["environments"]["local"]))
    qa["policy"]["promotion_from"] = "local"
    document["environments"]["qa"] = qa
    settings = parse(document, CONFIG_PATH)
    local, _ = run(settings, repo, env="local", execute=True)
    assert local.record is not None
    second, _ = upload_run(aws, tmp_path, "run-9", regularization=0.5)
    newer = register(aws, second)
    approve(aws, newer)
    message = refused(aws, lambda: run(settings, repo, env="qa", execute=True))
    assert message.startswith(f"the model from {newer} (")
    assert f"is not the one local's deploy {local.deploy_id} of " in message
    assert message.endswith(
        f"…, from {ran}); qa takes only the model local ran: register and approve that archive "
        "here, or deploy with --model-package naming its version"
    )
    promoted = deploy(
        settings,
        DeployRequest(environment="qa", execute=True, model_package=ran),
        root=repo,
        environ=CONFIRM,
        out=Console(file=io.StringIO(), width=200),
    )
    assert promoted.record is not None and promoted.record.succeeded
    assert promoted.record.model_sha256 == local.record.model_sha256
