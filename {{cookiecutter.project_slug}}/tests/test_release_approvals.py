"""The two-person rule: approvals name a plan's digest, come from `invoke approve` (each
approver with their own local AWS credentials, so STS tells them apart) or from the gates
of the Deploy run (the GitHub stand-in's run approvals), and an execute counts distinct
people, never the deployer, from the teams the policy names. Every refusal is one line and
changes nothing."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, load, parse
from {{ cookiecutter.package_name }}.errors import ConfigError, Refusal
from {{ cookiecutter.package_name }}.release.approvals import (
    Approval,
    Person,
    Rule,
    gates,
    tally,
)
from {{ cookiecutter.package_name }}.release.approve import ApproveRequest, approve
from {{ cookiecutter.package_name }}.release.deploy import DeployOutcome, Result
from {{ cookiecutter.package_name }}.release.ledger import new_deploy_id
from {{ cookiecutter.package_name }}.release.rollback import RollbackRequest, rollback
from {{ cookiecutter.package_name }}.release.tag import TagRequest, tag

from .conftest import CONFIG_PATH, PROJECT_ROOT, local_document
from .github_standin import GitHubStandIn
from .test_release_deploy import CONFIRM, commit, refused, retrained, run, snapshot
from .test_release_tag import git, tags_of

DIGEST = "d" * 64
PLAN = "20261201T101502123Z-1a2b3c4-9f0e"
# prod's teams, as this bake named them: a maintainer and a release manager approve prod.
MAINTAINERS, MANAGERS = load(PROJECT_ROOT).environment("prod").policy.approver_teams


def approval(who: str, *, login: str = "", digest: str = DIGEST, source: str = "") -> Approval:
    return Approval(
        plan=PLAN,
        digest=digest,
        environment="prod",
        principal=f"arn:aws:sts::333333333333:assumed-role/Deployer/{who}" if who else "",
        user_id=f"AROAEXAMPLE:{who}" if who else "",
        login=login,
        source=source or "invoke approve",
        at=f"2026-12-01T10:{len(who):02d}:00+00:00",
    )


TWO = Rule(required=2, deployer_may_approve=False, teams=(), one_per_team=False)
DEPLOYER = Person("arn:aws:sts::333333333333:assumed-role/Deployer/dana", "dana")


def counted(rule: Rule, approvals: list[Approval], **teams: frozenset[str]) -> Any:
    return tally(rule, approvals, plan=PLAN, digest=DIGEST, deployer=DEPLOYER, teams_of=teams)


# --- the rules, over plain data ---------------------------------------------------------------


def test_two_distinct_people_count_and_the_deployer_never_does() -> None:
    result = counted(TWO, [approval("alice"), approval("bob")])
    assert result.enough and sorted(a.who for a in result.counted) == ["alice", "bob"]
    result = counted(TWO, [approval("alice"), approval("dana")])
    assert not result.enough and result.missing == 1
    line = result.describe("prod", PLAN, DIGEST)
    assert line == (
        f"prod needs 2 approvals from people but the deployer for plan {PLAN} (digest "
        "dddddddddddd…); it has 1: alice (invoke approve); missing 1; not counted: dana is the "
        "deployer"
    )
    may = Rule(required=2, deployer_may_approve=True, teams=(), one_per_team=False)
    assert counted(may, [approval("alice"), approval("dana")]).enough


def test_one_person_counts_once_whatever_identities_they_use() -> None:
    # Two AWS principals tied by one GitHub login, and a gate approved twice by one reviewer.
    laptop = approval("alice", login="alice")
    other_role = approval("alice-admin", login="ALICE")
    gate_1 = approval("", login="carol", source="GitHub run 7 gate prod")
    gate_2 = approval("", login="carol", source="GitHub run 7 gate prod-approval-2")
    result = counted(TWO, [laptop, other_role, gate_1, gate_2])
    assert sorted(a.who for a in result.counted) == ["alice", "carol"]
    assert not counted(TWO, [laptop, other_role]).enough
    assert not counted(TWO, [gate_1, gate_2]).enough


def test_a_person_is_the_deployer_by_any_identity_they_used() -> None:
    """People are grouped first: an approval under another principal, tied by its login to
    one under the deployer's principal, is the deployer's too."""
    deployer = Person(DEPLOYER.principal, "")
    as_deployer = replace(approval("dana"), login="dana-gh")
    other_role = approval("dana-admin", login="dana-gh")
    result = tally(
        TWO,
        [as_deployer, other_role, approval("alice"), approval("bob")],
        plan=PLAN,
        digest=DIGEST,
        deployer=deployer,
        teams_of={},
    )
    assert sorted(a.who for a in result.counted) == ["alice", "bob"]
    assert [(a.who, why) for a, why in result.ignored] == [("dana-gh", "is the deployer")]


def test_an_approval_of_another_digest_does_not_count() -> None:
    result = counted(TWO, [approval("alice"), approval("bob", digest="e" * 64)])
    assert not result.enough
    assert result.ignored[0][1] == f"approved another plan ({PLAN}, digest eeeeeeeeeeee…)"


def test_teams_decide_whose_approval_counts_and_one_of_each_is_matched() -> None:
    rule = Rule(
        required=2, deployer_may_approve=False, teams=(MAINTAINERS, MANAGERS), one_per_team=True
    )
    alice, bob = approval("alice", login="alice"), approval("bob", login="bob")
    both, maintainer = frozenset({MAINTAINERS, MANAGERS}), frozenset({MAINTAINERS})
    # alice is in both teams and bob in one: alice must be the release manager, and is.
    assert counted(rule, [alice, bob], alice=both, bob=maintainer).enough
    two_maintainers = counted(rule, [alice, bob], alice=maintainer, bob=maintainer)
    assert not two_maintainers.enough and two_maintainers.missing_teams == (MANAGERS,)
    assert f"missing 1 (from {MANAGERS})" in two_maintainers.describe("prod", PLAN, DIGEST)
    outsider = counted(rule, [alice, approval("eve", login="eve")], alice=both)
    assert "eve is not in" in outsider.describe("prod", PLAN, DIGEST)
    no_login = counted(rule, [alice, approval("bob")], alice=both)
    assert "bob has no verified GitHub login" in no_login.describe("prod", PLAN, DIGEST)


def test_rollbacks_have_their_own_count_from_any_of_the_teams(settings: Settings) -> None:
    policy = settings.environment("prod").policy
    assert Rule.of(policy, rollback=False) == Rule(2, False, (MAINTAINERS, MANAGERS), True)
    assert Rule.of(policy, rollback=True) == Rule(1, False, (MAINTAINERS, MANAGERS), False)
    assert gates("prod", 2) == ("prod", "prod-approval-2") and gates("dev", 1) == ("dev",)


def test_the_approval_policy_is_checked_where_it_is_written() -> None:
    document = local_document("http://127.0.0.1:1")
    policy = document["environments"]["local"]["policy"]
    policy["approvals_required"] = 2
    with pytest.raises(ConfigError, match="set require_reviewed_plan = true"):
        parse(document, CONFIG_PATH)
    policy |= {"require_reviewed_plan": True, "one_approver_per_team": True}
    with pytest.raises(ConfigError, match="one_approver_per_team: needs approver_teams"):
        parse(document, CONFIG_PATH)
    policy["approver_teams"] = [MAINTAINERS, MANAGERS, "acme/leads"]
    with pytest.raises(ConfigError, match="needs approvals_required >= 3"):
        parse(document, CONFIG_PATH)
    policy["approver_teams"] = ["not a team"]
    with pytest.raises(ConfigError, match="approver_teams: 'not a team' is not valid"):
        parse(document, CONFIG_PATH)


# --- end to end, against the local AWS ----------------------------------------------------------


def two_person(url: str, **policy: Any) -> Settings:
    """local with prod's two-person rule (and any other policy given)."""
    document = local_document(url)
    document["environments"]["local"]["policy"] |= {
        "require_reviewed_plan": True,
        "approvals_required": 2,
        "rollback_approvals_required": 1,
        **policy,
    }
    document["release"]["environment"] = "local"
    return parse(document, CONFIG_PATH)


