"""Plan identity: a dry run's plan has a digest; `--execute --plan <id>` runs only that plan,
and refuses in one line, changing nothing, when anything it was computed from changed."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, Result
from {{ cookiecutter.package_name }}.release.ledger import ledger_of
from {{ cookiecutter.package_name }}.release.reviewed import (
    FACTS,
    PlanFacts,
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
    assert f"execute exactly this plan: invoke deploy --env local --execute --plan {plan_id}" in (
        output
    )
    assert "no ledger before the first deploy: execute from here" in output
    manifest = json.loads((planned.bundle / "manifest.json").read_text(encoding="utf-8"))
    facts = PlanFacts.from_json((planned.bundle / FACTS).read_text(encoding="utf-8"))
    assert manifest["plan_digest"] == plan_digest(facts)
    assert facts.live == {name: None for name in facts.templates}  # nothing live yet

    outcome, output = run(local_settings, repo, execute=True, plan=plan_id)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert f"plan {plan_id} holds" in output
    assert outcome.record.plan == {"id": plan_id, "digest": manifest["plan_digest"]}


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
    message = refused(aws, lambda: run(local_settings, repo, execute=True, plan="nope"))
    assert message.startswith("no plan nope for local in ")
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
