"""Serverless serving (endpoint.serving = "serverless"): validated against what SageMaker's
Serverless Inference documentation allows, synthesized without what it lacks, deployed to
the local AWS (which refuses what SageMaker refuses), and priced."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, parse, read_toml
from {{ cookiecutter.package_name }}.infra.app import synthesize_into
from {{ cookiecutter.package_name }}.naming import stack_names
from {{ cookiecutter.package_name }}.release.cost import ServerlessEstimate, estimate
from {{ cookiecutter.package_name }}.release.deploy import DeployRequest, deploy
from {{ cookiecutter.package_name }}.release.destroy import DestroyResult

from .conftest import CONFIG_PATH, MODEL_SHA256, local_document, only_resource, resources_of_type
from .conftest import aws_client as client
from .test_config import error_for
from .test_release_deploy import CONFIRM, commit, refused, retrained, run
from .test_release_destroy import tear_down
from .test_release_rollback import roll

SERVERLESS = {"serving": "serverless", "memory_size_mb": 2048, "max_concurrency": 5}


def serverless_document(base: dict[str, Any], env: str = "local") -> dict[str, Any]:
    """The document with env served serverless: its endpoint table, no autoscaling, no
    Model Monitor, an all-at-once rollout."""
    document = copy.deepcopy(base)
    table = document["environments"][env]
    table["endpoint"] = dict(SERVERLESS)
    table.pop("autoscaling", None)
    table.pop("monitoring", None)
    table["rollout"] = {
        "strategy": "all-at-once",
        "wait_seconds": 0,
        "termination_wait_seconds": 0,
        "max_execution_timeout_seconds": 3600,
    }
    return document


def committed() -> dict[str, Any]:
    return read_toml(CONFIG_PATH)


def test_a_serverless_environment_reads_as_serverless() -> None:
    env = parse(serverless_document(committed(), "dev"), CONFIG_PATH).environment("dev")
    assert env.endpoint.serverless
    assert (env.endpoint.memory_size_mb, env.endpoint.max_concurrency) == (2048, 5)
    assert env.monitoring is None and not env.autoscaling.enabled


def _with(change: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    document = serverless_document(committed(), "dev")
    dev = document["environments"]["dev"]
    for key in drop:
        dev.pop(key)
    for dotted, value in change.items():
        table, key = dotted.split(".")
        dev.setdefault(table, {})[key] = value
    return document


CONFLICTS = [
    # (change to dev, expected start of the message after "environments.toml: ")
    (
        {"endpoint.data_capture_percent": 20},
        "environments.dev.endpoint.data_capture_percent: a serverless endpoint captures no data "
        'in SageMaker (endpoint.serving = "serverless")',
    ),
    (
        {"endpoint.instance_type": "ml.m5.large"},
        "environments.dev.endpoint.instance_type: a serverless endpoint has no instances "
        '(endpoint.serving = "serverless")',
    ),
    (
        {"endpoint.instance_count": 2},
        "environments.dev.endpoint.instance_count: a serverless endpoint has no instances",
    ),
    (
        {"monitoring.schedule": "cron(0 0 ? * * *)"},
        "environments.dev.monitoring: Model Monitor needs data capture, which SageMaker "
        'Serverless Inference does not support (endpoint.serving = "serverless")',
    ),
    (
        {"autoscaling.min_capacity": 1},
        "environments.dev.autoscaling: SageMaker scales a serverless endpoint itself, up to "
        'endpoint.max_concurrency (endpoint.serving = "serverless"); remove [autoscaling]',
    ),
    (
        {"rollout.strategy": "canary", "rollout.step_percent": 20},
        "environments.dev.rollout.strategy: a canary rollout steps through an instance "
        "fleet's capacity, and SageMaker documents no such steps for a serverless endpoint "
        '(endpoint.serving = "serverless"); use all-at-once',
    ),
    (
        {"rollout.strategy": "linear", "rollout.step_percent": 20},
        "environments.dev.rollout.strategy: a linear rollout steps through",
    ),
    (
        {"endpoint.memory_size_mb": 2500},
        "environments.dev.endpoint.memory_size_mb: 2500 is not a serverless memory size "
        "(1024, 2048, 3072, 4096, 5120, 6144)",
    ),
    (
        {"endpoint.memory_size_mb": 8192},
        "environments.dev.endpoint.memory_size_mb: 8192 is outside 1024..6144",
    ),
    ({"endpoint.max_concurrency": 0}, "environments.dev.endpoint.max_concurrency: 0 is outside"),
    (
        {"endpoint.max_concurrency": 201},
        "environments.dev.endpoint.max_concurrency: 201 is outside 1..200",
    ),
    (
        {"endpoint.serving": "lambda"},
        "environments.dev.endpoint.serving: 'lambda' is not valid (e.g. 'serverless')",
    ),
]


@pytest.mark.parametrize(("change", "expected"), CONFLICTS)
def test_each_conflict_is_one_line_naming_both_settings(
    change: dict[str, Any], expected: str
) -> None:
    message = error_for(_with(change))
    assert message.startswith(f"environments.toml: {expected}"), message


def test_serverless_keys_on_an_instance_endpoint_are_refused() -> None:
    document = committed()
    document["environments"]["staging"]["endpoint"]["max_concurrency"] = 5
    assert error_for(document) == (
        "environments.toml: environments.staging.endpoint.max_concurrency: only a serverless "
        'endpoint takes max_concurrency (endpoint.serving is "instances"); remove it, or set '
        'serving = "serverless"'
    )


def test_a_kms_key_is_allowed_with_serverless() -> None:
    """SageMaker uses it "to encrypt your Amazon ECR image"
    (serverless-endpoints-create-config.html); older docs listed KMS keys as unsupported."""
    document = serverless_document(committed(), "staging")
    env = parse(document, CONFIG_PATH).environment("staging")
    assert env.encryption.kms and env.endpoint.serverless


# --- synth ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serverless_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = parse(serverless_document(committed(), "staging"), CONFIG_PATH)
    outdir = tmp_path_factory.mktemp("serverless") / "cdk.out"
    stacks = synthesize_into(outdir, settings, [settings.environment("staging")], MODEL_SHA256)
    return {
        stack.artifact_id: json.loads(Path(stack.template_path).read_text(encoding="utf-8"))
        for stack in stacks
    }


def test_the_endpoint_config_is_serverless_without_capture(
    serverless_templates: dict[str, Any],
) -> None:
    template = serverless_templates["staging-serving"]
    config = only_resource(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert "DataCaptureConfig" not in config
    assert "KmsKeyId" in config  # staging's key encrypts the image
    model = only_resource(template, "AWS::SageMaker::Model")["Properties"]
    assert model["EnableNetworkIsolation"] is False
    endpoint = only_resource(template, "AWS::SageMaker::Endpoint")["Properties"]
    assert endpoint["RetainAllVariantProperties"] is False
    routing = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"


def test_nothing_scales_or_monitors_a_serverless_endpoint(
    serverless_templates: dict[str, Any],
) -> None:
    template = serverless_templates["staging-serving"]
    assert not resources_of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert "staging-monitoring" not in serverless_templates
    text = str(template)
    assert "datacapture" not in text.lower()  # no write grant to the capture prefix


def test_the_dashboard_charts_only_metrics_serverless_endpoints_publish(
    serverless_templates: dict[str, Any],
) -> None:
    dashboard = only_resource(serverless_templates["staging-serving"], "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "ServerlessConcurrentExecutionsUtilization" in body
    assert "CPUUtilization" not in body and "InvocationsPerInstance" not in body


# --- the local AWS ----------------------------------------------------------------------------


def serverless_settings(url: str) -> Settings:
    return parse(serverless_document(local_document(url)), CONFIG_PATH)


def test_a_serverless_endpoint_deploys_and_is_recorded(aws: str, repo: Path) -> None:
    outcome, output = run(serverless_settings(aws), repo, execute=True)
    assert outcome.record is not None and outcome.record.succeeded
    sagemaker = client(aws, "sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=outcome.record.endpoint["name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert not config.get("DataCaptureConfig")
    targets = client(aws, "application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )
    assert targets["ScalableTargets"] == []
    said = " ".join(output.split())
    assert "if all 5 concurrent invocations ran all month (serverless 2048 MB at" in said


def test_an_instance_endpoint_is_not_made_serverless_in_place(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    message = refused(aws, lambda: run(serverless_settings(aws), repo, execute=True))
    assert message == (
        f"{local_settings.project.name}-local serves AllTraffic on ml.m5.large instances and "
        "this deploy "
        "makes it serverless, which SageMaker refuses in place; run invoke destroy --env "
        "local --execute first (the endpoint is down until the deploy), or keep "
        'endpoint.serving = "instances"'
    )


def test_an_environment_that_may_not_be_destroyed_is_told_to_stay_on_instances(
    aws: str, repo: Path
) -> None:
    document = local_document(aws)
    document["environments"]["local"]["policy"]["destroy_allowed"] = False
    run(parse(document, CONFIG_PATH), repo, execute=True)
    serverless = serverless_document(document)
    message = refused(aws, lambda: run(parse(serverless, CONFIG_PATH), repo, execute=True))
    assert message.endswith(
        'which SageMaker refuses in place; keep endpoint.serving = "instances": '
        "policy.destroy_allowed is false in local, and only a destroy and a new deploy make it "
        "serverless"
    )


def with_autoscaling(settings: Settings, enabled: bool) -> Settings:
    local = settings.environment("local")
    changed = replace(local, autoscaling=replace(local.autoscaling, enabled=enabled))
    return replace(settings, environments={**settings.environments, "local": changed})


def test_a_serverless_endpoint_moves_to_instances_without_retained_properties(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """What RetainAllVariantProperties keeps of a serverless variant is not documented: the
    move goes with autoscaling off (the Endpoint then keeps nothing), and its plan says it
    cannot be undone in place."""
    run(serverless_settings(aws), repo, execute=True)
    message = refused(aws, lambda: run(local_settings, repo, execute=True))
    assert message.endswith(
        "deploy with [environments.local.autoscaling] enabled = false first, then with "
        "enabled = true"
    )
    outcome, output = run(with_autoscaling(local_settings, False), repo, execute=True)
    assert outcome.record is not None and outcome.record.succeeded
    note = "goes from serverless to instances (AllTraffic); SageMaker cannot update it back"
    assert note in " ".join(output.split())
    assert note in (outcome.bundle / "plan.md").read_text(encoding="utf-8")
    again, _ = run(local_settings, repo, execute=True)  # autoscaling on again: a scalable target
    assert again.record is not None and again.record.succeeded
    targets = client(aws, "application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )
    assert len(targets["ScalableTargets"]) == 1


def test_replaying_captured_requests_on_a_serverless_endpoint_says_why_not(
    aws: str, repo: Path
) -> None:
    settings = serverless_settings(aws)
    run(settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    output = io.StringIO()
    deploy(
        settings,
        DeployRequest(environment="local", replay_captured=5),
        root=repo,
        environ=CONFIRM,
        out=Console(file=output, width=250),
        package=retrained,
    )
    said = " ".join(output.getvalue().split())
    assert "captured requests: a serverless endpoint captures no requests (endpoint.serving)" in (
        said
    )


def test_destroy_takes_a_monitoring_stack_the_config_no_longer_names(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """The way from instances to serverless: [monitoring] goes from the config first, and
    the destroy must still delete the monitoring stack that watches the endpoint."""
    run(local_settings, repo, execute=True)
    names = stack_names(local_settings.project, local_settings.environment("local"))
    settings = serverless_settings(aws)
    outcome, _ = tear_down(settings, repo, execute=True)
    assert outcome.result is DestroyResult.DESTROYED
    assert set(outcome.stacks) == {name for name in names if not name.endswith("-artifacts")}
    deployed, _ = run(settings, repo, execute=True)
    assert deployed.record is not None and deployed.record.succeeded


def test_a_rollback_to_a_serverless_record_meets_the_same_rule(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, _ = run(serverless_settings(aws), repo, execute=True)
    settings = with_autoscaling(local_settings, False)
    run(settings, repo, execute=True)
    assert first.record is not None
    deploy_id = first.record.deploy_id
    message = refused(aws, lambda: roll(settings, repo, to=deploy_id, execute=True))
    assert "this deploy makes it serverless, which SageMaker refuses in place" in message


def test_the_local_aws_refuses_what_serverless_inference_lacks(aws: str) -> None:
    """The rules of strict/serverless.py, through SageMaker's API as a deploy would meet
    them: moto alone accepts all of these."""
    sagemaker = client(aws, "sagemaker")
    role = "arn:aws:iam::123456789012:role/serving"
    container = {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"}
    sagemaker.create_model(ModelName="plain", ExecutionRoleArn=role, PrimaryContainer=container)
    sagemaker.create_model(
        ModelName="isolated",
        ExecutionRoleArn=role,
        PrimaryContainer=container,
        EnableNetworkIsolation=True,
    )
    serverless = {
        "VariantName": "AllTraffic",
        "ModelName": "plain",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": "s3://bucket/datacapture",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"DataCaptureConfig": capture}, "does not support data capture"),
        (
            {"ProductionVariants": [serverless, {**serverless, "VariantName": "B"}]},
            "does not support multiple production variants",
        ),
        (
            {
                "ProductionVariants": [
                    {
                        **serverless,
                        "ServerlessConfig": {
                            "MemorySizeInMB": 2048,
                            "MaxConcurrency": 5,
                            "ProvisionedConcurrency": 10,
                        },
                    }
                ]
            },
            "ProvisionedConcurrency 10 must be 1..MaxConcurrency (5)",
        ),
        (
            {"ProductionVariants": [{**serverless, "ModelName": "isolated"}]},
            "Network isolation is not supported for Serverless Inference",
        ),
    ]
    for index, (change, expected) in enumerate(cases):
        request = {"EndpointConfigName": f"c{index}", "ProductionVariants": [serverless], **change}
        with pytest.raises(ClientError) as raised:
            sagemaker.create_endpoint_config(**request)
        assert expected in str(raised.value)
    # An instance endpoint's UpdateEndpoint to a serverless config.
    instances = {
        "VariantName": "AllTraffic",
        "ModelName": "plain",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    sagemaker.create_endpoint_config(EndpointConfigName="fleet", ProductionVariants=[instances])
    sagemaker.create_endpoint_config(EndpointConfigName="nofleet", ProductionVariants=[serverless])
    sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="fleet")
    with pytest.raises(ClientError) as raised:
        sagemaker.update_endpoint(EndpointName="e", EndpointConfigName="nofleet")
    assert "cannot be updated to a serverless endpoint configuration" in str(raised.value)


def test_the_estimate_prices_requests_not_hours() -> None:
    priced = serverless_document(_region(committed(), "us-east-1"), "dev")
    found = estimate(parse(priced, CONFIG_PATH).environment("dev"))
    assert isinstance(found, ServerlessEstimate)
    assert found.usd_per_second == pytest.approx(0.00004)  # 2 GB at $0.00002 per GB-second
    # A million requests of the 1000 ms p99 latency alarm: 1e6 s at $0.00004.
    assert found.per_million_requests == pytest.approx(40.0)
    assert found.monthly_ceiling == pytest.approx(0.00004 * 5 * 730 * 3600)
    assert found.describe().startswith("$0/month idle, ~$40.00 per million requests of 1000 ms")
    elsewhere = parse(
        serverless_document(_region(committed(), "eu-west-1"), "dev"), CONFIG_PATH
    ).environment("dev")
    assert estimate(elsewhere).describe() == (
        "unknown: no serverless price in eu-west-1 (serverless 2048 MB, up to 5 concurrent; "
        "add it to prices.json)"
    )


def _region(document: dict[str, Any], region: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["region"] = region
    return changed
