"""The Model Monitor stack: a data-quality schedule on the endpoint, against the baseline
packaged with the model that is deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.images import model_monitor_image
from {{ cookiecutter.package_name }}.infra.assembly import SynthesizedStack

from .conftest import (
    CONFIG_PATH,
    MODEL_SHA256,
    MONITORED_ENVIRONMENTS,
    local_document,
    only_resource,
)
from .test_release_deploy import run


@pytest.mark.parametrize("env", MONITORED_ENVIRONMENTS)
def test_schedule_follows_config(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    monitoring = settings.environment(env).monitoring
    assert monitoring is not None
    template = template_json[f"{env}-monitoring"]
    schedule = only_resource(template, "AWS::SageMaker::MonitoringSchedule")["Properties"]
    config = schedule["MonitoringScheduleConfig"]
    assert config["MonitoringType"] == "DataQuality"
    assert config["ScheduleConfig"]["ScheduleExpression"] == monitoring.schedule
    assert len(schedule["MonitoringScheduleName"]) <= 63


@pytest.mark.parametrize("env", MONITORED_ENVIRONMENTS)
def test_job_checks_the_endpoint_against_the_models_baseline(
    template_json: dict[str, Any], settings: Settings, env: str
) -> None:
    region = settings.environment(env).region
    job = only_resource(
        template_json[f"{env}-monitoring"], "AWS::SageMaker::DataQualityJobDefinition"
    )
    props = job["Properties"]
    assert len(props["JobDefinitionName"]) <= 63
    assert props["EndpointName"] == f"{settings.project.name}-{env}"
    account = model_monitor_image(region).split(".")[0]
    assert account in json.dumps(props["DataQualityAppSpecification"]["ImageUri"])
    baseline = json.dumps(props["DataQualityBaselineConfig"])
    assert f"models/{MODEL_SHA256}/baseline/statistics.json" in baseline
    assert f"models/{MODEL_SHA256}/baseline/constraints.json" in baseline
    assert f"monitoring/{env}/" in json.dumps(props["DataQualityJobOutputConfig"])
    assert props["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True


def test_monitoring_deploys_after_serving(synthesized: list[SynthesizedStack]) -> None:
    for stack in synthesized:
        if stack.artifact_id.endswith("-monitoring"):
            assert stack.dependencies == (f"{stack.environment}-serving",)


def test_a_plan_without_the_monitoring_stack_says_it_still_runs(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """A deploy changes the stacks it plans and deletes none: once [monitoring] has left
    the config, the stack that watches the endpoint is named in the plan until it is gone."""
    run(local_settings, repo, execute=True)
    document = local_document(aws)
    del document["environments"]["local"]["monitoring"]
    outcome, output = run(parse(document, CONFIG_PATH), repo)
    name = f"{local_settings.project.name}-local-monitoring"
    note = f"{name} still runs, but this plan has no monitoring stack and a deploy deletes none"
    assert note in " ".join(output.split())
    assert note in (outcome.bundle / "plan.md").read_text(encoding="utf-8")
    _, said = run(local_settings, repo)
    assert "still runs" not in said