def approve_as(
    settings: Settings, repo: Path, plan: str, user: str | None, digest: str = "", **environ: str
) -> str:
    """`invoke approve` as local IAM user `user` (None: the local root, who deploys)."""
    output = io.StringIO()
    who = {"LOCAL_AWS_USER": user} if user else {}
    approve(
        settings,
        ApproveRequest(environment="local", plan=plan, digest=digest),
        root=repo,
        environ={**who, **environ},
        out=Console(file=output, width=300),
    )
    return output.getvalue()


def ledger_objects(aws: str) -> list[str]:
    return [key for keys in snapshot(aws)["objects"].values() for key in keys]


def deployed_then_planned(aws: str, repo: Path, settings: Settings) -> DeployOutcome:
    """A first deploy (approved by alice and bob), then the dry run of a new model."""
    first, _ = run(settings, repo)
    approve_as(settings, repo, first.deploy_id, "alice")
    approve_as(settings, repo, first.deploy_id, "bob")
    run(settings, repo, execute=True, plan=first.deploy_id)
    commit(repo, "model-change.txt", "a new model\n")
    planned, _ = run(settings, repo, package=retrained)
    return planned


def test_a_plan_runs_once_two_people_other_than_the_deployer_approved_its_digest(
    aws: str, repo: Path
) -> None:
    settings = two_person(aws)
    planned, output = run(settings, repo)
    plan = planned.deploy_id
    assert (
        f"Approve it (local needs 2 approvals from people but the deployer): invoke approve "
        f"--env local --plan {plan}" in output
    )
    markdown = (planned.bundle / "plan.md").read_text(encoding="utf-8")
    assert f"`invoke approve --env local --plan {plan}`" in markdown

    said = approve_as(settings, repo, plan, "alice")
    assert "as alice (arn:aws:iam::123456789012:user/alice)" in said
    assert f"plan {plan} is approved by alice" in said
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan))
    assert message.startswith(
        f"local needs 2 approvals from people but the deployer for plan {plan}"
    )
    assert "it has 1: alice (invoke approve); missing 1;" in message
    assert "approve it with `invoke approve --env local --plan" in message

    approve_as(settings, repo, plan, "alice")  # approving again changes nothing: one person
    assert "missing 1" in refused(aws, lambda: run(settings, repo, execute=True, plan=plan))
    approve_as(settings, repo, plan, None)  # the deployer approves their own plan
    assert "moto is the deployer" in refused(
        aws, lambda: run(settings, repo, execute=True, plan=plan)
    )

    approve_as(settings, repo, plan, "bob")
    outcome, output = run(settings, repo, execute=True, plan=plan, package=None)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert "approved: local needs 2 approvals" in output and "it has 2: alice" in output
    who = [(a["who"], a["principal"]) for a in outcome.record.approvals]
    assert who == [
        ("alice", "arn:aws:iam::123456789012:user/alice"),
        ("bob", "arn:aws:iam::123456789012:user/bob"),
    ]


