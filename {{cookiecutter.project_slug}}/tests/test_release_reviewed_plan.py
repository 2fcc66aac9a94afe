"""Plan identity: a dry run's plan has a digest; `--execute --plan <id>` runs only that plan,
and refuses in one line, changing nothing, when anything it was computed from changed."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import AwsError
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, Result
from {{ cookiecutter.package_name }}.release.ledger import Ledger, ledger_of
from {{ cookiecutter.package_name }}.release.reviewed import (
    FACTS,
    PlanFacts,
    age_hours,
    differences,
    plan_digest,
)

from .conftest import CONFIG_PATH, local_document
from .conftest import aws_client as client
from .test_release_deploy import ARTIFACTS, BUCKET, SERVING, commit, refused, retrained, run

FACTS_ = PlanFacts(
    environment="prod",
    commit="a" * 40,
    model_sha256="m" * 64,
    templates={"app-serving": "t" * 64},
    live={"app-serving": "l" * 64, "app-artifacts": None},
    rows={"app-serving": (("Modify", "Alarm", "AWS::CloudWatch::Alarm", "False"),)},
)


def test_the_digest_is_over_the_facts_and_says_what_differs() -> None:
    assert plan_digest(FACTS_) == plan_digest(PlanFacts.from_json(FACTS_.to_json()))
    assert differences(FACTS_, FACTS_) == []
    moved = replace(FACTS_, commit="b" * 40, live={**FACTS_.live, "app-serving": "x" * 64})
    assert plan_digest(moved) != plan_digest(FACTS_)
    assert differences(FACTS_, moved) == [
        "the commit is bbbbbbb, the plan was made at aaaaaaa",
        "app-serving changed since the plan (live template llllllllllll -> xxxxxxxxxxxx: "
        "someone else or another deploy changed it)",
    ]
    other_rows = replace(FACTS_, rows={"app-serving": ()})
    assert differences(FACTS_, other_rows) == [
        "CloudFormation now plans other changes for app-serving"
    ]
    assert differences(FACTS_, replace(FACTS_, environment="dev"))[0] == (
        "it is a plan of prod, not dev"
    )


def plans_of(repo: Path) -> list[str]:
    folder = repo / "build" / "deploys" / "local"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def deployed_and_planned(aws: str, repo: Path) -> tuple[DeployOutcome, Settings]:
    """A first deploy executed, then a dry run of a committed alarm change: its outcome and
    the changed settings."""
    document = local_document(aws)
    run(parse(document, CONFIG_PATH), repo, execute=True)
    document["environments"]["local"]["alarms"]["latency_p99_ms"] = 1200
    commit(repo, "alarm.txt", "p99 1200\n")
    settings = parse(document, CONFIG_PATH)
    planned, _ = run(settings, repo)
    assert planned.result is Result.DRY_RUN
    return planned, settings


def test_a_first_plan_is_kept_here_and_its_execute_runs_and_records_it(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    planned, output = run(local_settings, repo)
    plan_id = planned.deploy_id
    assert f"Execute exactly this plan: invoke deploy --env local --execute --plan {plan_id}" in (
        output
    )
    assert "no ledger before the first deploy: execute from here" in output
    manifest = json.loads((planned.bundle / "manifest.json").read_text(encoding="utf-8"))
    facts = PlanFacts.from_json((planned.bundle / FACTS).read_text(encoding="utf-8"))
    assert manifest["plan_digest"] == plan_digest(facts)
    markdown = (planned.bundle / "plan.md").read_text(encoding="utf-8")  # the CI step summary
    assert f"Plan digest: `{manifest['plan_digest']}`" in markdown
    assert f"`invoke deploy --env local --execute --plan {plan_id}`" in markdown
    assert facts.live == {name: None for name in facts.templates}  # nothing live yet

    outcome, output = run(local_settings, repo, execute=True, plan=plan_id)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert f"plan {plan_id} holds" in output
    assert outcome.record.plan == {"id": plan_id, "digest": manifest["plan_digest"]}
    executed = (outcome.bundle / "plan.md").read_text(encoding="utf-8")
    assert "Plan digest: `" in executed and "Execute exactly this plan" not in executed


def test_a_plan_in_the_ledger_runs_from_another_checkout(aws: str, repo: Path) -> None:
    planned, settings = deployed_and_planned(aws, repo)
    plan_id = planned.deploy_id
    s3 = client(aws, "s3")
    key = f"releases/local/plans/{plan_id}/{FACTS}"
    assert (
        s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        == (planned.bundle / FACTS).read_bytes()
    )
    shutil.rmtree(repo / "build" / "deploys")  # another machine: only the ledger has the plan
    outcome, _ = run(settings, repo, execute=True, plan=plan_id)
    assert outcome.result is Result.SUCCEEDED
    # The ledger's history holds executes only, not the plans beside them.
    records = ledger_of(settings, settings.environment("local")).records()
    assert plan_id not in {r.deploy_id for r in records} and len(records) == 2


def test_a_stack_changed_since_the_plan_is_refused(aws: str, repo: Path) -> None:
    planned, settings = deployed_and_planned(aws, repo)
    cloudformation = client(aws, "cloudformation")
    body = json.loads((planned.bundle / "templates" / f"{ARTIFACTS}.template.json").read_text())
    body.setdefault("Metadata", {})["changed-by"] = "someone in the console"
    cloudformation.update_stack(
        StackName=ARTIFACTS, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"]
    )
    before = plans_of(repo)
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=planned.deploy_id))
    assert message.startswith(
        f"plan {planned.deploy_id} no longer holds: {ARTIFACTS} changed since"
    )
    assert message.endswith("run a new dry run and review that")
    assert plans_of(repo) == before  # the refused plan is not kept


def test_a_new_commit_or_another_model_is_refused(aws: str, repo: Path) -> None:
    planned, settings = deployed_and_planned(aws, repo)
    reviewed = planned.deploy_id
    message = refused(
        aws, lambda: run(settings, repo, execute=True, plan=reviewed, package=retrained)
    )
    assert "the model is " in message and f"the template of {SERVING} differs" in message
    commit(repo, "later.txt", "another commit\n")
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=reviewed))
    assert message.startswith(f"plan {reviewed} no longer holds: the commit is ")


def test_an_unknown_plan_or_one_of_another_environment_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan="../../x"))
    assert message == (
        "--plan '../../x' is not a deploy id (like 20261201T101502123Z-1a2b3c4-9f0e); pass the "
        "one the dry run printed"
    )
    unknown = "20261201T101502123Z-1a2b3c4-9f0e"
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan=unknown))
    assert message.startswith(f"no plan {unknown} for local in ")
    assert "before local's first deploy there is no ledger" in message
    assert message.endswith("run the dry run (without --execute) and pass the deploy id it prints")
    planned, _ = run(local_settings, repo)
    deploys = repo / "build" / "deploys"
    (deploys / "dev").mkdir()
    planned.bundle.parent.rename(deploys / "dev" / planned.deploy_id)
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan=planned.deploy_id))
    assert message == f"{planned.deploy_id} is a plan of dev, not local; pass a plan of local"


def test_policy_can_require_a_reviewed_plan_and_a_dry_run_can_check_one(
    aws: str, repo: Path
) -> None:
    document = local_document(aws)
    document["environments"]["local"]["policy"]["require_reviewed_plan"] = True
    settings = parse(document, CONFIG_PATH)
    message = refused(aws, lambda: run(settings, repo, execute=True))
    assert message == (
        "local executes only a reviewed plan: run the dry run, review it, then run --execute "
        "--plan <the deploy id the dry run printed>"
    )
    planned, _ = run(settings, repo)  # a dry run needs no plan
    checked, output = run(settings, repo, plan=planned.deploy_id)
    assert checked.result is Result.DRY_RUN and f"plan {planned.deploy_id} holds" in output


@pytest.mark.parametrize("broken", ["{", '{"environment": "local"}'])
def test_an_unreadable_plan_is_refused(
    aws: str, local_settings: Settings, repo: Path, broken: str
) -> None:
    planned, _ = run(local_settings, repo)
    (planned.bundle / FACTS).write_text(broken, encoding="utf-8")
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan=planned.deploy_id))
    assert message.startswith(f"plan {planned.deploy_id}'s {FACTS} is not readable (")


def test_a_plan_without_changes_is_kept_so_its_commit_can_be_recorded(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    """A docs-only commit deploys nothing, but staging and prod record it only through an
    execute of its reviewed plan (promotion and tagging ask whether the commit ran there)."""
    run(local_settings, repo, execute=True)
    commit(repo, "docs.txt", "a docs-only commit\n")
    planned, output = run(local_settings, repo)
    assert planned.result is Result.NO_CHANGES
    assert f"--execute --plan {planned.deploy_id}" in output
    shutil.rmtree(repo / "build" / "deploys")  # the execute finds it in the ledger
    outcome, _ = run(local_settings, repo, execute=True, plan=planned.deploy_id)
    assert outcome.record is not None and outcome.record.plan["id"] == planned.deploy_id


class _Bucket:
    """An S3 client that keeps the keys put, and refuses one key."""

    def __init__(self, refuse: str = "") -> None:
        self.keys: list[str] = []
        self.refuse = refuse

    def put_object(self, **kwargs: Any) -> None:
        if kwargs["Key"].endswith(self.refuse) and self.refuse:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        self.keys.append(kwargs["Key"])


def test_a_kept_plan_goes_up_facts_last_and_a_refused_upload_is_one_line(tmp_path: Path) -> None:
    for name in ("manifest.json", FACTS, "plan.json", "templates/a.template.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    bucket = _Bucket()
    Ledger(bucket, "b", "prod").write_plan("20261201T101502123Z-1a2b3c4-9f0e", tmp_path, FACTS)
    assert len(bucket.keys) == 4 and bucket.keys[-1].endswith(f"/{FACTS}")
    with pytest.raises(AwsError) as raised:
        Ledger(_Bucket("plan.json"), "b", "prod").write_plan("x", tmp_path, FACTS)
    assert str(raised.value).startswith("cannot keep the plan in s3://b/releases/prod/plans/x/")


def test_a_plan_s_age_comes_from_its_deploy_id() -> None:
    now = datetime(2026, 12, 3, 10, 15, 2, tzinfo=UTC)
    assert age_hours("20261201T101502123Z-1a2b3c4-9f0e", now) == 48.0
    assert age_hours("20261203T091502Z-1a2b3c4-9f0e", now) == 1.0  # before milliseconds


def test_an_expired_plan_is_refused(aws: str, local_settings: Settings, repo: Path) -> None:
    """The same plan under an id a week and a day old: local's plans expire after 168 h."""
    planned, _ = run(local_settings, repo)
    old = "20200101T000000000Z-" + planned.deploy_id.split("-", 1)[1]
    shutil.copytree(planned.bundle.parent, planned.bundle.parent.with_name(old))
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan=old))
    assert message.startswith(f"plan {old} expired: it was made ")
    assert message.endswith(
        "plans of local expire after 168 h (policy.plan_expiry_hours); run a new dry run and "
        "review that"
    )
