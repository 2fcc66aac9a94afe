"""The engine tells the truth whatever fails, through the strict local AWS.

What is live is read from SageMaker; every execute that started leaves a record (after a
failure after CloudFormation, an alarm rollback, expired credentials, an interrupt, a failed
cleanup); history's order comes from the ledger, not from the deployer's clock.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import DeployError
from {{ cookiecutter.package_name }}.model.package import package_model
from {{ cookiecutter.package_name }}.model.packaged import PackagedModel
from {{ cookiecutter.package_name }}.model.settings import load as load_training
from {{ cookiecutter.package_name }}.release import ledger as ledger_module
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.ledger import DeployRecord, Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.recording import PENDING
from {{ cookiecutter.package_name }}.release.strict.faults import interrupt_at

from .conftest import PROJECT_ROOT
from .conftest import aws_client as client
from .test_release_deploy import SERVING, broken_settings, commit, retrained, run
from .test_release_rollback import roll


def inject(url: str, fault: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{url}/strict-api/faults", data=json.dumps(fault).encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


def clear_faults(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/strict-api/faults", method="DELETE"))


def records(settings: Settings) -> list[DeployRecord]:
    return ledger_of(settings, settings.environment("local")).records()


def third_model(out: Path) -> PackagedModel:
    return package_model(out, replace(load_training(PROJECT_ROOT), regularization=0.2))


def history_json(settings: Settings, repo: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    commands.history(repo, "local", as_json=True, limit=0, settings=settings)
    return [entry["deploy_id"] for entry in json.loads(capsys.readouterr().out)]


def test_a_failure_after_cloudformation_records_what_it_left_live(
    aws: str, local_settings: Settings, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _ = run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    inject(aws, {"action": "InvokeEndpoint", "error": "AccessDenied"})  # the smoke call
    with pytest.raises(DeployError) as raised:
        run(local_settings, repo, execute=True, package=retrained)
    failed, first = records(local_settings)
    assert good.record == first
    assert failed.outcome is Outcome.FAILED and "smoke invocation" in failed.failure.reason  # type: ignore[union-attr]
    # CloudFormation updated the endpoint: the new model serves, and the record says so.
    assert failed.live["model_sha256"] == failed.model_sha256 != first.model_sha256
    assert f"local serves model {failed.model_sha256[:12]}" in str(raised.value)
    # The rollback target follows from what is live, not from the newest success.
    _, output = roll(local_settings, repo)
    assert f"back from {failed.deploy_id}" in output and f"to {first.deploy_id}" in output
    assert "failed but left the endpoint serving it" in output
    outcome, _ = roll(local_settings, repo, to=first.deploy_id)
    assert outcome.result is Result.DRY_RUN  # not "already runs"
    capsys.readouterr()
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    assert f"{failed.deploy_id} (live)" in capsys.readouterr().out


def test_after_an_alarm_rollback_the_live_config_decides(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(local_settings, repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    commit(repo, "model-change-2.txt", "regularization = 0.2\n")
    # SageMaker put the endpoint back on the second deploy's config while CloudFormation
    # reported the third deploy's update complete.
    back = second.record.endpoint["config"]
    inject(
        aws, {"action": "DescribeEndpoint", "override": {"EndpointConfigName": back}, "times": 99}
    )
    with pytest.raises(DeployError) as raised:
        run(local_settings, repo, execute=True, package=third_model)
    assert "may have rolled back on an alarm" in str(raised.value)
    third = records(local_settings)[0]
    assert third.outcome is Outcome.FAILED
    assert third.live["endpoint_config"].casefold() == back.casefold()
    # The stacks hold the third deploy's templates: returning to the second is a real change.
    outcome, output = roll(local_settings, repo, to=second.record.deploy_id)
    assert outcome.result is Result.DRY_RUN
    assert f"back from {third.deploy_id}" in output
    _, output = roll(local_settings, repo)
    assert f"to {second.record.deploy_id}" in output


def test_an_interrupt_mid_deploy_is_recorded(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    with interrupt_at("InvokeEndpoint"), pytest.raises(DeployError) as raised:
        run(local_settings, repo, execute=True)
    assert "was interrupted" in str(raised.value) and "recorded s3://" in str(raised.value)
    (record,) = records(local_settings)
    assert record.outcome is Outcome.FAILED and record.failure is not None
    assert record.failure.reason == "interrupted"
    assert record.live["model_sha256"] == record.model_sha256
    assert SERVING in record.change_sets


def test_expired_credentials_at_cleanup_and_ledger_still_leave_a_record(
    aws: str, local_settings: Settings, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    commit(repo, "docs.md", "docs\n")
    broken = broken_settings(aws)  # the serving stack fails; cleanup has change sets to delete
    inject(aws, {"action": "DeleteChangeSet", "error": "ExpiredToken", "times": 99})
    # The ledger's order is claimed (one PutObject) before the first change; then it expires.
    inject(aws, {"action": "PutObject", "error": "ExpiredToken", "times": 99, "skip": 1})
    with pytest.raises(DeployError) as raised:
        run(broken, repo, execute=True)
    message = str(raised.value)
    assert "\n" not in message and "failed at" in message and "ExpiredToken" in message
    local = repo / "build" / "deploys" / "local"
    (kept,) = [p.parent for p in local.glob(f"*/{PENDING}")]
    record = DeployRecord.from_json((kept / "record.json").read_text(encoding="utf-8"))
    assert record.outcome is Outcome.FAILED and str(kept / "record.json") in message
    assert [r.deploy_id for r in records(local_settings)] == [first.deploy_id]
    clear_faults(aws)
    capsys.readouterr()
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    assert f"{record.deploy_id} is recorded on disk only" in capsys.readouterr().out
    # What the message asks for: delete the change sets cleanup left, then deploy again.
    cloudformation = client(aws, "cloudformation")
    for summary in cloudformation.list_stacks()["StackSummaries"]:
        for change_set in cloudformation.list_change_sets(StackName=summary["StackName"])[
            "Summaries"
        ]:
            if change_set["ExecutionStatus"] != "EXECUTE_COMPLETE":
                cloudformation.delete_change_set(ChangeSetName=change_set["ChangeSetId"])
    commit(repo, "docs.md", "more docs\n")
    latest, output = run(local_settings, repo, execute=True)
    assert f"uploaded the record of {record.deploy_id}" in output
    assert not (kept / PENDING).exists()
    assert latest.record is not None
    assert [r.deploy_id for r in records(local_settings)] == [
        latest.record.deploy_id,
        record.deploy_id,
        first.deploy_id,
    ]


def skewed(offset: timedelta) -> type[datetime]:
    class Skewed(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Skewed:
            moment = datetime.now(tz) + offset
            return cls.fromtimestamp(moment.timestamp(), tz)

    return Skewed


def test_history_order_does_not_depend_on_the_deployers_clock(
    aws: str,
    local_settings: Settings,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(ledger_module, "datetime", skewed(timedelta(hours=1)))  # CI, ahead
    ci, _ = run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    monkeypatch.setattr(ledger_module, "datetime", skewed(timedelta(hours=-1)))  # a laptop
    laptop, _ = run(local_settings, repo, execute=True, package=retrained)
    assert ci.record is not None and laptop.record is not None
    assert laptop.deploy_id < ci.deploy_id  # its clock says it came first; it did not
    assert history_json(local_settings, repo, capsys) == [laptop.deploy_id, ci.deploy_id]
    assert [r.sequence for r in records(local_settings)] == [2, 1]
    _, output = roll(local_settings, repo)
    assert f"back from {laptop.deploy_id}" in output and f"to {ci.deploy_id}" in output
    assert datetime.now(UTC)  # the real clock is untouched outside the ledger module