def test_approvals_follow_a_plan_kept_in_the_ledger_and_the_tag_names_them(
    aws: str, repo: Path, origin: Path
) -> None:
    settings = two_person(aws)
    planned = deployed_then_planned(aws, repo, settings)
    plan = planned.deploy_id
    digest = json.loads((planned.bundle / "manifest.json").read_text(encoding="utf-8"))
    shutil.rmtree(repo / "build" / "deploys")  # the approvers' and deployer's own checkouts
    approve_as(settings, repo, plan, "alice", digest=digest["plan_digest"][:12])
    approve_as(settings, repo, plan, "bob")
    keys = [key for key in ledger_objects(aws) if f"/plans/{plan}/approvals/" in key]
    assert len(keys) == 2
    outcome, _ = run(settings, repo, execute=True, plan=plan, package=retrained)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert [a["who"] for a in outcome.record.approvals] == ["alice", "bob"]
    git(repo, "push", "-q", "origin", "main")
    tag(settings, TagRequest(execute=True), root=repo, environ={}, out=Console(file=io.StringIO()))
    assert tags_of(repo) == ["v0.1.0"]
    annotated = git(repo, "tag", "-l", "--format=%(contents)", "v0.1.0")
    assert "Approved-By: alice (invoke approve)\nApproved-By: bob (invoke approve)" in annotated
    assert f"Plan: {plan} ({digest['plan_digest']})" in annotated


