"""`invoke governance` against the loopback GitHub stand-in: branch protection and
environments from config, shown as differences, applied only with --execute, drift found."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit
from rich.console import Console

import tasks
from {{ cookiecutter.package_name }}.commands import governance
from {{ cookiecutter.package_name }}.config import Approvals, Settings, load
from {{ cookiecutter.package_name }}.errors import ConfigError, GitHubError, Refusal
from {{ cookiecutter.package_name }}.release import github
from {{ cookiecutter.package_name }}.release.governance import (
    ANY_REF,
    CUSTOM_REFS,
    Difference,
    Ref,
    State,
    desired,
    diff,
)

from .conftest import PROJECT_ROOT
from .github_standin import GitHubStandIn

# prod's plans need two approvals: its second gate is an environment of its own.
ENVIRONMENTS_WITH_APPROVALS = ("dev", "staging", "prod", "prod-approval-2")
# The reviewer teams the shipped config names (they follow the baked owner and slug).
_OWNER = load(PROJECT_ROOT).github.repository.split("/")[0]
MAINTAINERS = f"{_OWNER}/{load(PROJECT_ROOT).project.name}-maintainers"
RELEASE_MANAGERS = f"{_OWNER}/{load(PROJECT_ROOT).project.name}-release-managers"


def know_reviewers(api: GitHubStandIn, settings: Settings) -> GitHubStandIn:
    """Every user and team the config names as a reviewer exists on the stand-in."""
    approvals = [env.approvals for env in settings.environments.values() if env.approvals]
    for reviewer in {reviewer for each in approvals for reviewer in each.reviewers}:
        org, _, slug = reviewer.partition("/")
        if slug:
            api.add_team(org, slug)
        else:
            api.add_user(reviewer)
    return api


@pytest.fixture
def api(github_api: GitHubStandIn, settings: Settings) -> GitHubStandIn:
    return know_reviewers(github_api, settings)


def run(settings: Settings, api: GitHubStandIn, *, execute: bool = False) -> tuple[int, str]:
    output = io.StringIO()
    status = governance(
        PROJECT_ROOT,
        execute=execute,
        settings=settings,
        environ=api.environ(),
        out=Console(file=output, width=200),
    )
    return status, output.getvalue()


def rows(output: str) -> dict[str, tuple[str, str]]:
    """The difference table: setting -> (on GitHub, in config)."""
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines()]
    return {row[0]: (row[1], row[2]) for row in cells if len(row) == 3}


def with_reviewers(settings: Settings, name: str, reviewers: tuple[str, ...]) -> Settings:
    env = settings.environments[name]
    approvals = env.approvals or Approvals((), 0, False)
    changed = replace(env, approvals=replace(approvals, reviewers=reviewers))
    return replace(settings, environments={**settings.environments, name: changed})


# --- what the config asks for, and comparing (pure) ---------------------------------------


def test_desired_state_comes_from_config(settings: Settings) -> None:
    wanted = desired(settings)
    assert wanted.branch == "main"
    assert wanted.protection is not None
    assert wanted.protection.required_checks == ("lint", "synth", "tests")
    assert wanted.protection.require_up_to_date and wanted.protection.enforce_admins
    assert not (wanted.protection.allow_force_pushes or wanted.protection.allow_deletions)
    assert tuple(wanted.environments) == ENVIRONMENTS_WITH_APPROVALS, "local has no [approvals]"
    prod, dev = wanted.environments["prod"], wanted.environments["dev"]
    assert prod is not None and dev is not None
    assert prod.allowed_refs == (Ref("branch", "main"), Ref("tag", "v*"))
    assert prod.ref_policy == CUSTOM_REFS
    assert prod.wait_timer_minutes == 10 and prod.prevent_self_review
    assert prod.reviewers == (MAINTAINERS, RELEASE_MANAGERS)
    assert dev.allowed_refs == (Ref("branch", "*"), Ref("tag", "v*"))
    assert dev.reviewers == (MAINTAINERS,) and dev.prevent_self_review
    # The second gate: the same reviewers and refs, no self-review, and no second wait.
    assert wanted.environments["prod-approval-2"] == replace(prod, wait_timer_minutes=0)


def test_diff_names_only_what_differs(settings: Settings) -> None:
    wanted = desired(settings)
    assert diff(wanted, wanted) == []
    prod = wanted.environments["prod"]
    assert wanted.protection is not None and prod is not None
    drifted = State(
        wanted.branch,
        replace(wanted.protection, allow_force_pushes=True),
        {**wanted.environments, "prod": replace(prod, ref_policy=ANY_REF, allowed_refs=())},
        wanted.variables,
    )
    assert diff(drifted, wanted) == [
        Difference("branch main: allow force pushes", "true", "false"),
        Difference("environment prod: ref policy", ANY_REF, CUSTOM_REFS),
        Difference("environment prod: allowed refs", "(none)", "branch main, tag v*"),
    ]


# --- against GitHub -------------------------------------------------------------------------


def test_an_empty_repository_differs_in_everything_and_a_dry_run_changes_nothing(
    settings: Settings, api: GitHubStandIn
) -> None:
    status, output = run(settings, api)
    assert status == 1
    assert output.startswith(
        "GitHub differs from config: acme/threat-detector (branch main; environments dev, "
        "staging, prod, prod-approval-2)"
    )
    table = rows(output)
    assert len(table) == 8 + 4 * 5 + 6, "8 branch rules, 5 per environment, 2 role variables each"
    assert table["branch main: required checks"] == ("not protected", "lint, synth, tests")
    assert table["branch main: require up to date"] == ("not protected", "true")
    assert table["branch main: allow force pushes"] == ("not protected", "false")
    assert table["environment prod: reviewers"] == (
        "no environment",
        f"{MAINTAINERS}, {RELEASE_MANAGERS}",
    )
    assert table["environment prod: wait timer minutes"] == ("no environment", "10")
    assert table["environment dev: allowed refs"] == ("no environment", "branch *, tag v*")
    assert not any("local" in setting for setting in table)
    account = settings.environment("prod").account
    assert table["environment prod: variable AWS_DEPLOY_ROLE_ARN"] == (
        "not set",
        f"arn:aws:iam::{account}:role/{settings.project.name}-prod-deploy",
    )
    assert table["repository: variable AWS_READ_ROLE_ARN_PROD"] == (
        "not set",
        f"arn:aws:iam::{account}:role/{settings.project.name}-prod-read",
    )
    assert "dry run: 34 setting(s) differ; --execute applies them" in output
    assert api.writes() == []


def test_execute_applies_the_config_and_a_second_look_finds_nothing(
    settings: Settings, api: GitHubStandIn
) -> None:
    status, output = run(settings, api, execute=True)
    assert status == 0, output
    assert "applied 34 setting(s); GitHub now matches config" in output
    # The roles `invoke bootstrap` makes, where the workflows read them.
    for env in ("dev", "staging", "prod"):
        account = settings.environment(env).account
        role = f"arn:aws:iam::{account}:role/{settings.project.name}-{env}"
        assert api.variables[(env, "AWS_DEPLOY_ROLE_ARN")] == f"{role}-deploy"
        assert api.variables[("", f"AWS_READ_ROLE_ARN_{env.upper()}")] == f"{role}-read"
    protection = api.protection["main"]
    assert protection["required_status_checks"]["strict"] is True
    assert sorted(protection["required_status_checks"]["contexts"]) == ["lint", "synth", "tests"]
    assert protection["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert protection["enforce_admins"]["enabled"] is True
    assert protection["allow_force_pushes"]["enabled"] is False
    assert protection["allow_deletions"]["enabled"] is False
    prod = api.environments["prod"]
    assert (prod["wait_timer"], prod["prevent_self_review"]) == (10, True)
    assert {reviewer["type"] for reviewer in prod["reviewers"]} == {"Team"}
    assert sorted(reviewer["id"] for reviewer in prod["reviewers"]) == sorted(api.teams.values())
    assert prod["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert {(p["type"], p["name"]) for p in api.branch_policies["prod"]} == {
        ("branch", "main"),
        ("tag", "v*"),
    }
    assert "local" not in api.environments
    writes = len(api.writes())
    assert run(settings, api) == (
        0,
        "GitHub matches config: acme/threat-detector (branch main; environments dev, "
        "staging, prod, prod-approval-2)\n",
    )
    assert len(api.writes()) == writes, "a dry run writes nothing"


def test_github_enterprise_under_a_path_prefix(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(github, "SECONDS_BETWEEN_WRITES", None)
    with GitHubStandIn(prefix="/api/v3") as ghe:
        know_reviewers(ghe, settings)
        assert run(settings, ghe, execute=True)[0] == 0
        assert run(settings, ghe)[0] == 0
        assert "main" in ghe.protection
        assert set(ghe.environments) == set(ENVIRONMENTS_WITH_APPROVALS)


def test_drift_is_shown_and_execute_repairs_it(settings: Settings, api: GitHubStandIn) -> None:
    assert run(settings, api, execute=True)[0] == 0
    # Someone allows force pushes, drops a prod reviewer and lets prod deploy from any branch.
    api.protection["main"]["allow_force_pushes"]["enabled"] = True
    api.environments["prod"]["reviewers"].pop()
    api.branch_policies["prod"].append({"id": 9, "node_id": "X", "name": "*", "type": "branch"})
    status, output = run(settings, api)
    assert status == 1
    assert rows(output) == {
        "branch main: allow force pushes": ("true", "false"),
        "environment prod: reviewers": (MAINTAINERS, f"{MAINTAINERS}, {RELEASE_MANAGERS}"),
        "environment prod: allowed refs": ("branch *, branch main, tag v*", "branch main, tag v*"),
    }
    assert "dry run: 3 setting(s) differ" in output
    assert run(settings, api, execute=True)[0] == 0
    assert (
        "DELETE",
        "/repos/acme/threat-detector/environments/prod/deployment-branch-policies/9",
    ) in [(call.method, call.path) for call in api.calls]
    assert run(settings, api)[0] == 0


@pytest.mark.parametrize(
    ("reviewer", "problem"),
    [
        ("acme/ghosts", "'acme/ghosts' is not a team of the acme organisation"),
        ("nobody-here", "'nobody-here' is not a GitHub user"),
    ],
)
def test_an_unknown_reviewer_is_refused_before_anything_changes(
    settings: Settings, api: GitHubStandIn, reviewer: str, problem: str
) -> None:
    prod = settings.environments["prod"].approvals
    assert prod is not None
    changed = with_reviewers(settings, "prod", (*prod.reviewers, reviewer))
    with pytest.raises(ConfigError) as raised:
        run(changed, api, execute=True)
    assert str(raised.value).startswith(f"environments.prod.approvals.reviewers: {problem}; ")
    assert str(raised.value).endswith("nothing was changed")
    assert api.writes() == []


def test_a_named_user_is_a_reviewer_by_id(settings: Settings, api: GitHubStandIn) -> None:
    user_id = api.add_user("Octo-Reviewer")
    changed = with_reviewers(settings, "staging", ("octo-reviewer",))
    assert run(changed, api, execute=True)[0] == 0
    assert api.environments["staging"]["reviewers"] == [{"type": "User", "id": user_id}]
    assert run(changed, api)[0] == 0, "logins compare without case"


def test_a_missing_release_branch_is_a_clear_error(settings: Settings, api: GitHubStandIn) -> None:
    api.branches.clear()
    with pytest.raises(GitHubError, match="has no branch 'main' on GitHub; push it first"):
        run(settings, api)


def test_a_refused_write_names_the_request(settings: Settings, api: GitHubStandIn) -> None:
    api.fail("PUT", "/protection$", 403)
    with pytest.raises(GitHubError) as raised:
        run(settings, api, execute=True)
    assert str(raised.value).startswith(
        "GitHub PUT /repos/acme/threat-detector/branches/main/protection: HTTP 403 Forbidden; "
        "the token lacks a permission"
    )


def test_governance_needs_a_token(settings: Settings) -> None:
    with pytest.raises(Refusal, match="GITHUB_TOKEN is not set"):
        governance(PROJECT_ROOT, execute=False, settings=settings, environ={})


def test_the_task_exits_1_while_github_differs(
    api: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in api.environ().items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(Exit) as raised:
        tasks.governance(MockContext())
    assert raised.value.code == 1
    tasks.governance(MockContext(), execute=True)
    tasks.governance(MockContext())  # matches now: exit 0
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(Exit) as refused:
        tasks.governance(MockContext())
    assert (refused.value.code, str(refused.value.message)) == (
        1,
        "error: governance reads and sets GitHub's branch protection, environments and role "
        "variables, but "
        "GITHUB_TOKEN is not set; set it to a token with admin rights on the repository",
    )


def test_a_role_variable_changed_by_hand_is_shown_and_repaired(
    settings: Settings, api: GitHubStandIn
) -> None:
    assert run(settings, api, execute=True)[0] == 0
    api.variables[("staging", "AWS_DEPLOY_ROLE_ARN")] = "arn:aws:iam::999999999999:role/other"
    status, output = run(settings, api)
    assert status == 1
    assert rows(output)["environment staging: variable AWS_DEPLOY_ROLE_ARN"][0] == (
        "arn:aws:iam::999999999999:role/other"
    )
    assert run(settings, api, execute=True)[0] == 0
    expected = f"{settings.project.name}-staging-deploy"
    assert api.variables[("staging", "AWS_DEPLOY_ROLE_ARN")].endswith(f":role/{expected}")
