"""Defects only a strict AWS shows: each test goes through the deploy engine against the
strict local AWS (release/strict), where the defect is AWS behaviour, or reads the
templates against the CloudFormation registry schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import DeployError, Refusal
from {{ cookiecutter.package_name }}.infra.app import synthesize_into
from {{ cookiecutter.package_name }}.naming import VARIANT_NAME
from {{ cookiecutter.package_name }}.release import guardrails, plan, schemas
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.ledger import Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.strict.faults import interrupt_at

from .conftest import CONFIG_PATH, local_document
from .conftest import aws_client as client
from .test_release_deploy import (
    BUCKET,
    PROJECT,
    SERVING,
    commit,
    deploy_two_models,
    refused,
    retrained,
    run,
    snapshot,
)

MONITORING = f"{PROJECT.name}-local-monitoring"
ENDPOINT = f"{PROJECT.name}-local"


def local_with(url: str, **tables: dict[str, Any]) -> Settings:
    """The local environment with some keys of its tables changed."""
    document = local_document(url)
    for table, values in tables.items():
        document["environments"]["local"][table].update(values)
    return parse(document, CONFIG_PATH)


# 1. Every change to the monitoring stack failed: a custom-named job definition replaced.


def test_a_new_model_deploys_through_every_stack(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, outcome = deploy_two_models(local_settings, repo)
    assert outcome.result is Result.SUCCEEDED
    assert outcome.record is not None and outcome.record.outcome is Outcome.SUCCEEDED
    statuses = {name: status for name, (status, _) in snapshot(aws)["stacks"].items()}
    changed = {s.stack_name for s in outcome.plan.stacks if s.has_changes}
    assert SERVING in changed
    assert {statuses[name] for name in changed} == {"UPDATE_COMPLETE"}
    for stack in outcome.plan.stacks:
        rows = {c.resource_type: c for c in stack.changes}
        job = rows.get("AWS::SageMaker::DataQualityJobDefinition")
        if stack.stack_name == MONITORING:  # the job definition is replaced, and renamed
            assert job is not None and job.action == "Modify" and job.replacement == "True"
    assert first.record is not None
    assert outcome.record.model_sha256 != first.record.model_sha256


def test_no_custom_named_replacement_between_two_models(settings: Settings, tmp_path: Path) -> None:
    """Synthesize every environment with two model digests; each changed resource, judged
    by its registry schema, is updated in place or replaced under a new name."""
    selected = settings.select(None)
    before = synthesize_into(tmp_path / "a", settings, selected, "ab" * 32)
    after = synthesize_into(tmp_path / "b", settings, selected, "cd" * 32)
    replaced = []
    for old, new in zip(before, after, strict=True):
        updates = schemas.stack_updates(
            json.loads(Path(old.template_path).read_text(encoding="utf-8")),
            json.loads(Path(new.template_path).read_text(encoding="utf-8")),
        )
        assert not [u for u in updates if u.forbidden], old.artifact_id
        replaced += [(old.artifact_id, u.resource_type) for u in updates if u.replaces]
    assert ("prod-serving", "AWS::SageMaker::Model") in replaced
    assert ("prod-serving", "AWS::SageMaker::EndpointConfig") in replaced
    if any(stack.endswith("-monitoring") for stack, _ in replaced):
        assert ("prod-monitoring", "AWS::SageMaker::DataQualityJobDefinition") in replaced


# 2. REVIEW_IN_PROGRESS: an interrupted dry run, and another deploy's change set.


def test_a_plan_after_an_interrupted_dry_run_creates(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """Ctrl-C while a dry run cleans up leaves REVIEW_IN_PROGRESS stacks; the next plan
    must send CREATE there (UPDATE is refused: "Stack [name] does not exist")."""
    with interrupt_at("DeleteStack"), pytest.raises(KeyboardInterrupt):
        run(local_settings, repo)
    # The stacks it had not cleaned up yet still hold its change sets: delete them, as the
    # refusal says; every stack is left REVIEW_IN_PROGRESS with none.
    message = refused(aws, lambda: run(local_settings, repo))
    assert "pending change set(s) from another deploy" in message
    cloudformation = client(aws, "cloudformation")
    for name in snapshot(aws)["stacks"]:
        for change_set in cloudformation.list_change_sets(StackName=name)["Summaries"]:
            cloudformation.delete_change_set(ChangeSetName=change_set["ChangeSetId"])
    statuses = {name: status for name, (status, _) in snapshot(aws)["stacks"].items()}
    assert set(statuses.values()) == {"REVIEW_IN_PROGRESS"}
    outcome, _ = run(local_settings, repo)
    assert outcome.result is Result.DRY_RUN
    assert {s.change_set_type for s in outcome.plan.stacks} == {"CREATE"}
    outcome, _ = run(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED


def test_a_dry_runs_cleanup_keeps_another_deploys_change_set(aws: str) -> None:
    cloudformation = client(aws, "cloudformation")
    template = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}})
    ours = cloudformation.create_change_set(
        StackName="shared", ChangeSetName="ours", ChangeSetType="CREATE", TemplateBody=template
    )
    cloudformation.create_change_set(
        StackName="shared", ChangeSetName="theirs", ChangeSetType="CREATE", TemplateBody=template
    )
    mine = plan.StackPlan("shared", "unused", "CREATE", ours["Id"])
    plan.delete_change_sets(cloudformation, [mine])
    listed = cloudformation.list_change_sets(StackName="shared")["Summaries"]
    assert [c["ChangeSetName"] for c in listed] == ["theirs"]
    # Alone, the plan's cleanup leaves nothing behind.
    theirs = plan.StackPlan("shared", "unused", "CREATE", listed[0]["ChangeSetId"])
    plan.delete_change_sets(cloudformation, [theirs])
    assert plan.stack_status(cloudformation, "shared") is None


def test_review_in_progress_plans_create() -> None:
    assert plan.change_set_type_for(None) == "CREATE"
    assert plan.change_set_type_for("REVIEW_IN_PROGRESS") == "CREATE"
    assert plan.change_set_type_for("UPDATE_ROLLBACK_COMPLETE") == "UPDATE"


# 4. Autoscaling and blue/green.


def test_an_instance_type_change_on_an_autoscaled_endpoint_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """SageMaker fails it; the refusal names the three deploys that get there, and they do."""
    run(local_settings, repo, execute=True)
    bigger = local_with(aws, endpoint={"instance_type": "ml.c5.xlarge"})
    message = refused(aws, lambda: run(bigger, repo, execute=True))
    assert message == (
        f"{ENDPOINT} would change {VARIANT_NAME} from ml.m5.large to ml.c5.xlarge, and "
        "SageMaker refuses that on an autoscaled variant; deploy with "
        "[environments.local.autoscaling] enabled = false first, then the new instance "
        "type, then enabled = true again"
    )
    for step in (
        local_with(aws, autoscaling={"enabled": False}),
        local_with(aws, autoscaling={"enabled": False}, endpoint={"instance_type": "ml.c5.xlarge"}),
        bigger,
    ):
        outcome, _ = run(step, repo, execute=True)
        assert outcome.result is Result.SUCCEEDED
    config = client(aws, "sagemaker").describe_endpoint_config(
        EndpointConfigName=client(aws, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)[
            "EndpointConfigName"
        ]
    )
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.c5.xlarge"
    targets = client(aws, "application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker"
    )["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == [f"endpoint/{ENDPOINT}/variant/{VARIANT_NAME}"]


def test_the_strict_layer_fails_that_update_too(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the refusal, CloudFormation would fail the endpoint and roll back."""
    run(local_settings, repo, execute=True)
    bigger = local_with(aws, endpoint={"instance_type": "ml.c5.xlarge"})
    monkeypatch.setattr(guardrails, "check_instance_type", lambda *args: None)
    with pytest.raises(DeployError, match="registered with Application Auto Scaling"):
        run(bigger, repo, execute=True)
    assert snapshot(aws)["stacks"][SERVING][0] == "UPDATE_ROLLBACK_COMPLETE"