def test_bad_approvals_are_one_line_and_write_nothing(aws: str, repo: Path) -> None:
    settings = two_person(aws)
    planned = deployed_then_planned(aws, repo, settings)
    plan = planned.deploy_id

    def refused_approval(action: Any, expected: str) -> None:
        before = (ledger_objects(aws), sorted(str(p) for p in (repo / "build").rglob("*")))
        with pytest.raises(Refusal) as raised:
            action()
        assert expected in str(raised.value) and "\n" not in str(raised.value)
        assert (ledger_objects(aws), sorted(str(p) for p in (repo / "build").rglob("*"))) == before

    unknown = new_deploy_id("0" * 40)
    refused_approval(lambda: approve_as(settings, repo, unknown, "alice"), f"no plan {unknown}")
    refused_approval(lambda: approve_as(settings, repo, "../../etc", "alice"), "is not a deploy id")
    refused_approval(
        lambda: approve_as(settings, repo, plan, "alice", digest="0" * 12),
        f"plan {plan} has digest",
    )
    refused_approval(
        lambda: approve_as(settings, repo, plan, "alice", digest="xyz"), "is not a plan digest"
    )
    with pytest.raises(ConfigError, match=r"^LOCAL_AWS_USER='not a name' is not an IAM user"):
        approve_as(settings, repo, plan, "not a name")
    week_old = "20200101T000000000Z-1a2b3c4-9f0e"
    refused_approval(lambda: approve_as(settings, repo, week_old, "alice"), "expired")
    # A plan of another environment (kept in its folder of this checkout).
    other = repo / "build" / "deploys" / "dev" / plan
    shutil.copytree(repo / "build" / "deploys" / "local" / plan, other)
    shutil.rmtree(repo / "build" / "deploys" / "local" / plan)
    s3_delete_plan(aws, plan)  # and the ledger has local's copy: remove it
    refused_approval(
        lambda: approve_as(settings, repo, plan, "alice"), f"{plan} is a plan of dev, not local"
    )


def s3_delete_plan(aws: str, plan: str) -> None:
    from .conftest import aws_client

    s3 = aws_client(aws, "s3")
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            if f"/plans/{plan}/" in item["Key"]:
                s3.delete_object(Bucket=bucket["Name"], Key=item["Key"])


def approved_by_alice_with_another_file(
    aws: str, repo: Path, name: str, **changes: str
) -> tuple[Settings, str]:
    """A plan alice approved (kept in this checkout: no ledger yet), and beside her approval
    a file `name` that copies hers with `changes`; the settings and the plan's id."""
    settings = two_person(aws)
    planned, _ = run(settings, repo)
    approve_as(settings, repo, planned.deploy_id, "alice")
    folder = repo / "build" / "deploys" / "local" / planned.deploy_id / "approvals"
    alice = json.loads(next(folder.glob("*.json")).read_text(encoding="utf-8"))
    (folder / name).write_text(json.dumps(alice | changes), encoding="utf-8")
    return settings, planned.deploy_id


def test_an_approval_of_another_digest_is_not_counted_at_execute(aws: str, repo: Path) -> None:
    mallory = "arn:aws:iam::123456789012:user/mallory"
    settings, plan = approved_by_alice_with_another_file(
        aws, repo, "mallory.json", digest="e" * 64, principal=mallory, user_id="mallory"
    )
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan))
    assert "mallory approved another plan" in message and "missing 1" in message


