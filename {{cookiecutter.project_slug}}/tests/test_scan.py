"""checkov as a gate: every finding acknowledged with a reason in config/checkov.toml, every
acknowledgement still matching a finding; judged from checkov's JSON report (the real checkov
runs in `nox -s synth`, which the template's own CI runs on a bake)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.access import lint
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import ConfigError, ProjectError
from {{ cookiecutter.package_name }}.infra import scan
from {{ cookiecutter.package_name }}.infra.scan import (
    ACKNOWLEDGEMENTS,
    Acknowledgement,
    Finding,
    findings_of,
    judge,
    load_acknowledgements,
)

from .conftest import PROJECT_ROOT


def failed(check: str, stack: str, resource: str) -> dict[str, Any]:
    """One failed check as checkov's JSON report has it."""
    return {
        "check_id": check,
        "check_name": f"the rule of {check}",
        "file_path": f"/{stack}.template.json",
        "resource": resource,
    }


LOGS = "AWS::S3::Bucket.ArtifactAccessLogs"
JOB = "AWS::SageMaker::DataQualityJobDefinition.DataQualityJobDefinition4C800B79"


def test_a_report_becomes_findings_by_environment_and_stack() -> None:
    report = {
        "check_type": "cloudformation",
        "results": {"failed_checks": [failed("CKV_AWS_18", "prod-artifacts", LOGS)]},
    }
    (finding,) = findings_of([report])
    assert finding == Finding(
        "CKV_AWS_18", "the rule of CKV_AWS_18", "prod", "prod-artifacts", LOGS
    )
    assert findings_of({"results": {"failed_checks": []}}) == []


def test_findings_are_acknowledged_per_check_resource_and_environment() -> None:
    acks = [
        Acknowledgement("CKV_AWS_18", LOGS, "the log bucket does not log itself"),
        Acknowledgement(
            "CKV_AWS_367", "AWS::SageMaker::DataQualityJobDefinition.*", "s3 here", ("dev",)
        ),
    ]
    findings = findings_of(
        {
            "results": {
                "failed_checks": [
                    failed("CKV_AWS_18", "dev-artifacts", LOGS),
                    failed("CKV_AWS_18", "prod-artifacts", LOGS),
                    failed("CKV_AWS_367", "dev-monitoring", JOB),
                    failed("CKV_AWS_367", "prod-monitoring", JOB),  # prod has KMS: not excused
                ]
            }
        }
    )
    verdict = judge(findings, acks, ["dev", "prod"])
    assert [(f.check, f.environment) for f in verdict.unacknowledged] == [("CKV_AWS_367", "prod")]
    assert verdict.stale == () and not verdict.passed
    # dev moved to KMS: its finding is gone, and the acknowledgement covering it is stale.
    fixed = [f for f in findings if (f.check, f.environment) != ("CKV_AWS_367", "dev")]
    verdict = judge(fixed[:2], acks, ["dev", "prod"])
    assert [(a.check, env) for a, env in verdict.stale] == [("CKV_AWS_367", "dev")]
    # Scanning prod only does not make dev's acknowledgement stale.
    prod = [f for f in findings if f.environment == "prod" and f.check == "CKV_AWS_18"]
    assert judge(prod, acks, ["prod"]).passed


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checkov.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('check = "CKV_AWS_18"\nresource = "X"\nreason = "short"', "write why it is accepted"),
        ('check = "CKV_AWS_18"\nreason = "a reason long enough to count"', "give check"),
        (
            'check = "CKV_AWS_18"\nresource = "X"\nreason = "a reason long enough"\n'
            'environments = ["qa"]',
            "no environment qa in config",
        ),
        (
            'check = "CKV_AWS_18"\nresource = "X"\nreason = "a reason long enough"\nwhy = 1',
            "unknown key(s) why",
        ),
        ("check = ", "checkov.toml: "),
    ],
)
def test_a_bad_acknowledgement_is_one_line(
    tmp_path: Path, settings: Settings, entry: str, expected: str
) -> None:
    path = write(tmp_path, f"[[acknowledged]]\n{entry}\n")
    with pytest.raises(ConfigError) as raised:
        load_acknowledgements(path, settings.environments)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_the_projects_acknowledgements_follow_its_encryption(settings: Settings) -> None:
    """The Model Monitor KMS findings are excused exactly where encryption is "s3" and
    Model Monitor runs (not on a serverless endpoint)."""
    acks = load_acknowledgements(PROJECT_ROOT / ACKNOWLEDGEMENTS, settings.environments)
    s3 = sorted(
        name
        for name, env in settings.environments.items()
        if not env.encryption.kms and env.monitoring is not None
    )
    for ack in acks:
        assert len(ack.reason) >= 20
        if ack.check in {"CKV_AWS_367", "CKV_AWS_368"}:
            assert sorted(ack.environments) == s3


def test_scan_refuses_unacknowledged_findings_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    monkeypatch.chdir(root)  # cdk.out/ is where synth wrote it: where the task runs
    for name in ("environments.toml", "model.toml", "checkov.toml"):
        (root / "config" / name).write_bytes((PROJECT_ROOT / "config" / name).read_bytes())
    with pytest.raises(
        ProjectError, match=re.escape("no templates in cdk.out/: run invoke synth first")
    ):
        commands.scan(root, Path("cdk.out"))
    (root / "cdk.out").mkdir()
    (root / "cdk.out" / "prod-artifacts.template.json").write_text("{}", encoding="utf-8")
    findings = [
        Finding("CKV_AWS_18", "log", "prod", "prod-artifacts", LOGS),
        Finding("CKV_AWS_21", "versions", "prod", "prod-artifacts", LOGS),
        Finding("CKV_AWS_999", "a new rule", "prod", "prod-artifacts", "AWS::S3::Bucket.X"),
    ]
    monkeypatch.setattr(scan, "run_checkov", lambda outdir: findings)
    with pytest.raises(ProjectError) as raised:
        commands.scan(root, Path("cdk.out"))
    message = str(raised.value)
    assert message.startswith(
        "checkov: 1 unacknowledged finding(s), first CKV_AWS_999 (a new rule)"
    )
    assert "acknowledge it with a reason in config/checkov.toml" in message and "\n" not in message
    monkeypatch.setattr(scan, "run_checkov", lambda outdir: findings[:2])
    monkeypatch.setattr(lint, "run_parliament", lambda settings: ([], []))
    commands.scan(root, Path("cdk.out"))  # all acknowledged: passes
