"""GitHub in the release flow, against the loopback stand-in and a moto server: CI status as a
deploy and tag guardrail, GitHub deployments with statuses for deploys and rollbacks, and
the GitHub release of a tag. GitHub failures are one clear line and change nothing."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.errors import DeployError, GitHubError, Refusal
from {{ cookiecutter.package_name }}.release.deploy import DeployRequest, deploy
from {{ cookiecutter.package_name }}.release.ledger import ledger_of
from {{ cookiecutter.package_name }}.release.rollback import RollbackRequest, rollback
from {{ cookiecutter.package_name }}.release.tag import TagPlan, TagRequest, tag

from .conftest import CONFIG_PATH, local_document
from .github_standin import GitHubStandIn
from .test_release_deploy import CONFIRM, broken_settings, commit, refused, retrained, run
from .test_release_tag import tags_of

CHECKS = ("lint", "tests", "synth")


def ci_settings(url: str) -> Settings:
    """local as a fleet environment would be: CI must be green; releases certified there."""
    document = local_document(url)
    document["environments"]["local"]["policy"]["ci_green_required"] = True
    document["release"]["environment"] = "local"
    return parse(document, CONFIG_PATH)


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def green(github_api: GitHubStandIn, sha: str) -> None:
    github_api.add_status(sha, "lint", "success")  # a status context counts like a check run
    for name in CHECKS[1:]:
        github_api.add_check_run(sha, name)


def github_deploy(
    settings: Settings, repo: Path, github_api: GitHubStandIn, *, execute: bool = True
) -> str:
    output = io.StringIO()
    deploy(
        settings,
        DeployRequest(environment="local", execute=execute),
        root=repo,
        environ=github_api.environ(**CONFIRM),
        out=Console(file=output, width=200),
        package=retrained if (repo / "model-change.txt").exists() else None,
    )
    return output.getvalue()


def deployed_green(aws: str, repo: Path, github_api: GitHubStandIn) -> Settings:
    """HEAD with green CI, deployed to local (which certifies releases) with a token."""
    settings = ci_settings(aws)
    green(github_api, head(repo))
    github_deploy(settings, repo, github_api)
    return settings


def github_tag(settings: Settings, repo: Path, github_api: GitHubStandIn) -> tuple[TagPlan, str]:
    output = io.StringIO()
    plan = tag(
        settings,
        TagRequest(execute=True),
        root=repo,
        environ=github_api.environ(),
        out=Console(file=output, width=200),
    )
    return plan, output.getvalue()


def states(github_api: GitHubStandIn) -> list[list[str]]:
    return [
        [status["state"] for status in github_api.deployment_statuses[d["id"]]]
        for d in github_api.deployments
    ]


# --- CI status as a deploy guardrail ---------------------------------------------------------


def test_required_ci_without_a_token_is_refused(aws: str, repo: Path) -> None:
    message = refused(aws, lambda: run(ci_settings(aws), repo, execute=True))
    assert message.startswith("CI must be green for local but GITHUB_TOKEN is not set")


@pytest.mark.parametrize(
    ("arrange", "named"),
    [
        (lambda api, sha: api.add_check_run(sha, "tests", conclusion="failure"), "tests"),
        (lambda api, sha: api.add_check_run(sha, "tests", status="in_progress"), "tests"),
        (lambda api, sha: None, "lint"),  # nothing reported yet: missing
    ],
    ids=["red", "pending", "missing"],
)
def test_red_pending_or_missing_ci_is_refused_naming_the_checks(
    aws: str, repo: Path, github_api: GitHubStandIn, arrange: object, named: str
) -> None:
    sha = head(repo)
    arrange(github_api, sha)  # type: ignore[operator]
    message = refused(aws, lambda: github_deploy(ci_settings(aws), repo, github_api))
    assert named in message and "local requires green CI" in message
    assert github_api.writes() == []  # no deployment was created


def test_green_deploy_posts_a_github_deployment_with_statuses(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = ci_settings(aws)
    green(github_api, head(repo))
    output = github_deploy(settings, repo, github_api)
    (record,) = ledger_of(settings, settings.environment("local")).records()
    (deployment,) = github_api.deployments
    assert (deployment["environment"], deployment["sha"]) == ("local", record.commit)
    assert deployment["payload"]["deploy_id"] == record.deploy_id
    assert deployment["payload"]["ledger"].endswith(f"/releases/local/{record.deploy_id}/")
    assert deployment["production_environment"] is True  # local certifies releases here
    assert deployment["required_contexts"] == [] and deployment["auto_merge"] is False
    assert states(github_api) == [["in_progress", "success"]]
    final = github_api.deployment_statuses[deployment["id"]][-1]
    assert final["description"] == f"deploy {record.deploy_id} succeeded"
    assert f"GitHub deployment {deployment['id']}: in_progress" in output
    assert github_api.token not in output


def test_a_ci_run_links_its_page_as_the_deployment_log(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    green(github_api, head(repo))
    deploy(
        ci_settings(aws),
        DeployRequest(environment="local", execute=True),
        root=repo,
        environ=github_api.environ(
            GITHUB_SERVER_URL="https://github.example", GITHUB_RUN_ID="42", **CONFIRM
        ),
        out=Console(file=io.StringIO(), width=200),
    )
    (deployment,) = github_api.deployments
    logs = {s["log_url"] for s in github_api.deployment_statuses[deployment["id"]]}
    assert logs == {f"https://github.example/{github_api.repository}/actions/runs/42"}


def test_a_failed_deploy_posts_failure(aws: str, repo: Path, github_api: GitHubStandIn) -> None:
    output = io.StringIO()
    with pytest.raises(DeployError, match="failed at"):
        deploy(
            broken_settings(aws),
            DeployRequest(environment="local", execute=True),
            root=repo,
            environ=github_api.environ(**CONFIRM),
            out=Console(file=output, width=200),
        )
    assert states(github_api) == [["in_progress", "failure"]]


def test_github_down_before_the_deploy_changes_nothing(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    green(github_api, head(repo))
    github_api.fail("POST", r"/deployments$", 502)
    message = refused(
        aws, lambda: github_deploy(ci_settings(aws), repo, github_api), error=GitHubError
    )
    assert message.startswith("GitHub POST /repos/acme/threat-detector/deployments: HTTP 502")
    assert github_api.token not in message


def test_github_refusing_the_in_progress_status_changes_nothing(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = ci_settings(aws)
    green(github_api, head(repo))
    github_api.fail("POST", r"/deployments/\d+/statuses$", 503, times=None)
    message = refused(aws, lambda: github_deploy(settings, repo, github_api), error=GitHubError)
    assert "HTTP 503" in message
    assert ledger_of(settings, settings.environment("local")).records() == []


def test_github_failing_the_final_status_keeps_the_record_and_warns(
    aws: str, repo: Path, github_api: GitHubStandIn
) -> None:
    settings = ci_settings(aws)
    green(github_api, head(repo))
    github_api.fail("POST", r"/deployments/\d+/statuses$", 503, times=None, skip=1)
    output = github_deploy(settings, repo, github_api)
    assert "warning: the deploy is recorded, but GitHub deployment" in output
    assert "still says in_progress: GitHub POST" in output
    assert states(github_api) == [["in_progress"]]
    (record,) = ledger_of(settings, settings.environment("local")).records()
    assert record.outcome.value == "succeeded"


def test_rollback_posts_a_deployment_of_kind_rollback(
    aws: str, local_settings: Settings, repo: Path, github_api: GitHubStandIn
) -> None:
    run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    run(local_settings, repo, execute=True, package=retrained)
    outcome = rollback(
        local_settings,
        RollbackRequest(environment="local", execute=True),
        root=repo,
        environ=github_api.environ(**CONFIRM),
        out=Console(file=io.StringIO(), width=200),
    )
    assert outcome.record is not None
    (deployment,) = github_api.deployments
    assert deployment["payload"]["kind"] == "rollback"
    assert deployment["sha"] == outcome.record.commit
    assert states(github_api) == [["in_progress", "success"]]


# --- tag ------------------------------------------------------------------------------------


def test_tag_refuses_red_ci_and_creates_nothing(
    aws: str, repo: Path, origin: Path, github_api: GitHubStandIn
) -> None:
    settings = deployed_green(aws, repo, github_api)
    github_api.add_check_run(head(repo), "synth", conclusion="failure")  # a re-run went red
    with pytest.raises(Refusal, match="synth") as raised:
        github_tag(settings, repo, github_api)
    assert "\n" not in str(raised.value)
    assert tags_of(repo) == [] and tags_of(origin) == [] and github_api.releases == []


def test_tag_creates_the_github_release_with_the_notes(
    aws: str, repo: Path, origin: Path, github_api: GitHubStandIn
) -> None:
    plan, output = github_tag(deployed_green(aws, repo, github_api), repo, github_api)
    (release,) = github_api.releases
    assert (release["tag_name"], release["name"]) == ("v0.1.0", "v0.1.0")
    assert release["body"] == plan.notes()
    assert f"GitHub release: {release['html_url']}" in output
    assert tags_of(origin) == ["v0.1.0"]


def test_tag_says_the_tag_is_pushed_when_the_release_fails(
    aws: str, repo: Path, origin: Path, github_api: GitHubStandIn
) -> None:
    settings = deployed_green(aws, repo, github_api)
    github_api.fail("POST", r"/releases$", 500)
    with pytest.raises(GitHubError) as raised:
        github_tag(settings, repo, github_api)
    message = str(raised.value)
    assert message.startswith("v0.1.0 is pushed, but creating its GitHub release failed: ")
    assert "create the release from the tag on GitHub" in message
    assert tags_of(origin) == ["v0.1.0"]
