"""Drift: what runs in AWS against what the ledger says, by template, by CloudFormation's
drift detection (modelled by the strict local AWS, strict/drift.py) and by endpoint; and a
deploy's preflight that reports it (and refuses it where policy.refuse_drift)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.release.aws import connect
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.drift import (
    IN_SYNC,
    DriftReport,
    Expected,
    expected_endpoint,
    expected_stacks,
    read_drift,
)
from {{ cookiecutter.package_name }}.release.ledger import DESTROY, Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.rollback import RollbackRequest, rollback
from {{ cookiecutter.package_name }}.release.strict import drift as strict_drift

from .conftest import aws_client as client
from .test_release_deploy import CONFIRM, PROJECT, SERVING, commit, refused, run, snapshot
from .test_release_destroy import record, settings_with, tear_down

ALARM = f"{PROJECT.name}-local-errors-5xx"
ENDPOINT = f"{PROJECT.name}-local"


def drift_of(settings: Settings) -> DriftReport:
    env = settings.environment("local")
    aws = connect(env)
    return read_drift(settings, env, aws, ledger_of(settings, env, aws))


def change_alarm_threshold(url: str, threshold: float) -> float:
    """What someone does in the console: the alarm's threshold, not the template."""
    cloudwatch = client(url, "cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    kept = {
        key: alarm[key]
        for key in (
            "AlarmName",
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "InsufficientDataActions",
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Dimensions",
            "Period",
            "Unit",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "ComparisonOperator",
            "TreatMissingData",
            "EvaluateLowSampleCountPercentile",
        )
        if key in alarm
    }
    cloudwatch.put_metric_alarm(**kept, Threshold=threshold)
    return float(alarm["Threshold"])


