"""Rollback against a real moto server: the endpoint returns to an earlier deploy's config and
model, from the ledger's archived bundle, with the same guardrails and a record of its own."""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import DeployError
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, Result
from {{ cookiecutter.package_name }}.release.ledger import DeployRecord, Outcome, ledger_of
from {{ cookiecutter.package_name }}.release.rollback import (
    RollbackRequest,
    choose_target,
    rollback,
)

from .test_release_deploy import (
    BUCKET,
    CONFIRM,
    broken_settings,
    client,
    commit,
    refused,
    retrained,
    run,
    snapshot,
)
from .test_release_rules import record


def roll(
    settings: Settings,
    repo: Path,
    *,
    to: str | None = None,
    execute: bool = False,
    environ: dict[str, str] | None = None,
) -> tuple[DeployOutcome, str]:
    output = io.StringIO()
    outcome = rollback(
        settings,
        RollbackRequest(environment="local", to=to, execute=execute),
        root=repo,
        environ=CONFIRM if environ is None else environ,
        out=Console(file=output, width=200),
    )
    return outcome, output.getvalue()


def live_model(aws: str, record: DeployRecord) -> tuple[str, str]:
    """(EndpointConfigName, model-sha256 tag) the endpoint serves right now."""
    sagemaker = client(aws, "sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=record.endpoint["name"])
    tags = sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    sha = {tag["Key"]: tag["Value"] for tag in tags}["model-sha256"]
    return str(endpoint["EndpointConfigName"]), sha


def two_releases(settings: Settings, repo: Path) -> tuple[DeployRecord, DeployRecord]:
    """v1 deployed and tagged v0.1.0, then a retrained model deployed as v2."""
    first, _ = run(settings, repo, execute=True)
    subprocess.run(["git", "tag", "v0.1.0"], cwd=repo, check=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(settings, repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    return first.record, second.record


def test_rollback_returns_the_endpoint_to_the_previous_deploy(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, v2 = two_releases(local_settings, repo)
    before = snapshot(aws)
    planned, output = roll(local_settings, repo)
    assert planned.result is Result.DRY_RUN and "dry run: nothing changed" in output
    assert snapshot(aws) == before
    assert live_model(aws, v2)[1] == v2.model_sha256

    outcome, output = roll(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED and "rolled back local" in output
    record = outcome.record
    assert record is not None
    assert (record.kind, dict(record.rollback)) == (
        "rollback",
        {"from": v2.deploy_id, "to": v1.deploy_id},
    )
    assert (record.commit, record.model_sha256) == (v1.commit, v1.model_sha256)
    config, sha = live_model(aws, v2)
    assert sha == v1.model_sha256 and config == record.endpoint["config"]
    assert config != v2.endpoint["config"]
    kinds = [
        r.kind for r in ledger_of(local_settings, local_settings.environment("local")).records()
    ]
    assert kinds == ["rollback", "deploy", "deploy"]
    # It deployed the archived templates, byte for byte: the same hashes as v1's record.
    assert record.templates == v1.templates


def test_rollback_of_a_rollback_returns_to_the_newer_deploy(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    _v1, v2 = two_releases(local_settings, repo)
    roll(local_settings, repo, execute=True)
    outcome, _ = roll(local_settings, repo, execute=True)
    assert outcome.record is not None
    assert outcome.record.rollback["to"] == v2.deploy_id
    assert live_model(aws, v2)[1] == v2.model_sha256


def test_rollback_to_a_tag_and_to_a_deploy_id(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, v2 = two_releases(local_settings, repo)
    outcome, _ = roll(local_settings, repo, to="v0.1.0", execute=True)
    assert outcome.record is not None and outcome.record.rollback["to"] == v1.deploy_id
    assert live_model(aws, v1)[1] == v1.model_sha256
    outcome, _ = roll(local_settings, repo, to=v2.deploy_id, execute=True)
    assert live_model(aws, v1)[1] == v2.model_sha256


# --- refusals: one line, nothing changed ------------------------------------------------------


def test_nothing_to_roll_back_to(aws: str, local_settings: Settings, repo: Path) -> None:
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message == "nothing to roll back: the environment has no successful deploy yet"
    first, _ = run(local_settings, repo, execute=True)
    assert first.record is not None
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"nothing to roll back to: {first.record.deploy_id} is the only")


def test_unknown_or_failed_targets_are_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    _v1, v2 = two_releases(local_settings, repo)
    commit(repo, "broken.txt", "x\n")
    with pytest.raises(DeployError):
        run(broken_settings(aws), repo, execute=True)
    (failed,) = [
        r
        for r in ledger_of(local_settings, local_settings.environment("local")).records()
        if r.outcome is Outcome.FAILED
    ]
    cases = {
        "20990101T000000000Z-0000000-0000": "no deploy 20990101T000000000Z-0000000-0000 in local",
        failed.deploy_id: f"deploy {failed.deploy_id} failed; roll back only to a success",
        "v9.9.9": "no tag v9.9.9 in this repository",
        v2.deploy_id: f"local already runs {v2.deploy_id}; nothing to do",
    }
    for to, reason in cases.items():
        message = refused(aws, partial(roll, local_settings, repo, to=to, execute=True))
        assert message.startswith(reason), message
    subprocess.run(["git", "tag", "v0.2.0"], cwd=repo, check=True)  # HEAD: the failed commit
    message = refused(aws, lambda: roll(local_settings, repo, to="v0.2.0", execute=True))
    assert "never deployed successfully to local" in message


def test_missing_bundle_or_artifact_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    v1, _v2 = two_releases(local_settings, repo)
    s3 = client(aws, "s3")
    model = f"models/{v1.model_sha256}/model.tar.gz"
    s3.delete_object(Bucket=BUCKET, Key=model)
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"the model artifact s3://{BUCKET}/{model} is not there")
    prefix = f"releases/local/{v1.deploy_id}/bundle/"
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]:
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    message = refused(aws, lambda: roll(local_settings, repo, execute=True))
    assert message.startswith(f"the bundle of {v1.deploy_id} is missing")


def test_rollback_of_a_protected_environment_needs_the_confirmation(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    two_releases(local_settings, repo)
    message = refused(aws, lambda: roll(local_settings, repo, execute=True, environ={}))
    assert message.startswith("local is protected and ")


def test_choosing_the_target_is_pure() -> None:
    newest, failed, oldest = (
        replace(record(letter * 40, outcome), deploy_id=letter)
        for letter, outcome in (
            ("c", Outcome.SUCCEEDED),
            ("b", Outcome.FAILED),
            ("a", Outcome.SUCCEEDED),
        )
    )
    records = [newest, failed, oldest]
    live, target = choose_target(records, None)
    assert (live, target) == (newest, oldest)  # the failed one is skipped
    assert choose_target(records, "v0.1.0", tag_commit="a" * 40)[1] == oldest
    assert choose_target(records, "a")[1] == oldest
