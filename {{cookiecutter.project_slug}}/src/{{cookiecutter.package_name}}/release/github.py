"""GitHub for the release pipeline: CI status, deployments, releases and governance calls.

A thin adapter over PyGithub for one repository (github.com or GitHub Enterprise Server).
The token comes from GITHUB_TOKEN only and stays inside PyGithub's auth object: it is never
printed or put in a message. Every failure (an HTTP error, a timeout, no connection) becomes
a one-line GitHubError naming the request, what went wrong and what to do.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import requests
from github import Auth, Github, GithubException
from github.BranchProtection import BranchProtection
from github.Environment import Environment
from github.EnvironmentDeploymentBranchPolicy import EnvironmentDeploymentBranchPolicyParams
from github.EnvironmentProtectionRuleReviewer import ReviewerParams
from urllib3.util.retry import Retry

from .. import config
from ..config import Settings
from ..errors import ConfigError, GitHubError, Refusal

T = TypeVar("T")

DeploymentState = Literal["in_progress", "success", "failure"]
ReviewerKind = Literal["User", "Team"]

# GitHub asks integrations to space out mutating requests (secondary rate limits); reads are
# not paced. The loopback stand-in in the tests has no such limits and sets this to None.
SECONDS_BETWEEN_WRITES: float | None = 1.0

# Check-run conclusions that branch protection counts as passing.
_PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
_FAILING_STATES = frozenset({"failure", "error"})
# How a 422's "errors" item without a message reads, e.g. "Release tag_name already_exists".
_ERROR_KEYS = ("resource", "field", "code")
# GitHub rejects longer deployment status descriptions.
_STATUS_DESCRIPTION_LIMIT = 140
# With no required check names configured, every reported check must pass, and one must exist.
ANY_CHECK = "any check"
# The commit statuses `invoke approve` posts (approvals, not checks: CI status ignores them).
APPROVAL_STATUS = "approval/"


def approval_context(environment: str, plan: str) -> str:
    """The status context of an approval of a plan: approval/<env>/<deploy-id>."""
    return f"{APPROVAL_STATUS}{environment}/{plan}"


def _retry() -> Retry:
    """Two quick retries of idempotent requests on a 5xx or a refused connection.

    A read timeout is not retried (the message says how long it waited), and neither is a
    POST: a retried POST could create a second deployment or release.
    """
    return Retry(
        total=2,
        read=False,
        backoff_factor=0.2,
        status_forcelist=(500, 502, 503, 504),
        raise_on_status=False,  # hand the last 5xx to PyGithub, which names its status
        respect_retry_after_header=False,  # quick retries only; never sleep for minutes
    )


@dataclass(frozen=True)
class CiStatus:
    """The required checks of one commit, sorted by outcome."""

    commit: str
    passing: tuple[str, ...]
    failing: tuple[str, ...]
    pending: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def green(self) -> bool:
        return not (self.failing or self.pending or self.missing)

    def describe(self) -> str:
        short = self.commit[:7]
        if self.green:
            return f"CI is green for {short} ({', '.join(self.passing)})"
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("failing", self.failing),
                ("pending", self.pending),
                ("missing", self.missing),
            )
            if names
        ]
        return f"CI is not green for {short}: {'; '.join(parts)}"


def evaluate_ci(
    commit: str,
    required: Sequence[str],
    statuses: Iterable[tuple[str, str]],
    check_runs: Iterable[tuple[str, str, str | None]],
) -> CiStatus:
    """Judge the required checks from status contexts (context, state) and check runs
    (name, status, conclusion), as branch protection does: a name passes when any status or
    check run of that name passed; else it is pending while one still runs; else failing.
    With no required names, every reported check counts and at least one must exist.
    """
    verdicts: dict[str, set[str]] = {}
    for context, state in statuses:
        verdict = "pass" if state == "success" else "fail" if state in _FAILING_STATES else "wait"
        verdicts.setdefault(context, set()).add(verdict)
    for name, status, conclusion in check_runs:
        if status != "completed":
            verdict = "wait"
        else:
            verdict = "pass" if conclusion in _PASSING_CONCLUSIONS else "fail"
        verdicts.setdefault(name, set()).add(verdict)
    names = list(required) or sorted(verdicts)
    passing, failing, pending, missing = [], [], [], []
    for name in names:
        seen = verdicts.get(name)
        if not seen:
            missing.append(name)
        elif "pass" in seen:
            passing.append(name)
        elif "wait" in seen:
            pending.append(name)
        else:
            failing.append(name)
    if not names:
        missing.append(ANY_CHECK)
    return CiStatus(commit, tuple(passing), tuple(failing), tuple(pending), tuple(missing))


@dataclass(frozen=True)
class WorkflowRunInfo:
    """What the release code reads of a GitHub Actions run."""

    run_id: str
    title: str  # display_title: the workflow's run-name, as people saw it when approving
    head_sha: str
    started_by: str  # the triggering actor's login
    status: str  # "in_progress" while its jobs run


@dataclass(frozen=True)
class StatusInfo:
    """One commit status, with the login GitHub says created it."""

    context: str
    state: str
    description: str
    creator: str


@dataclass(frozen=True)
class GateReview:
    """One review of a run's environment gates (approved or rejected), by one person."""

    login: str
    state: str  # "approved" or "rejected"
    environments: tuple[str, ...]


