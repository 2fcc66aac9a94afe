"""The governed deploy end to end against a real moto server: plan, execute, verify, record.

Every refusal is checked the same way: the exact one-line reason, and a snapshot of the
account (stacks, change sets, objects) that is identical before and after.
"""

from __future__ import annotations

import copy
import io
import json
import socket
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }} import caching
from {{ cookiecutter.package_name }}.config import Settings, load, parse
from {{ cookiecutter.package_name }}.digests import lock_sha256
from {{ cookiecutter.package_name }}.errors import (
    AwsError,
    ConfigError,
    DeployError,
    ProjectError,
    Refusal,
)
from {{ cookiecutter.package_name }}.model.package import package_model
from {{ cookiecutter.package_name }}.model.packaged import PackagedModel
from {{ cookiecutter.package_name }}.model.settings import load as load_training
from {{ cookiecutter.package_name }}.release.deploy import (
    DeployOutcome,
    DeployRequest,
    Result,
    deploy,
)
from {{ cookiecutter.package_name }}.release.ledger import Outcome, ledger_of

from .conftest import CONFIG_PATH, PROJECT_ROOT, local_document
from .conftest import aws_client as client

PROJECT = load(PROJECT_ROOT).project
VARIABLE = PROJECT.deploy_confirm_variable
CONFIRM = {VARIABLE: "I_UNDERSTAND_THE_COST"}
SERVING = f"{PROJECT.name}-local-serving"
ARTIFACTS = f"{PROJECT.name}-local-artifacts"
BUCKET = f"{PROJECT.name}-local-123456789012"


def snapshot(url: str, *, kept_plans: bool = True) -> dict[str, Any]:
    """Everything a deploy could create: stacks (with change sets), buckets and objects
    (without the ledger's kept plans, releases/<env>/plans/, when kept_plans is False: a
    dry run keeps its plan there and changes nothing else)."""
    cloudformation, s3 = client(url, "cloudformation"), client(url, "s3")
    stacks = {}
    for summary in cloudformation.list_stacks()["StackSummaries"]:
        if summary["StackStatus"] == "DELETE_COMPLETE":
            continue
        name = summary["StackName"]
        change_sets = cloudformation.list_change_sets(StackName=name)["Summaries"]
        # Executed change sets are history (real CloudFormation drops them, moto keeps them).
        pending = [c for c in change_sets if c["ExecutionStatus"] != "EXECUTE_COMPLETE"]
        stacks[name] = (summary["StackStatus"], sorted(c["ChangeSetName"] for c in pending))
    objects = {
        bucket["Name"]: sorted(
            o["Key"]
            for o in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
            if kept_plans or "/plans/" not in o["Key"]
        )
        for bucket in s3.list_buckets()["Buckets"]
    }
    return {"stacks": stacks, "objects": objects}


def run(
    settings: Settings,
    repo: Path,
    *,
    env: str = "local",
    execute: bool = False,
    environ: dict[str, str] | None = None,
    upload_artifacts: bool = True,
    package: Callable[[Path], PackagedModel] | None = None,
    plan: str | None = None,
) -> tuple[DeployOutcome, str]:
    output = io.StringIO()
    outcome = deploy(
        settings,
        DeployRequest(
            environment=env, execute=execute, upload_artifacts=upload_artifacts, plan=plan
        ),
        root=repo,
        environ=CONFIRM if environ is None else environ,
        out=Console(file=output, width=200),
        package=package,
    )
    return outcome, output.getvalue()


def refused(aws: str, action: Callable[[], object], error: type[ProjectError] = Refusal) -> str:
    """Run a deploy that must be refused; nothing in the account may change."""
    before = snapshot(aws)
    with pytest.raises(error) as raised:
        action()
    assert snapshot(aws) == before
    message = str(raised.value)
    assert "\n" not in message
    return message


def commit(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text, encoding="utf-8")
    for command in (
        ["git", "add", path],
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", path],
    ):
        subprocess.run(command, cwd=repo, check=True)