def test_a_fresh_deploy_is_in_sync(
    aws: str, local_settings: Settings, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    report = drift_of(local_settings)
    assert not report.drifted
    assert {stack.template for stack in report.stacks} == {IN_SYNC}
    assert all(stack.detection == "IN_SYNC" and not stack.resources for stack in report.stacks)
    assert {stack.expected_from for stack in report.stacks} == {outcome.deploy_id}
    assert not report.endpoint.drifted and report.endpoint.expected_from == outcome.deploy_id
    assert commands.drift(repo, "local", as_json=False, settings=local_settings) == 0
    assert "in sync: local runs what its ledger says" in capsys.readouterr().out


def test_a_console_change_is_resource_drift_with_its_values(  # noqa: PLR0917 (fixtures)
    aws: str,
    local_settings: Settings,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    run(local_settings, repo, execute=True)
    was = change_alarm_threshold(aws, 99.0)
    report = drift_of(local_settings)
    assert report.drifted
    (serving,) = [stack for stack in report.stacks if stack.stack == SERVING]
    assert serving.template == IN_SYNC  # nobody touched the template
    assert serving.detection == "DRIFTED"
    (alarm,) = serving.resources
    assert (alarm.resource_type, alarm.status) == ("AWS::CloudWatch::Alarm", "MODIFIED")
    (difference,) = alarm.differences
    assert difference.path == "/Threshold"
    assert float(difference.expected) == was and float(difference.actual) == 99.0
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert commands.drift(repo, "local", as_json=True, settings=local_settings) == 2
    shown = json.loads(capsys.readouterr().out)
    assert shown["drifted"] is True
    assert "## Drift of local: DRIFTED" in summary.read_text(encoding="utf-8")
    assert "/Threshold: expected" in summary.read_text(encoding="utf-8")


def test_a_stack_updated_by_hand_is_template_drift_with_the_property_diff(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    cloudformation = client(aws, "cloudformation")
    template = cloudformation.get_template(StackName=SERVING)["TemplateBody"]
    changed = copy.deepcopy(template)
    (logical_id,) = [
        key
        for key, resource in changed["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        and resource["Properties"].get("MetricName") == "Invocation5XXErrors"
    ]
    changed["Resources"][logical_id]["Properties"]["Threshold"] = 42
    cloudformation.create_change_set(
        StackName=SERVING,
        ChangeSetName="by-hand",
        TemplateBody=json.dumps(changed),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    cloudformation.execute_change_set(StackName=SERVING, ChangeSetName="by-hand")
    report = drift_of(local_settings)
    (serving,) = [stack for stack in report.stacks if stack.stack == SERVING]
    assert serving.template == "differs" and not serving.resources
    (change,) = serving.template_changes
    assert (change.logical_id, change.status) == (logical_id, "Modify")
    assert [(d.path, d.actual) for d in change.differences] == [("Threshold", "42")]
    assert "template differs" in report.summary()


def test_an_endpoint_moved_behind_the_engines_back_is_endpoint_drift(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    assert outcome.record is not None
    sagemaker = client(aws, "sagemaker")
    live = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    variants = [
        {
            key: v[key]
            for key in ("VariantName", "ModelName", "InitialInstanceCount", "InstanceType")
        }
        for v in config["ProductionVariants"]
    ]
    sagemaker.create_endpoint_config(EndpointConfigName="hand-made", ProductionVariants=variants)
    sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName="hand-made")
    report = drift_of(local_settings)
    assert report.endpoint.drifted
    assert report.endpoint.actual == {
        "endpoint_config": "hand-made",
        "model_sha256": outcome.record.model_sha256,
    }
    (serving,) = [stack for stack in report.stacks if stack.stack == SERVING]
    endpoint = [r for r in serving.resources if r.resource_type == "AWS::SageMaker::Endpoint"]
    assert [d.path for d in endpoint[0].differences] == ["/EndpointConfigName"]
    assert f"{ENDPOINT} serves hand-made, not " in report.summary()


def test_a_stack_deleted_by_hand_is_missing_and_a_destroy_is_in_sync(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """Missing stacks are drift, but never block the deploy that recreates them."""
    run(local_settings, repo, execute=True)
    tear_down(local_settings, repo, execute=True)
    report = drift_of(local_settings)
    assert not report.drifted, report.summary()
    assert report.endpoint.expected is None and report.endpoint.actual is None
    # A stack that only holds change sets (an interrupted dry run) has no resources: absent.
    cloudformation = client(aws, "cloudformation")
    cloudformation.create_change_set(
        StackName=SERVING,
        ChangeSetName="interrupted",
        TemplateBody='{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}',
        ChangeSetType="CREATE",
    )
    assert not drift_of(local_settings).drifted
    cloudformation.delete_stack(StackName=SERVING)
    run(local_settings, repo, execute=True)
    cloudformation.delete_stack(StackName=SERVING)
    report = drift_of(local_settings)
    (serving,) = [stack for stack in report.stacks if stack.stack == SERVING]
    assert serving.template == "missing" and report.drifted and not report.blocking
    assert f"{ENDPOINT} is missing" in report.summary()
    # Missing is not refused, even where drift is: the deploy makes it again.
    strict = settings_with(aws, refuse_drift=True)
    commit(repo, "again.md", "recreate\n")
    outcome, output = run(strict, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED
    assert "what drifted is missing, and this deploy makes it again" in output
    assert not drift_of(strict).drifted


def test_the_next_deploy_reports_drift_and_policy_decides_whether_it_refuses(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    was = change_alarm_threshold(aws, 99.0)
    commit(repo, "notes.md", "a change\n")
    planned, output = run(local_settings, repo)  # local reports, and goes on
    assert planned.result in {Result.DRY_RUN, Result.NO_CHANGES}
    assert "local has drifted from its ledger:" in output
    assert "/Threshold: expected" in output
    strict = settings_with(aws, refuse_drift=True)
    run(strict, repo)  # a dry run still shows the plan
    message = refused(
        aws,
        lambda: run(strict, repo, execute=True),
    )
    assert message.startswith("local has drifted from its ledger (")
    assert "ErrorsAlarm" in message or "Alarm" in message
    assert message.endswith(
        "then put the change in code or undo it and deploy again (policy.refuse_drift)"
    )
    # A rollback, an incident's tool, reports drift and is never refused for it.
    output_file = io.StringIO()
    with pytest.raises(Exception) as raised:  # nothing earlier to roll back to
        rollback(
            strict,
            RollbackRequest(environment="local", execute=True),
            root=repo,
            environ=CONFIRM,
            out=Console(file=output_file, width=200),
        )
    assert "nothing to roll back to" in str(raised.value)
    assert "local has drifted from its ledger:" in output_file.getvalue()
    # Undo the console change: the deploy goes on.
    change_alarm_threshold(aws, was)
    outcome, _ = run(strict, repo, execute=True)
    assert outcome.record is not None and outcome.record.outcome is Outcome.SUCCEEDED


def test_the_expected_state_comes_from_the_record_that_last_changed_each_stack() -> None:
    deployed = record(
        "20261206T090000000Z-aaaaaaa-0001",
        "a" * 40,
        change_sets={"s-serving": "cs", "s-artifacts": "cs"},
        templates={"s-serving": "1" * 64, "s-artifacts": "2" * 64},
        live={"endpoint_config": "c1", "model_sha256": "a" * 64},
    )
    unchanged = record(
        "20261206T100000000Z-bbbbbbb-0001",
        "b" * 40,
        change_sets={},
        templates={"s-serving": "1" * 64, "s-artifacts": "2" * 64},
        live={"endpoint_config": "c1", "model_sha256": "a" * 64},
    )
    failed = record(
        "20261206T110000000Z-ccccccc-0001",
        "c" * 40,
        change_sets={"s-artifacts": "cs"},  # its artifacts change ran, its serving one failed
        templates={"s-serving": "3" * 64, "s-artifacts": "4" * 64},
        outcome=Outcome.FAILED,
        live={"endpoint_config": "c1", "model_sha256": "a" * 64},
    )
    expected = expected_stacks(
        [failed, unchanged, deployed], ["s-artifacts", "s-serving", "s-monitoring"]
    )
    assert expected == {
        "s-artifacts": Expected(failed.deploy_id, "4" * 64),
        "s-serving": Expected(deployed.deploy_id, "1" * 64),
        "s-monitoring": Expected(None, None),
    }
    assert expected_endpoint([failed, unchanged, deployed])[0] == failed.deploy_id
    destroyed = record(
        "20261206T120000000Z-ddddddd-0001",
        "d" * 40,
        DESTROY,
        destroyed=("s-serving",),
        change_sets={},
        templates={},
        live={},
    )
    after = expected_stacks([destroyed, failed, unchanged, deployed], ["s-serving"])
    assert after["s-serving"] == Expected(destroyed.deploy_id, None, absent=True)
    assert expected_endpoint([destroyed, deployed]) == (destroyed.deploy_id, None)


def test_drift_of_an_empty_environment_says_so(aws: str, local_settings: Settings) -> None:
    report = drift_of(local_settings)
    assert not report.drifted and report.records == 0
    assert {stack.template for stack in report.stacks} == {IN_SYNC}
    assert snapshot(aws) == {"stacks": {}, "objects": {}}


def test_a_detection_that_could_not_check_everything_is_never_in_sync(
    aws: str,
    local_settings: Settings,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DETECTION_FAILED: "failed for at least one resource" (a read role without read access
    to some type): drift cannot be ruled out, so `invoke drift` exits 1 and a strict policy
    refuses the execute."""
    run(local_settings, repo, execute=True)
    detect = strict_drift.detect

    def partly(stack: Any, account: str, region: str) -> dict[str, Any]:
        return {
            **detect(stack, account, region),
            "DetectionStatus": "DETECTION_FAILED",
            "DetectionStatusReason": "Failed to detect drift on resource [ArtifactKey]",
        }

    monkeypatch.setattr(strict_drift, "detect", partly)
    report = drift_of(local_settings)
    assert not report.drifted and set(report.unchecked) == {s.stack for s in report.stacks}
    assert commands.drift(repo, "local", as_json=False, settings=local_settings) == 1
    assert (
        "cannot tell: CloudFormation could not check every resource of" in capsys.readouterr().out
    )
    commit(repo, "more.md", "more\n")
    strict = settings_with(aws, refuse_drift=True)
    message = refused(aws, lambda: run(strict, repo, execute=True))
    assert "could not check every resource of" in message
    assert message.endswith("(policy.refuse_drift)")