def test_an_approval_written_for_someone_else_is_refused(aws: str, repo: Path) -> None:
    """One file per approver, named by their AWS user id: a file under one name claiming
    another approver (the way to pass one person off as two) stops the execute."""
    bob = "arn:aws:iam::123456789012:user/bob"
    settings, plan = approved_by_alice_with_another_file(
        aws, repo, "mallory.json", user_id="BOBSID", principal=bob
    )
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan))
    assert message.endswith(
        "names the approver 'BOBSID', whose approval has another name: someone wrote it for "
        "them; remove it"
    )


def test_once_the_ledger_exists_approvals_on_a_checkout_do_not_count(aws: str, repo: Path) -> None:
    settings = two_person(aws)
    plan = deployed_then_planned(aws, repo, settings).deploy_id
    approve_as(settings, repo, plan, "alice")  # into the ledger
    folder = repo / "build" / "deploys" / "local" / plan / "approvals"
    folder.mkdir(parents=True)
    bob = {
        "plan": plan,
        "digest": json.loads(
            (repo / "build" / "deploys" / "local" / plan / "bundle" / "manifest.json").read_text(
                encoding="utf-8"
            )
        )["plan_digest"],
        "environment": "local",
        "principal": "arn:aws:iam::123456789012:user/bob",
        "user_id": "BOBSID",
        "login": "",
        "source": "invoke approve",
        "at": "2026-12-06T10:00:00+00:00",
    }
    (folder / "BOBSID.json").write_text(json.dumps(bob), encoding="utf-8")
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan, package=retrained))
    assert "it has 1: alice (invoke approve); missing 1" in message


# --- in GitHub Actions: the gates of the Deploy run -------------------------------------------


def actions_environ(github_api: GitHubStandIn, run_id: int, **extra: str) -> dict[str, str]:
    """What the Deploy workflow's job has: GitHub's variables, and AWS credentials whose
    session the workflow names deploy-<env>-<run id> (on the local AWS: that IAM user)."""
    actions = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": str(run_id),
        "GITHUB_ACTOR": "dana",
        "GITHUB_TRIGGERING_ACTOR": "dana",
        "LOCAL_AWS_USER": f"deploy-local-{run_id}",
    }
    return github_api.environ(**{**actions, **dict(CONFIRM), **extra})


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def prod_shaped(url: str) -> Settings:
    """local with prod's whole rule: a maintainer and a release manager, neither the deployer."""
    return two_person(url, approver_teams=[MAINTAINERS, MANAGERS], one_approver_per_team=True)