def test_dry_run_plans_everything_and_leaves_aws_untouched(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, output = run(local_settings, repo)
    assert outcome.result is Result.DRY_RUN
    assert "dry run: nothing changed" in output
    assert snapshot(aws) == {"stacks": {}, "objects": {}}
    planned = {stack.stack_name: stack for stack in outcome.plan.stacks}
    serving = planned[SERVING]
    assert {c.resource_type for c in serving.changes} >= {
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
    }
    assert all(c.action == "Add" for s in planned.values() for c in s.changes)
    assert "estimated cost: ~$84/month" in output
    for name in ("plan.json", "plan.md", "manifest.json"):
        assert (outcome.bundle / name).is_file()
    assert len(list((outcome.bundle / "templates").glob("*.template.json"))) == len(planned)
    assert "| Add | ModelEndpoint" in (outcome.bundle / "plan.md").read_text(encoding="utf-8")


def test_execute_creates_verifies_and_records(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, output = run(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED
    record = outcome.record
    assert record is not None and record.outcome is Outcome.SUCCEEDED
    state = snapshot(aws)
    assert {status for status, _ in state["stacks"].values()} == {"CREATE_COMPLETE"}
    assert all(not change_sets for _, change_sets in state["stacks"].values())
    keys = state["objects"][BUCKET]
    assert f"models/{record.model_sha256}/model.tar.gz" in keys
    assert f"releases/local/{record.deploy_id}/record.json" in keys
    assert f"releases/local/{record.deploy_id}/bundle/plan.md" in keys
    assert "verified:" in output and "InService" in output
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert record.commit == head.stdout.strip()
    assert record.ref == "refs/heads/main"
    assert record.endpoint["name"] and record.endpoint["config"]
    (stored,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert stored == record


def test_redeploy_of_the_same_commit_says_no_changes(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    before = snapshot(aws)
    outcome, output = run(local_settings, repo, execute=True)
    assert outcome.result is Result.NO_CHANGES
    assert "no changes" in output
    assert snapshot(aws) == before  # no change set left behind, no new record


def test_a_new_commit_without_deployed_changes_is_verified_and_recorded(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    commit(repo, "docs.md", "only docs changed\n")
    planned, output = run(local_settings, repo)  # a dry run records nothing
    assert planned.result is Result.NO_CHANGES and planned.record is None
    outcome, output = run(local_settings, repo, execute=True)
    assert outcome.result is Result.NO_CHANGES
    assert "verified there and recorded s3://" in output
    assert outcome.record is not None and first.record is not None
    assert outcome.record.change_sets == {}
    assert outcome.record.endpoint == first.record.endpoint
    newest, _ = ledger_of(local_settings, local_settings.environment("local")).records()
    assert newest == outcome.record and newest.outcome is Outcome.SUCCEEDED
    # Once recorded, running it again is a plain "no changes" with nothing written.
    before = snapshot(aws)
    again, _ = run(local_settings, repo, execute=True)
    assert again.record is None and snapshot(aws) == before


def retrained(out: Path) -> PackagedModel:
    """What a committed change to config/model.toml produces: another model."""
    return package_model(out, replace(load_training(PROJECT_ROOT), regularization=0.05))


def deploy_two_models(settings: Settings, repo: Path) -> tuple[DeployOutcome, DeployOutcome]:
    """A first deploy, then a committed model change deployed: both outcomes."""
    first, _ = run(settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(settings, repo, execute=True, package=retrained)
    return first, second


def test_a_model_change_rolls_the_endpoint_to_a_new_config(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, outcome = deploy_two_models(local_settings, repo)
    assert outcome.result is Result.SUCCEEDED
    assert first.record is not None and outcome.record is not None
    before, after = first.record, outcome.record
    assert after.model_sha256 != before.model_sha256
    serving = next(s for s in outcome.plan.stacks if s.stack_name == SERVING)
    changed = {c.resource_type: c.action for c in serving.changes}
    assert changed["AWS::SageMaker::Model"] == "Modify"
    assert changed["AWS::SageMaker::EndpointConfig"] == "Modify"
    assert after.endpoint["name"] == before.endpoint["name"]  # the same endpoint...
    assert after.endpoint["config"] != before.endpoint["config"]  # ...on a new config
    sagemaker = client(aws, "sagemaker")
    live = sagemaker.describe_endpoint(EndpointName=after.endpoint["name"])
    assert live["EndpointConfigName"] == after.endpoint["config"]
    assert f"models/{after.model_sha256}/model.tar.gz" in snapshot(aws)["objects"][BUCKET]


def test_history_lists_records_newest_first(
    aws: str,
    local_settings: Settings,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, _ = run(local_settings, repo, execute=True)
    commit(repo, "config.txt", "changed\n")
    with pytest.raises(DeployError):  # a failed deploy is recorded too
        run(broken_settings(aws), repo, execute=True)
    records = ledger_of(local_settings, local_settings.environment("local")).records()
    assert [r.outcome for r in records] == [Outcome.FAILED, Outcome.SUCCEEDED]
    assert records[1].deploy_id == first.deploy_id

    from {{ cookiecutter.package_name }} import commands

    commands.history(repo, "local", as_json=True, limit=0, settings=local_settings)
    listed = json.loads(capsys.readouterr().out)
    assert [entry["outcome"] for entry in listed] == ["failed", "succeeded"]
    commands.history(repo, "local", as_json=False, limit=1, settings=local_settings)
    table = capsys.readouterr().out
    assert records[0].deploy_id in table and first.deploy_id not in table
    # In a 120-column CI log every cell but the actor stays whole (no wrapped "succeeded").
    logged = io.StringIO()
    monkeypatch.setattr(commands, "console", Console(file=logged, width=120))
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    for cell in (first.deploy_id, " deploy ", " succeeded ", " failed ", " main ", " 1 "):
        assert cell in logged.getvalue(), cell


ENDPOINT_FAILURE = "Resource handler returned message: the endpoint update failed (injected)"


def broken_settings(url: str) -> Settings:
    """Settings whose deploy fails at the endpoint: the rollout's wait changes, so every
    change set touches the Endpoint, and the strict local AWS fails that resource."""
    request = urllib.request.Request(
        f"{url}/strict-api/faults",
        data=json.dumps(
            {"resource": "AWS::SageMaker::Endpoint", "reason": ENDPOINT_FAILURE}
        ).encode(),
        method="POST",
    )
    urllib.request.urlopen(request).close()
    document = local_document(url)
    document["environments"]["local"]["rollout"]["wait_seconds"] = 17
    return parse(document, CONFIG_PATH)


def unknown_instance_type(url: str) -> Settings:
    """An input SageMaker (and moto) rejects: an instance type it does not know."""
    document = local_document(url)
    document["environments"]["local"]["endpoint"]["instance_type"] = "ml.zz9.huge"
    return parse(document, CONFIG_PATH)


def test_a_failing_change_set_is_recorded_and_raises(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    with pytest.raises(DeployError) as raised:
        run(unknown_instance_type(aws), repo, execute=True)
    message = str(raised.value)
    # The resource that failed, as CloudFormation's events name it.
    assert f"failed at {SERVING} ModelConfig" in message
    assert "ml.zz9.huge" in message and "recorded s3://" in message
    (record,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert record.outcome is Outcome.FAILED
    assert record.failure is not None and "ml.zz9.huge" in record.failure.reason
    # A failed first create rolls back to ROLLBACK_COMPLETE, where CloudFormation takes no
    # change set: the next deploy says so in one line, and runs once the stack is deleted.
    assert snapshot(aws)["stacks"][SERVING] == ("ROLLBACK_COMPLETE", [])
    message = refused(aws, lambda: run(local_settings, repo, execute=True))
    assert message == (
        f"{SERVING} is ROLLBACK_COMPLETE: its first deploy failed; delete the stack and "
        "deploy again"
    )
    client(aws, "cloudformation").delete_stack(StackName=SERVING)
    outcome, _ = run(local_settings, repo, execute=True)
    assert outcome.result is Result.SUCCEEDED


# --- refusals: one line, nothing changed ------------------------------------------------------


def test_protected_environment_needs_the_confirmation(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    message = refused(aws, lambda: run(local_settings, repo, execute=True, environ={}))
    assert message == (
        f"local is protected and {VARIABLE} is not set; set "
        f"{VARIABLE}=I_UNDERSTAND_THE_COST to confirm this deploy"
    )
    wrong = {VARIABLE: "i_understand_the_cost"}
    message = refused(aws, lambda: run(local_settings, repo, execute=True, environ=wrong))
    assert f"{VARIABLE} is 'i_understand_the_cost'" in message


def test_dirty_tree_is_refused(aws: str, local_settings: Settings, repo: Path) -> None:
    (repo / "scratch.py").write_text("x = 1\n", encoding="utf-8")
    message = refused(aws, lambda: run(local_settings, repo, execute=True))
    assert message.startswith("the working tree has uncommitted changes (?? scratch.py)")


def test_ref_outside_the_policy_is_refused(aws: str, local_settings: Settings, repo: Path) -> None:
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    message = refused(aws, lambda: run(local_settings, repo, execute=True))
    assert message.startswith("local deploys only from refs/heads/*, refs/tags/v*, not a detached")


def test_release_tag_on_a_detached_head_is_allowed(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    subprocess.run(["git", "tag", "v0.1.0"], cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=repo, check=True)
    outcome, _ = run(local_settings, repo)
    assert outcome.result is Result.DRY_RUN


def test_wrong_account_is_refused(aws: str, repo: Path) -> None:
    document = local_document(aws)
    document["environments"]["local"]["account"] = "210987654321"
    settings = parse(document, CONFIG_PATH)
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message.startswith(
        "local is account 210987654321 but the credentials in use are "
        "arn:aws:sts::123456789012:user/moto in account 123456789012"
    )


def test_unknown_environment_is_refused(aws: str, local_settings: Settings, repo: Path) -> None:
    message = refused(aws, lambda: run(local_settings, repo, env="qa"), ConfigError)
    assert message.startswith("unknown environment 'qa': environments.toml defines local, dev")


def promoted_settings(url: str) -> Settings:
    """A second moto-backed environment, qa, that takes only commits deployed to local."""
    document = local_document(url)
    qa = copy.deepcopy(document["environments"]["local"])
    qa["policy"]["promotion_from"] = "local"
    document["environments"]["qa"] = qa
    return parse(document, CONFIG_PATH)


def test_skipping_the_promotion_order_is_refused(aws: str, repo: Path) -> None:
    settings = promoted_settings(aws)
    message = refused(aws, lambda: run(settings, repo, env="qa", execute=True))
    assert message.startswith("qa takes only commits already deployed to local, and ")
    assert message.endswith("has no successful deploy there; deploy it to local first")
    first, _ = run(settings, repo, env="local", execute=True)
    outcome, _ = run(settings, repo, env="qa", execute=True)
    assert outcome.result is Result.SUCCEEDED
    # Bytes, not a commit: qa ran the very model and lock local ran.
    assert first.record is not None and outcome.record is not None
    assert outcome.record.model_sha256 == first.record.model_sha256
    assert outcome.record.lock_sha256 == first.record.lock_sha256 == lock_sha256(repo)
    manifest = json.loads((outcome.bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["lock_sha256"] == lock_sha256(repo)
    assert {"python", "scikit-learn", "numpy", "aws-cdk-lib"} <= set(manifest["versions"])


def test_a_promotion_is_refused_a_model_its_source_did_not_run(aws: str, repo: Path) -> None:
    """Re-packaging the same commit must give the same bytes; a model local never served
    (here: packaged by other means) is refused before anything is planned."""
    settings = promoted_settings(aws)
    first, _ = run(settings, repo, env="local", execute=True)
    assert first.record is not None
    message = refused(aws, lambda: run(settings, repo, env="qa", package=retrained))
    assert message.startswith("the model packaged here (")
    assert f"is not the one local's deploy {first.deploy_id} of " in message
    assert "packaging did not reproduce it" in message
    assert list((repo / "build" / "deploys" / "qa").iterdir()) == []  # nothing half-written


def test_a_deploy_with_libraries_the_lock_does_not_pin_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """A laptop whose environment drifted from uv.lock would build other templates or
    another model than the lock (whose hash the record keeps) says."""
    from importlib.metadata import version

    (repo / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "boto3"\nversion = "0.0.1"\n', encoding="utf-8"
    )
    commit(repo, "uv.lock", (repo / "uv.lock").read_text(encoding="utf-8"))
    message = refused(aws, lambda: run(local_settings, repo))
    assert message == (
        f"boto3 {version('boto3')} is installed, but uv.lock pins 0.0.1: a deploy builds only "
        "with the locked versions; run `uv sync --locked` (nox sessions do) and retry"
    )


def test_a_promotion_is_refused_a_lock_its_source_did_not_run(aws: str, repo: Path) -> None:
    """A lock that is not committed can differ under one commit: the one qa would build
    with is compared with the one local's deploy recorded."""
    subprocess.run(["git", "rm", "-q", "--cached", "uv.lock"], cwd=repo, check=True)
    (repo / ".gitignore").write_text("build/\nuv.lock\n", encoding="utf-8")
    commit(repo, ".gitignore", "build/\nuv.lock\n")
    settings = promoted_settings(aws)
    run(settings, repo, env="local", execute=True)
    (repo / "uv.lock").write_text("version = 1\n# resolved again, later\n", encoding="utf-8")
    message = refused(aws, lambda: run(settings, repo, env="qa", execute=True))
    assert message.startswith(f"uv.lock here ({lock_sha256(repo)[:12]}…) is not the one local's")
    assert message.endswith(
        "qa takes only the dependencies local ran: deploy from that commit's committed uv.lock"
    )


def test_busy_stack_is_refused(aws: str, local_settings: Settings, repo: Path) -> None:
    run(local_settings, repo, execute=True)
    from moto.cloudformation.models import cloudformation_backends

    stacks = cloudformation_backends["123456789012"]["us-east-1"].stacks.values()
    (serving,) = [s for s in stacks if s.name == SERVING]
    serving.status = "UPDATE_IN_PROGRESS"  # what another deploy in flight looks like
    message = refused(aws, lambda: run(local_settings, repo, execute=True))
    assert message.startswith(f"{SERVING} is UPDATE_IN_PROGRESS: another operation is changing it")


def test_pending_change_sets_of_another_deploy_are_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    client(aws, "cloudformation").create_change_set(
        StackName=ARTIFACTS,
        ChangeSetName="someone-else",
        ChangeSetType="CREATE",
        TemplateBody='{"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}',
    )
    message = refused(aws, lambda: run(local_settings, repo))
    assert message.startswith(f"{ARTIFACTS} has 1 pending change set(s)")


def test_missing_artifact_without_upload_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    message = refused(aws, lambda: run(local_settings, repo, execute=True, upload_artifacts=False))
    assert message.endswith("is not there; deploy from source with --upload-artifacts to upload it")
    # Refused after packaging and synth: the half-built deploy folder is gone too.
    assert list((repo / "build" / "deploys" / "local").iterdir()) == []


def test_unreachable_aws_is_one_line(repo: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    settings = parse(local_document(f"http://127.0.0.1:{port}"), CONFIG_PATH)
    with pytest.raises(AwsError) as raised:
        run(settings, repo)
    assert str(raised.value).startswith(f"cannot reach AWS at http://127.0.0.1:{port}: ")
    assert str(raised.value).endswith("; start it with `invoke local-aws`")


def test_unchanged_inputs_are_not_packaged_or_synthesized_again(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second dry run takes the model and the templates from the project's build/cache/
    (no training, no CDK) and plans the same digest; here the project's own cache, not the
    one the other tests share."""
    monkeypatch.setattr(caching, "cache_dir", lambda root: root / caching.CACHE)
    first, said_first = run(local_settings, repo)
    second, said_second = run(local_settings, repo)
    assert "bytes, packaged)" in said_first
    assert "stacks (synthesized with cdk-nag)" in said_first
    assert said_second.count("from build/cache/, inputs unchanged)") == 2
    assert (repo / "build" / "cache" / "models").is_dir()
    assert first.record is None and second.record is None
    digests = [
        line.split()[1]
        for line in (said_first + said_second).splitlines()
        if line.startswith("model ")
    ]
    assert len(digests) == 2 and digests[0] == digests[1]