def test_instance_type_rule() -> None:
    guardrails.check_instance_type("e", "ep", {"v": "a"}, {"v"}, {"v": "a"})
    guardrails.check_instance_type("e", "ep", {"v": "a"}, set(), {"v": "b"})
    with pytest.raises(Refusal, match="ep would change v from a to b"):
        guardrails.check_instance_type("e", "ep", {"v": "a"}, {"v"}, {"v": "b"})


def test_a_deploy_keeps_the_instance_count_autoscaling_chose(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """RetainAllVariantProperties: the new fleet comes up at the live count, not at
    instance_count (UpdateEndpoint, API_UpdateEndpoint.html)."""
    run(local_settings, repo, execute=True)
    sagemaker = client(aws, "sagemaker")
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=ENDPOINT,
        DesiredWeightsAndCapacities=[{"VariantName": VARIANT_NAME, "DesiredInstanceCount": 3}],
    )
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    outcome, _ = run(local_settings, repo, execute=True, package=retrained)
    assert outcome.result is Result.SUCCEEDED
    (variant,) = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 3


# 5. Verify: SageMaker ARNs carry the name lowercased.


def test_verify_matches_the_config_whatever_the_case_of_its_arn(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    assert outcome.record is not None
    resources = client(aws, "cloudformation").describe_stack_resources(StackName=SERVING)
    (config_arn,) = [
        r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r["ResourceType"] == "AWS::SageMaker::EndpointConfig"
    ]
    live = client(aws, "sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert config_arn == config_arn.lower() and live["EndpointConfigName"] != (
        live["EndpointConfigName"].lower()
    )
    assert outcome.record.endpoint["config"] == live["EndpointConfigName"]


def test_an_endpoint_on_another_config_fails_verify(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """A SageMaker alarm rollback: CloudFormation reports success, the endpoint serves the
    old config."""
    from .test_strict_aws import inject

    inject(
        aws,
        {"action": "DescribeEndpoint", "override": {"EndpointConfigName": "older"}, "times": 50},
    )
    with pytest.raises(DeployError, match="serves older, not this deploy's"):
        run(local_settings, repo, execute=True)
    (record,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert record.outcome is Outcome.FAILED
    assert BUCKET in snapshot(aws)["objects"]