@dataclass(frozen=True)
class DeploymentPolicy:
    """One deployment branch/tag policy of a GitHub environment."""

    id: int
    name: str
    type: str  # "branch" or "tag"


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class GitHub:
    """One repository on GitHub, through PyGithub; every method raises only GitHubError."""

    def __init__(self, token: str, *, repository: str, api_url: str, timeout_seconds: int) -> None:
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._client = Github(
            auth=Auth.Token(token),
            base_url=self.api_url,
            timeout=timeout_seconds,
            retry=_retry(),
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=SECONDS_BETWEEN_WRITES,
            lazy=True,  # objects are fetched when read, so each method makes only its calls
        )
        self._repo = self._client.get_repo(repository)
        self._path = f"/repos/{repository}"

    def __repr__(self) -> str:
        return f"GitHub({self.repository!r} at {self.api_url})"

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    # --- CI, deployments, releases -------------------------------------------------------

    def ci_status(self, commit: str, required: Sequence[str]) -> CiStatus:
        """The required checks of a commit, from its combined status and its check runs."""
        path = f"{self._path}/commits/{commit}"
        target = self._repo.get_commit(commit)
        combined = self._call("GET", f"{path}/status", target.get_combined_status)
        runs = self._call("GET", f"{path}/check-runs", lambda: list(target.get_check_runs()))
        return evaluate_ci(
            commit,
            required,
            [
                (status.context, status.state)
                for status in combined.statuses
                if not status.context.startswith(APPROVAL_STATUS)
            ],
            [(run.name, run.status, run.conclusion) for run in runs],
        )

    def start_deployment(
        self,
        environment: str,
        commit: str,
        description: str,
        payload: Mapping[str, Any],
        *,
        production_environment: bool = False,
    ) -> int:
        """Record a deployment of `commit` to `environment` on GitHub; returns its id.

        required_contexts is empty because the deploy's own preflight already checked CI.
        """
        deployment = self._call(
            "POST",
            f"{self._path}/deployments",
            lambda: self._repo.create_deployment(
                ref=commit,
                auto_merge=False,
                required_contexts=[],
                payload=dict(payload),
                environment=environment,
                description=_one_line(description, _STATUS_DESCRIPTION_LIMIT),
                transient_environment=False,
                production_environment=production_environment,
            ),
        )
        return deployment.id

    def post_deployment_status(
        self, deployment_id: int, state: DeploymentState, description: str, log_url: str = ""
    ) -> None:
        """Move a deployment to in_progress, success or failure (GitHub shows it per env)."""
        path = f"{self._path}/deployments/{deployment_id}/statuses"
        body: dict[str, Any] = {
            "state": state,
            "description": _one_line(description, _STATUS_DESCRIPTION_LIMIT),
        }
        if log_url:
            # PyGithub's create_status knows only target_url, which log_url replaced.
            body["log_url"] = log_url
        self._call("POST", path, lambda: self._request("POST", path, body))

    def create_release(self, tag: str, name: str, body: str) -> str:
        """Publish a GitHub release for an existing tag; returns its page's URL."""
        release = self._call(
            "POST",
            f"{self._path}/releases",
            lambda: self._repo.create_git_release(tag, name=name, message=body),
        )
        return release.html_url

    # --- who approves ---------------------------------------------------------------------

    def login(self) -> str | None:
        """The login of the token's owner (GET /user): a person's own verified identity.
        None for a token that is no person's (GitHub Actions' GITHUB_TOKEN is an app's)."""
        path = "/user"
        try:
            data = self._request("GET", path)
        except GithubException as error:
            if error.status in (401, 403, 404):
                return None
            raise self._failure("GET", path, error) from None
        except requests.RequestException as error:
            raise self._failure("GET", path, error) from None
        return str(data["login"]) if isinstance(data, dict) and data.get("login") else None

    def workflow_run(self, run_id: str) -> WorkflowRunInfo:
        """A workflow run's title (its run-name) and who started it."""
        path = f"{self._path}/actions/runs/{run_id}"
        data = self._call("GET", path, lambda: self._request("GET", path))
        triggering = data.get("triggering_actor") or data.get("actor") or {}
        return WorkflowRunInfo(
            run_id=str(data["id"]),
            title=str(data.get("display_title") or ""),
            head_sha=str(data.get("head_sha") or ""),
            started_by=str(triggering.get("login") or ""),
            status=str(data.get("status") or ""),
        )

    def post_status(self, commit: str, context: str, description: str) -> None:
        """A success status on a commit (POST .../statuses/{sha}); GitHub records its creator:
        the token's owner, which nobody can write for someone else."""
        path = f"{self._path}/statuses/{commit}"
        body = {
            "state": "success",
            "context": context,
            "description": _one_line(description, _STATUS_DESCRIPTION_LIMIT),
        }
        self._call("POST", path, lambda: self._request("POST", path, body))

    def statuses(self, commit: str) -> list[StatusInfo]:
        """Every status of a commit, newest first (GET .../commits/{sha}/statuses), each with
        the login that created it."""
        path = f"{self._path}/commits/{commit}/statuses"
        found: list[StatusInfo] = []
        for page in range(1, 11):  # 1,000 statuses; GitHub keeps at most 1,000 per context
            query = {"per_page": 100, "page": page}
            data = self._call("GET", path, functools.partial(self._request, "GET", path, query))
            items = [item for item in data or [] if isinstance(item, dict)]
            found += [
                StatusInfo(
                    context=str(item.get("context") or ""),
                    state=str(item.get("state") or ""),
                    description=str(item.get("description") or ""),
                    creator=str((item.get("creator") or {}).get("login") or ""),
                )
                for item in items
            ]
            if len(items) < 100:
                break
        return found

    def run_approvals(self, run_id: str) -> list[GateReview]:
        """The reviews of a workflow run's environment gates (GET .../approvals)."""
        path = f"{self._path}/actions/runs/{run_id}/approvals"
        data = self._call("GET", path, lambda: self._request("GET", path))
        return [
            GateReview(
                login=str((item.get("user") or {}).get("login") or ""),
                state=str(item.get("state") or ""),
                environments=tuple(str(env.get("name")) for env in item.get("environments", [])),
            )
            for item in data or []
            if isinstance(item, dict)
        ]

    def team_members(self, team: str, logins: Iterable[str]) -> frozenset[str]:
        """Which of logins are active members of team ("org/team-slug"), lower case.

        The team is read first, so a token that cannot see it is a GitHubError (HTTP 403 or
        404 on the team) rather than every login reading as "not a member"."""
        org, _, slug = team.partition("/")
        base = f"/orgs/{urllib.parse.quote(org, safe='')}/teams/{urllib.parse.quote(slug, safe='')}"
        self._call("GET", base, lambda: self._request("GET", base))
        members = set()
        for login in sorted({login.lower() for login in logins if login}):
            path = f"{base}/memberships/{urllib.parse.quote(login, safe='')}"
            found = self._lookup(path, functools.partial(self._request, "GET", path))
            if isinstance(found, dict) and found.get("state") == "active":
                members.add(login)
        return frozenset(members)

    # --- governance ----------------------------------------------------------------------

    def branch_protection(self, branch: str) -> BranchProtection | None:
        """The branch's protection; None when it has none. A missing branch is an error."""
        path = f"{self._path}/branches/{urllib.parse.quote(branch, safe='')}"
        found = self._lookup(path, lambda: self._repo.get_branch(branch))
        if found is None:
            raise GitHubError(
                f"{self.repository} has no branch {branch!r} on GitHub; push it first, or fix "
                "release.branch in config/environments.toml"
            )
        return self._lookup(f"{path}/protection", found.get_protection)

    def protect_branch(
        self,
        branch: str,
        *,
        checks: Sequence[str],
        required_approving_reviews: int,
        dismiss_stale_reviews: bool,
        require_code_owner_reviews: bool,
        enforce_admins: bool,
    ) -> None:
        """Replace the branch's protection: checks on an up-to-date branch, reviews, no force
        pushes, no deletion."""
        path = f"{self._path}/branches/{urllib.parse.quote(branch, safe='')}"
        target = self._call("GET", path, lambda: self._repo.get_branch(branch))
        self._call(
            "PUT",
            f"{path}/protection",
            lambda: target.edit_protection(
                strict=True,
                contexts=list(checks),
                enforce_admins=enforce_admins,
                dismiss_stale_reviews=dismiss_stale_reviews,
                require_code_owner_reviews=require_code_owner_reviews,
                required_approving_review_count=required_approving_reviews,
                allow_force_pushes=False,
                allow_deletions=False,
            ),
        )

    def environment(self, name: str) -> Environment | None:
        """A GitHub environment of the repository; None when it does not exist."""
        path = self._environment_path(name)
        return self._lookup(path, self._repo.get_environment(name).complete)

    def put_environment(
        self,
        name: str,
        *,
        wait_timer_minutes: int,
        prevent_self_review: bool,
        reviewers: Sequence[tuple[ReviewerKind, int]],
    ) -> None:
        """Create or update an environment; its deployments are limited to custom policies."""
        self._call(
            "PUT",
            self._environment_path(name),
            lambda: self._repo.create_environment(
                name,
                wait_timer=wait_timer_minutes,
                reviewers=[ReviewerParams(kind, id_) for kind, id_ in reviewers],
                prevent_self_review=prevent_self_review,
                deployment_branch_policy=EnvironmentDeploymentBranchPolicyParams(
                    protected_branches=False, custom_branch_policies=True
                ),
            ),
        )

    def deployment_policies(self, environment: str) -> list[DeploymentPolicy]:
        """The environment's deployment branch and tag policies (custom policies only)."""
        path = f"{self._environment_path(environment)}/deployment-branch-policies"
        data = self._call("GET", path, lambda: self._request("GET", path, {"per_page": 100}))
        return [
            DeploymentPolicy(int(item["id"]), str(item["name"]), str(item.get("type", "branch")))
            for item in data.get("branch_policies", [])
        ]

    def add_deployment_policy(self, environment: str, name: str, kind: str) -> None:
        path = f"{self._environment_path(environment)}/deployment-branch-policies"
        body = {"name": name, "type": kind}
        self._call("POST", path, lambda: self._request("POST", path, body))

    def delete_deployment_policy(self, environment: str, policy_id: int) -> None:
        path = f"{self._environment_path(environment)}/deployment-branch-policies/{policy_id}"
        self._call("DELETE", path, lambda: self._request("DELETE", path))

    def user_id(self, login: str) -> int | None:
        """A user's id (environment reviewers are set by id); None for an unknown login."""
        path = f"/users/{urllib.parse.quote(login, safe='')}"
        user = self._lookup(path, lambda: self._client.get_user(login))
        return None if user is None else user.id

    def team_id(self, org: str, slug: str) -> int | None:
        """An organisation team's id; None when the organisation has no such team."""
        path = f"/orgs/{org}/teams/{urllib.parse.quote(slug, safe='')}"
        team = self._lookup(
            path, lambda: self._client.get_organization(org).get_team_by_slug(slug).complete()
        )
        return None if team is None else team.id

    def variable(self, name: str, environment: str | None = None) -> str | None:
        """A GitHub Actions variable's value, the repository's or an environment's; None when
        it is not set (https://docs.github.com/en/rest/actions/variables)."""
        path = f"{self._variables_path(environment)}/{urllib.parse.quote(name, safe='')}"
        found = self._lookup(path, lambda: self._request("GET", path))
        return None if found is None else str(found["value"])

    def set_variable(
        self, name: str, value: str, environment: str | None = None, *, exists: bool
    ) -> None:
        """Create the variable (POST), or update the one that exists (PATCH)."""
        base = self._variables_path(environment)
        body = {"name": name, "value": value}
        if exists:
            path = f"{base}/{urllib.parse.quote(name, safe='')}"
            self._call("PATCH", path, lambda: self._request("PATCH", path, body))
        else:
            self._call("POST", base, lambda: self._request("POST", base, body))

    # --- plumbing ------------------------------------------------------------------------

    def _environment_path(self, name: str) -> str:
        return f"{self._path}/environments/{urllib.parse.quote(name, safe='')}"

    def _variables_path(self, environment: str | None) -> str:
        if environment is None:
            return f"{self._path}/actions/variables"
        return f"{self._environment_path(environment)}/variables"

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """An endpoint PyGithub has no method for, through its requester (same auth, retries)."""
        if method == "GET":
            _, data = self._client.requester.requestJsonAndCheck(method, path, parameters=body)
        else:
            _, data = self._client.requester.requestJsonAndCheck(method, path, input=body)
        return data

    def _call(self, method: str, path: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except (GithubException, requests.RequestException) as error:
            raise self._failure(method, path, error) from None

    def _lookup(self, path: str, action: Callable[[], T]) -> T | None:
        """A GET where 404 means 'there is none'."""
        try:
            return action()
        except GithubException as error:
            if error.status == 404:
                return None
            raise self._failure("GET", path, error) from None
        except requests.RequestException as error:
            raise self._failure("GET", path, error) from None

    def _failure(self, method: str, path: str, error: Exception) -> GitHubError:
        where = f"GitHub {method} {path}"
        if isinstance(error, GithubException):
            return GitHubError(f"{where}: {self._http_problem(error)}")
        if isinstance(error, requests.Timeout):
            return GitHubError(
                f"{where}: timed out after {self.timeout_seconds} s; try again, or raise "
                "github.timeout_seconds in config/environments.toml"
            )
        return GitHubError(
            f"{where}: could not connect to {self.api_url}; check the network and "
            "github.api_url (or GITHUB_API_URL)"
        )

    def _http_problem(self, error: GithubException) -> str:
        status = error.status
        data = error.data if isinstance(error.data, dict) else {}
        message = data.get("message")
        shown = f"HTTP {status}"
        if isinstance(message, str) and message.strip():
            shown += f" {_one_line(message)}"
        details = [
            str(
                item.get("message")
                or " ".join(str(item[key]) for key in _ERROR_KEYS if key in item)
            )
            for item in data.get("errors", [])
            if isinstance(item, dict)
        ]
        if details:
            shown += f" ({_one_line('; '.join(details))})"
        if status == 401:
            advice = "GITHUB_TOKEN is invalid or expired; set a valid token"
        elif status == 403:
            advice = (
                "the token lacks a permission this needs, or hit a rate limit; check the "
                "token's access to the repository, or try again later"
            )
        elif status == 404:
            advice = (
                f"check github.repository ({self.repository}, or GITHUB_REPOSITORY) and that "
                "the token can see it"
            )
        elif status in (409, 422):
            advice = "GitHub refused the request as sent; fix what it names and try again"
        elif status >= 500:
            advice = "GitHub failed; try again later (https://www.githubstatus.com)"
        else:
            advice = "see GitHub's message"
        return f"{shown}; {advice}"


# A token that can read the organisation's teams (classic: read:org; fine-grained: the
# organisation's Members permission, read). GitHub Actions' own GITHUB_TOKEN cannot, so the
# Deploy workflow passes one from a secret when approvals are counted by team.
ORG_TOKEN = "GITHUB_ORG_TOKEN"


def connect(
    settings: Settings, environ: Mapping[str, str], token_variable: str = "GITHUB_TOKEN"
) -> GitHub | None:
    """The repository's GitHub when the token variable (GITHUB_TOKEN) is set, else None
    (GitHub steps skip).

    GITHUB_REPOSITORY and GITHUB_API_URL (set by GitHub Actions) win over the config.
    """
    token = environ.get(token_variable, "").strip()
    if not token:
        return None
    repository = environ.get("GITHUB_REPOSITORY") or settings.github.repository
    api_url = environ.get("GITHUB_API_URL") or settings.github.api_url
    parsed = urllib.parse.urlsplit(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(
            f"GITHUB_API_URL {api_url!r} is not an http(s) URL "
            "(e.g. https://api.github.com or https://HOST/api/v3)"
        )
    return GitHub(
        token,
        repository=repository,
        api_url=api_url,
        timeout_seconds=settings.github.timeout_seconds,
    )


def check_ci(
    environment: str,
    required: bool,
    github: GitHub | None,
    commit: str,
    checks: Sequence[str],
) -> CiStatus | None:
    """Refuse unless the commit's required checks passed, when policy requires green CI.

    Not required: skipped, nothing is asked of GitHub (returns None). Required with no token:
    refused, since the checks cannot be read.
    """
    if not required:
        return None
    if github is None:
        raise Refusal(
            f"CI must be green for {environment} but GITHUB_TOKEN is not set; set it to a "
            "token that can read the repository's checks and statuses (CI passes "
            "secrets.GITHUB_TOKEN)"
        )
    status = github.ci_status(commit, checks)
    if not status.green:
        raise Refusal(
            f"{status.describe()}; {environment} requires green CI: wait for the checks to "
            "finish, or fix them and push"
        )
    return status


def check_commit_ci(
    settings: Settings, environment: config.Environment, github: GitHub | None, commit: str
) -> CiStatus | None:
    """check_ci with the environment's policy and the project's required checks."""
    return check_ci(
        environment.name,
        environment.policy.ci_green_required,
        github,
        commit,
        settings.github.required_checks,
    )