def test_the_deploy_runs_gates_count_by_person_and_team(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = prod_shaped(aws)
    github_api.add_team(*MAINTAINERS.split("/"), "carol", "dana")
    github_api.add_team(*MANAGERS.split("/"), "erin")
    github_api.org_blind.add(github_api.token)  # the workflow's own token cannot read teams
    reader = github_api.add_person("org-reader")
    planned, _ = run(settings, repo)
    plan = planned.deploy_id
    github_api.add_run(77, f"Deploy local: execute plan {plan}", "dana", head(repo))
    environ = actions_environ(github_api, 77)

    def execute(**extra: str) -> tuple[DeployOutcome, str]:
        return run(settings, repo, execute=True, plan=plan, environ={**environ, **extra})

    # One reviewer approving both gates is one person.
    github_api.review_gate(77, "carol", "local")
    github_api.review_gate(77, "carol", "local-approval-2")
    message = refused(aws, lambda: execute(GITHUB_ORG_TOKEN=reader))
    assert "it has 1: carol (GitHub run 77 gate local)" in message
    assert f"missing 1 (from {MANAGERS})" in message
    # The deployer approving a gate (prevent-self-review stops only the run's own actor).
    github_api.review_gate(77, "dana", "local-approval-2")
    assert "dana is the deployer" in refused(aws, lambda: execute(GITHUB_ORG_TOKEN=reader))
    github_api.review_gate(77, "erin", "local-approval-2")
    # Without a token that can read the teams, nothing is counted and nothing changes.
    message = refused(aws, execute)
    assert "set GITHUB_ORG_TOKEN (classic token: read:org" in message
    assert "HTTP 403 Resource not accessible by integration" in message

    outcome, _ = execute(GITHUB_ORG_TOKEN=reader)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert [a["who"] for a in outcome.record.approvals] == ["carol", "erin"]
    (deployment,) = github_api.deployments
    assert deployment["payload"]["approved_by"] == ["carol", "erin"]
    assert deployment["description"].endswith("approved by carol, erin")


def test_a_runs_gates_count_only_for_the_plan_its_title_names(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = two_person(aws)
    planned, _ = run(settings, repo)
    github_api.add_run(78, "Deploy local", "dana", head(repo))
    github_api.review_gate(78, "carol", "local")
    github_api.review_gate(78, "erin", "local-approval-2")
    message = refused(
        aws,
        lambda: run(
            settings,
            repo,
            execute=True,
            plan=planned.deploy_id,
            environ=actions_environ(github_api, 78),
        ),
    )
    assert message.startswith("run 78 is titled 'Deploy local', which does not name plan")


def test_laptop_approvals_need_a_verified_login_where_teams_count(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = prod_shaped(aws)
    github_api.add_team(*MAINTAINERS.split("/"), "alice")
    github_api.add_team(*MANAGERS.split("/"), "bob")
    planned, _ = run(settings, repo)
    plan = planned.deploy_id
    api = {"GITHUB_API_URL": github_api.url, "GITHUB_REPOSITORY": github_api.repository}
    with pytest.raises(Refusal, match="needs your verified GitHub login"):
        approve_as(settings, repo, plan, "alice")
    eve = github_api.add_person("eve")
    with pytest.raises(Refusal, match=f"eve is not in {MAINTAINERS} or"):
        approve_as(settings, repo, plan, "eve", GITHUB_TOKEN=eve, **api)
    approve_as(settings, repo, plan, "alice", GITHUB_TOKEN=github_api.add_person("alice"), **api)
    approve_as(settings, repo, plan, "bob", GITHUB_TOKEN=github_api.add_person("bob"), **api)
    # The deployer's login must be known too, to tell them from the approvers.
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan))
    assert "the deployer's is not known: set GITHUB_TOKEN" in message
    dana = {**github_api.environ(**dict(CONFIRM)), "GITHUB_TOKEN": github_api.add_person("dana")}
    outcome, _ = run(settings, repo, execute=True, plan=plan, environ=dana)
    assert [a["who"] for a in outcome.record.approvals] == ["alice", "bob"]  # type: ignore[union-attr]
    # Each approval is on GitHub too, as a status its approver created on the plan's commit.
    statuses = [(s["context"], s["creator"]["login"]) for s in github_api.statuses[head(repo)]]
    assert statuses == [(f"approval/local/{plan}", "alice"), (f"approval/local/{plan}", "bob")]


def test_a_login_only_an_approval_file_claims_does_not_count(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    """Where teams count, a login counts only as GitHub vouches for it: mallory, in no
    team, approves in her own name but writes bob's login into her file."""
    settings = prod_shaped(aws)
    github_api.add_team(*MAINTAINERS.split("/"), "alice")
    github_api.add_team(*MANAGERS.split("/"), "bob", "mallory")
    planned, _ = run(settings, repo)
    plan = planned.deploy_id
    api = {"GITHUB_API_URL": github_api.url, "GITHUB_REPOSITORY": github_api.repository}
    approve_as(settings, repo, plan, "alice", GITHUB_TOKEN=github_api.add_person("alice"), **api)
    approve_as(
        settings, repo, plan, "mallory", GITHUB_TOKEN=github_api.add_person("mallory"), **api
    )
    org, team = MANAGERS.split("/")
    github_api.members[(org, team)].discard("mallory")  # she left the team
    folder = repo / "build" / "deploys" / "local" / plan / "approvals"
    (mallory,) = [p for p in folder.glob("*.json") if "mallory" in p.read_text(encoding="utf-8")]
    mallory.write_text(mallory.read_text(encoding="utf-8").replace('"mallory"', '"bob"'))
    dana = {**github_api.environ(**dict(CONFIRM)), "GITHUB_TOKEN": github_api.add_person("dana")}
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan, environ=dana))
    assert "it has 1: alice (invoke approve)" in message
    assert "mallory is not in" in message  # GitHub says the status is hers, not bob's


