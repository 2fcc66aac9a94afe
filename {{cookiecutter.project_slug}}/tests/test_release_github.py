"""The GitHub adapter against the loopback REST stand-in: CI checks, deployments, releases,
GitHub Enterprise URLs, and one-line errors that never show the token."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import ConfigError, GitHubError, Refusal
from {{ cookiecutter.package_name }}.release.github import GitHub, check_ci, connect, evaluate_ci

from .github_standin import TOKEN, GitHubStandIn

SHA = "5e" * 20
REQUIRED = ("lint", "tests", "synth")


def client(settings: Settings, api: GitHubStandIn, **environ: str) -> GitHub:
    github = connect(settings, api.environ(**environ))
    assert github is not None
    return github


def green(api: GitHubStandIn, sha: str = SHA) -> None:
    """lint reports a commit status; tests and synth are check runs (as GitHub Actions)."""
    api.add_status(sha, "lint", "success")
    api.add_check_run(sha, "tests")
    api.add_check_run(sha, "synth")


def one_line_error(raised: pytest.ExceptionInfo[GitHubError]) -> str:
    message = str(raised.value)
    assert "\n" not in message
    assert TOKEN not in message
    return message


# --- judging checks (pure) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "runs", "verdict"),
    [
        ([("lint", "success")], [], "passing"),
        ([], [("lint", "completed", "success")], "passing"),
        ([], [("lint", "completed", "neutral")], "passing"),
        ([], [("lint", "completed", "skipped")], "passing"),
        ([("lint", "failure")], [], "failing"),
        ([("lint", "error")], [], "failing"),
        ([], [("lint", "completed", "timed_out")], "failing"),
        ([], [("lint", "completed", "cancelled")], "failing"),
        ([("lint", "pending")], [], "pending"),
        ([], [("lint", "in_progress", None)], "pending"),
        ([], [("lint", "queued", None)], "pending"),
        ([("lint", "failure")], [("lint", "completed", "success")], "passing"),
        ([("lint", "failure")], [("lint", "in_progress", None)], "pending"),
        ([("lint-extra", "success")], [("lint-docs", "completed", "success")], "missing"),
    ],
)
def test_a_required_check_passes_when_a_status_or_run_of_its_name_passed(
    statuses: list[tuple[str, str]], runs: list[tuple[str, str, str | None]], verdict: str
) -> None:
    status = evaluate_ci(SHA, ["lint"], statuses, runs)
    assert getattr(status, verdict) == ("lint",)
    assert status.green is (verdict == "passing")


def test_without_required_names_every_reported_check_counts_and_one_must_exist() -> None:
    assert evaluate_ci(SHA, [], [("a", "success")], [("b", "completed", "success")]).green
    red = evaluate_ci(SHA, [], [("a", "success")], [("b", "completed", "failure")])
    assert red.failing == ("b",)
    assert not evaluate_ci(SHA, [], [], []).green


def test_describe_names_every_check_that_is_not_green() -> None:
    status = evaluate_ci(
        SHA,
        ["lint", "tests", "synth", "docs"],
        [("lint", "success")],
        [("tests", "completed", "failure"), ("synth", "in_progress", None)],
    )
    assert status.describe() == (
        "CI is not green for 5e5e5e5: failing: tests; pending: synth; missing: docs"
    )


# --- CI status from GitHub ---------------------------------------------------------------


def test_ci_is_green_from_status_contexts_and_check_runs(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    green(github_api)
    github_api.add_check_run(SHA, "coverage", conclusion="failure")  # not required
    status = client(settings, github_api).ci_status(SHA, REQUIRED)
    assert status.green, status.describe()
    assert status.describe() == "CI is green for 5e5e5e5 (lint, tests, synth)"
    assert [(call.method, call.path) for call in github_api.calls] == [
        ("GET", f"/repos/acme/threat-detector/commits/{SHA}/status"),
        ("GET", f"/repos/acme/threat-detector/commits/{SHA}/check-runs"),
    ]
    assert all(call.authorized for call in github_api.calls)


def test_a_rerun_that_passed_replaces_the_failed_run(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    green(github_api)
    github_api.check_runs[SHA].insert(0, {**github_api.check_runs[SHA][0], "conclusion": "failure"})
    assert client(settings, github_api).ci_status(SHA, REQUIRED).green


@pytest.mark.parametrize(
    ("arrange", "named"),
    [
        (lambda api: api.add_check_run(SHA, "tests", conclusion="failure"), "failing: tests"),
        (lambda api: api.add_status(SHA, "tests", "error"), "failing: tests"),
        (lambda api: api.add_check_run(SHA, "tests", "in_progress", None), "pending: tests"),
        (lambda api: api.add_status(SHA, "tests", "pending"), "pending: tests"),
        (lambda api: None, "missing: tests"),
    ],
    ids=["failed-run", "errored-status", "running", "pending-status", "missing"],
)
def test_check_ci_refuses_unless_every_required_check_passed(
    settings: Settings, github_api: GitHubStandIn, arrange: object, named: str
) -> None:
    github_api.add_status(SHA, "lint", "success")
    github_api.add_check_run(SHA, "synth")
    arrange(github_api)  # type: ignore[operator]
    with pytest.raises(Refusal) as raised:
        check_ci("prod", True, client(settings, github_api), SHA, REQUIRED)
    message = str(raised.value)
    assert message.startswith(f"CI is not green for 5e5e5e5: {named}; prod requires green CI")
    assert "lint" not in message and "synth" not in message


def test_check_ci_passes_a_green_commit(settings: Settings, github_api: GitHubStandIn) -> None:
    green(github_api)
    status = check_ci("prod", True, client(settings, github_api), SHA, REQUIRED)
    assert status is not None and status.green


def test_required_ci_without_a_token_is_refused(settings: Settings) -> None:
    github = connect(settings, {"GITHUB_TOKEN": ""})
    assert github is None
    with pytest.raises(Refusal) as raised:
        check_ci("prod", True, github, SHA, REQUIRED)
    assert str(raised.value).startswith(
        "CI must be green for prod but GITHUB_TOKEN is not set; set it"
    )


def test_ci_not_required_is_skipped_without_asking_github(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    github_api.add_check_run(SHA, "tests", conclusion="failure")
    assert check_ci("dev", False, None, SHA, REQUIRED) is None
    assert check_ci("dev", False, client(settings, github_api), SHA, REQUIRED) is None
    assert github_api.calls == []


# --- where GitHub is ----------------------------------------------------------------------


def test_connect_takes_the_token_only_from_github_token(settings: Settings) -> None:
    assert connect(settings, {}) is None
    assert connect(settings, {"GITHUB_TOKEN": "  "}) is None
    github = connect(settings, {"GITHUB_TOKEN": TOKEN})
    assert github is not None
    assert (github.repository, github.api_url) == (
        settings.github.repository,
        settings.github.api_url,
    )
    overridden = connect(
        settings,
        {
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "other/repo",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        },
    )
    assert overridden is not None
    assert (overridden.repository, overridden.api_url) == (
        "other/repo",
        "https://ghe.example.com/api/v3",
    )
    assert TOKEN not in repr(overridden) and TOKEN not in str(vars(overridden))


def test_connect_refuses_an_api_url_that_is_not_http(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"'ftp://ghe\.example\.com' is not an http"):
        connect(settings, {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": "ftp://ghe.example.com"})


def test_github_enterprise_api_under_a_path_prefix(settings: Settings) -> None:
    with GitHubStandIn(prefix="/api/v3") as ghe:
        green(ghe)
        assert ghe.url.endswith("/api/v3")
        assert client(settings, ghe).ci_status(SHA, REQUIRED).green
        url = client(settings, ghe).create_release("v1.0.0", "v1.0.0", "notes")
        assert url.endswith("/acme/threat-detector/releases/tag/v1.0.0")
        # Without the prefix the same server has no API: the prefix is what made it work.
        with pytest.raises(GitHubError, match="HTTP 404"):
            client(settings, ghe, GITHUB_API_URL=ghe.web).ci_status(SHA, REQUIRED)


# --- failures -----------------------------------------------------------------------------


def test_a_5xx_is_one_line_naming_the_request_and_status(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    github_api.fail("GET", "/status$", 503, times=None)
    with pytest.raises(GitHubError) as raised:
        client(settings, github_api).ci_status(SHA, REQUIRED)
    assert one_line_error(raised) == (
        f"GitHub GET /repos/acme/threat-detector/commits/{SHA}/status: HTTP 503 Service "
        "Unavailable; GitHub failed; try again later (https://www.githubstatus.com)"
    )
    assert len(github_api.calls) == 3, "a GET is retried twice"


def test_one_5xx_on_a_read_is_retried(settings: Settings, github_api: GitHubStandIn) -> None:
    green(github_api)
    github_api.fail("GET", "/check-runs$", 502, times=1)
    assert client(settings, github_api).ci_status(SHA, REQUIRED).green
    assert [call.path.rsplit("/", 1)[1] for call in github_api.calls] == [
        "status",
        "check-runs",
        "check-runs",
    ]


def test_a_post_is_never_retried(settings: Settings, github_api: GitHubStandIn) -> None:
    github_api.fail("POST", "/deployments$", 502, times=1)
    with pytest.raises(GitHubError) as raised:
        client(settings, github_api).start_deployment("prod", SHA, "deploy", {})
    assert one_line_error(raised).startswith(
        "GitHub POST /repos/acme/threat-detector/deployments: HTTP 502 Bad Gateway;"
    )
    assert len(github_api.calls) == 1
    assert github_api.deployments == []


def test_a_slow_github_times_out_with_a_clear_error(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    quick = replace(settings, github=replace(settings.github, timeout_seconds=1))
    github_api.delay("GET", "/check-runs$", 1.5)
    started = time.monotonic()
    with pytest.raises(GitHubError) as raised:
        client(quick, github_api).ci_status(SHA, REQUIRED)
    assert time.monotonic() - started < 1.4, "a read timeout is not retried"
    assert one_line_error(raised) == (
        f"GitHub GET /repos/acme/threat-detector/commits/{SHA}/check-runs: timed out after "
        "1 s; try again, or raise github.timeout_seconds in config/environments.toml"
    )


def test_no_server_is_could_not_connect(settings: Settings) -> None:
    with GitHubStandIn() as gone:
        environ = gone.environ()
    github = connect(settings, environ)
    assert github is not None
    with pytest.raises(GitHubError) as raised:
        github.ci_status(SHA, REQUIRED)
    assert one_line_error(raised).endswith(
        f"could not connect to {environ['GITHUB_API_URL']}; check the network and "
        "github.api_url (or GITHUB_API_URL)"
    )


def test_a_bad_token_says_so_without_showing_it(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    wrong = "ghp_wrongTOKEN4242424242424242424242"
    with pytest.raises(GitHubError) as raised:
        client(settings, github_api, GITHUB_TOKEN=wrong).create_release("v1.0.0", "v1", "x")
    message = one_line_error(raised)
    assert message == (
        "GitHub POST /repos/acme/threat-detector/releases: HTTP 401 Bad credentials; "
        "GITHUB_TOKEN is invalid or expired; set a valid token"
    )
    assert wrong not in message


def test_the_token_appears_in_no_message_or_output(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    github = client(settings, github_api)
    texts = [repr(github), str(github.__dict__)]
    github_api.fail("GET", "/status$", 404)
    github_api.fail("POST", "/releases$", 403)
    github_api.fail("POST", "/deployments$", 422)
    for action in (
        lambda: github.ci_status(SHA, REQUIRED),
        lambda: github.create_release("v1.0.0", "v1.0.0", "notes"),
        lambda: github.start_deployment("prod", SHA, "deploy", {}),
        lambda: check_ci("prod", True, github, SHA, REQUIRED),
    ):
        with pytest.raises((GitHubError, Refusal)) as raised:
            action()
        texts.append(str(raised.value))
    assert len(texts) == 6
    assert all(github_api.calls) and all(call.authorized for call in github_api.calls)
    for text in texts:
        assert TOKEN not in text, text


# --- deployments and releases -------------------------------------------------------------


def test_a_deployment_records_environment_ref_payload_and_statuses_in_order(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    github = client(settings, github_api)
    payload = {"deploy_id": "prod-20250101-120000-5e5e5e5", "model_sha256": "ab" * 32}
    deployment_id = github.start_deployment(
        "prod", SHA, "deploy 5e5e5e5 to prod", payload, production_environment=True
    )
    github.post_deployment_status(deployment_id, "in_progress", "planning", "https://ci/run/1")
    github.post_deployment_status(deployment_id, "success", "x" * 300, "https://ci/run/1")
    (deployment,) = github_api.deployments
    assert deployment["id"] == deployment_id
    assert (deployment["environment"], deployment["ref"], deployment["payload"]) == (
        "prod",
        SHA,
        payload,
    )
    assert deployment["auto_merge"] is False and deployment["required_contexts"] == []
    assert deployment["production_environment"] is True
    assert deployment["transient_environment"] is False
    statuses = github_api.deployment_statuses[deployment_id]
    assert [status["state"] for status in statuses] == ["in_progress", "success"]
    assert statuses[0]["log_url"] == "https://ci/run/1"
    assert len(statuses[1]["description"]) == 140, "GitHub refuses longer descriptions"


def test_a_status_for_an_unknown_deployment_is_a_clear_error(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    with pytest.raises(GitHubError) as raised:
        client(settings, github_api).post_deployment_status(4242, "failure", "boom")
    assert one_line_error(raised).startswith(
        "GitHub POST /repos/acme/threat-detector/deployments/4242/statuses: HTTP 404 Not Found;"
    )


def test_a_release_is_created_with_its_notes(settings: Settings, github_api: GitHubStandIn) -> None:
    notes = "## v1.2.0\n\n- feat: score faster (5e5e5e5)\n"
    url = client(settings, github_api).create_release("v1.2.0", "v1.2.0", notes)
    (release,) = github_api.releases
    assert (
        url == release["html_url"] == f"{github_api.web}/acme/threat-detector/releases/tag/v1.2.0"
    )
    assert (release["tag_name"], release["name"], release["body"]) == ("v1.2.0", "v1.2.0", notes)
    assert release["draft"] is False and release["prerelease"] is False


def test_a_second_release_of_a_tag_is_refused_by_github(
    settings: Settings, github_api: GitHubStandIn
) -> None:
    github = client(settings, github_api)
    github.create_release("v1.2.0", "v1.2.0", "notes")
    with pytest.raises(GitHubError) as raised:
        github.create_release("v1.2.0", "v1.2.0", "notes")
    assert "HTTP 422 Validation Failed (Release tag_name already_exists)" in one_line_error(raised)