def test_github_actions_is_believed_only_inside_its_own_run(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    """A laptop that sets GitHub's variables (or a stale run id) is not a workflow run: its
    AWS session is not the run's, and the run it names is not running this commit."""
    settings = two_person(aws)
    planned, _ = run(settings, repo)
    plan = planned.deploy_id
    github_api.add_run(79, f"Deploy local: execute plan {plan}", "dana", head(repo))
    laptop = {**actions_environ(github_api, 79), "LOCAL_AWS_USER": ""}
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan, environ=laptop))
    assert message.startswith("run 79 is not this deploy's own GitHub Actions run (the AWS ")
    assert "not the workflow's deploy-local-79" in message
    github_api.runs[79] |= {"status": "completed", "head_sha": "b" * 40}
    message = refused(
        aws,
        lambda: run(
            settings, repo, execute=True, plan=plan, environ=actions_environ(github_api, 79)
        ),
    )
    assert "GitHub says it is completed, not in_progress; it runs bbbbbbb, not " in message


def test_the_deployer_is_who_github_says_started_the_run(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = two_person(aws)
    planned, _ = run(settings, repo)
    plan = planned.deploy_id
    github_api.add_run(80, f"Deploy local: execute plan {plan}", "dana", head(repo))
    github_api.review_gate(80, "dana", "local")  # as if prevent-self-review were off
    github_api.review_gate(80, "erin", "local-approval-2")
    ghost = actions_environ(github_api, 80, GITHUB_TRIGGERING_ACTOR="ghost", GITHUB_ACTOR="ghost")
    message = refused(aws, lambda: run(settings, repo, execute=True, plan=plan, environ=ghost))
    assert "dana is the deployer" in message and "missing 1" in message


# --- rollbacks ------------------------------------------------------------------------------


def test_a_rollback_runs_an_approved_plan_with_its_own_count(aws: str, repo: Path) -> None:
    settings = two_person(aws)
    deployed_then_planned(aws, repo, settings)
    output = io.StringIO()

    def roll(execute: bool, plan: str | None = None) -> DeployOutcome:
        return rollback(
            settings,
            RollbackRequest(environment="local", execute=execute, plan=plan),
            root=repo,
            environ=dict(CONFIRM),
            out=Console(file=output, width=300),
        )

    # Only one deploy so far: deploy the new model first, so there is something to go back to.
    planned = max((repo / "build" / "deploys" / "local").iterdir()).name
    approve_as(settings, repo, planned, "alice")
    approve_as(settings, repo, planned, "bob")
    run(settings, repo, execute=True, plan=planned, package=retrained)
    message = refused(aws, lambda: roll(execute=True))
    assert message.startswith("local rolls back only an approved plan: run the rollback without")
    dry = roll(execute=False)
    assert f"invoke rollback --env local --execute --plan {dry.deploy_id}" in output.getvalue()
    assert "local needs 1 approval from people but the deployer" in output.getvalue()
    assert "missing 1" in refused(aws, lambda: roll(execute=True, plan=dry.deploy_id))
    approve_as(settings, repo, dry.deploy_id, "carol")
    outcome = roll(execute=True, plan=dry.deploy_id)
    assert outcome.result is Result.SUCCEEDED and outcome.record is not None
    assert outcome.record.kind == "rollback"
    assert [a["who"] for a in outcome.record.approvals] == ["carol"]
