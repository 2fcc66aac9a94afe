"""A GitHub REST stand-in on loopback serving exactly the endpoints the release code calls.

Responses have GitHub's JSON shapes (the fields PyGithub reads, and the ids and URLs it
follows); state lives in plain dicts a test may read or change (to simulate drift); every
request is logged with its JSON body and whether it carried an Authorization header;
failures and delays can be injected per method and path. `prefix="/api/v3"` serves the
API under a path, as GitHub Enterprise Server does.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "ghs_standinTOKEN0123456789abcdefghij"
NOW = "2025-01-01T12:00:00Z"
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Call:
    """One request as the stand-in saw it (path without the prefix and the query)."""

    method: str
    path: str
    body: Any
    authorized: bool


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    remaining: int | None  # None: every time
    status: int = 0
    seconds: float = 0.0
    skip: int = 0  # matching requests to let through first

    def take(self, method: str, path: str) -> bool:
        if method != self.method or not self.pattern.search(path):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        return True


class _Reply(Exception):
    """Raised by a route to answer with an error status."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS, **extra}


def _not_found() -> _Reply:
    return _Reply(404, "Not Found")


def _invalid(message: str, **extra: Any) -> _Reply:
    return _Reply(422, message, **extra)


@dataclass
class GitHubStandIn:
    """One repository, its owner organisation, some users and teams, all in memory."""

    repository: str = "acme/threat-detector"
    prefix: str = ""
    token: str = TOKEN
    branches: set[str] = field(default_factory=lambda: {"main"})
    # sha -> commit statuses / check runs in the order they were reported
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    deployment_statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    # branch -> the protection as GET returns it
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)
    # name -> {"wait_timer", "prevent_self_review", "reviewers": [{"type", "id"}],
    #          "deployment_branch_policy": {...} | None, "id"}
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (environment or "" for the repository, NAME) -> value: GitHub Actions variables
    variables: dict[tuple[str, str], str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)  # login -> id
    teams: dict[tuple[str, str], int] = field(default_factory=dict)  # (org, slug) -> id
    # (org, slug) -> the logins that are active members
    members: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # People's own tokens, token -> login (GET /user answers with it). `token` is an app's
    # (as GitHub Actions' GITHUB_TOKEN is): GET /user refuses it.
    people: dict[str, str] = field(default_factory=dict)
    # Tokens that cannot read the organisation (no read:org): /orgs/... answers 403.
    org_blind: set[str] = field(default_factory=set)
    # run id -> the workflow run as GET .../actions/runs/{id} returns it
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    # run id -> the reviews of its environment gates, as GET .../approvals returns them
    run_reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.owner, self.name = self.repository.split("/")
        self._ids = count(1000)
        self._injections: list[_Injection] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = []
        repo = rf"/repos/{re.escape(self.repository)}"
        for method, pattern, handler in (
            ("GET", repo, self._get_repo),
            ("GET", rf"{repo}/commits/([^/]+)/status", self._combined_status),
            ("GET", rf"{repo}/commits/([^/]+)/statuses", self._list_statuses),
            ("POST", rf"{repo}/statuses/([^/]+)", self._create_status),
            ("GET", rf"{repo}/commits/([^/]+)/check-runs", self._list_check_runs),
            ("POST", rf"{repo}/deployments", self._create_deployment),
            ("POST", rf"{repo}/deployments/(\d+)/statuses", self._create_deployment_status),
            ("POST", rf"{repo}/releases", self._create_release),
            ("GET", rf"{repo}/branches/([^/]+)", self._get_branch),
            ("GET", rf"{repo}/branches/([^/]+)/protection", self._get_protection),
            ("PUT", rf"{repo}/branches/([^/]+)/protection", self._put_protection),
            ("GET", rf"{repo}/environments/([^/]+)", self._get_environment),
            ("PUT", rf"{repo}/environments/([^/]+)", self._put_environment),
            ("GET", rf"{repo}/environments/([^/]+)/deployment-branch-policies", self._policies),
            ("POST", rf"{repo}/environments/([^/]+)/deployment-branch-policies", self._add_policy),
            (
                "DELETE",
                rf"{repo}/environments/([^/]+)/deployment-branch-policies/(\d+)",
                self._delete_policy,
            ),
            ("GET", rf"{repo}/actions/variables/([^/]+)", self._get_variable),
            ("POST", rf"{repo}/actions/variables", self._create_variable),
            ("PATCH", rf"{repo}/actions/variables/([^/]+)", self._update_variable),
            ("GET", rf"{repo}/environments/([^/]+)/variables/([^/]+)", self._get_variable),
            ("POST", rf"{repo}/environments/([^/]+)/variables", self._create_variable),
            ("PATCH", rf"{repo}/environments/([^/]+)/variables/([^/]+)", self._update_variable),
            ("GET", rf"{repo}/actions/runs/(\d+)", self._get_run),
            ("GET", rf"{repo}/actions/runs/(\d+)/approvals", self._get_run_approvals),
            ("GET", r"/user", self._get_authenticated_user),
            ("GET", r"/users/([^/]+)", self._get_user),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)", self._get_team),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", self._get_membership),
        ):
            self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> GitHubStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                standin._serve(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads `calls` instead

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GitHubStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def web(self) -> str:
        """Where html_url points (github.com on GitHub)."""
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The API root a client is given (GITHUB_API_URL)."""
        return f"{self.web}{self.prefix}"

    def environ(self, **extra: str) -> dict[str, str]:
        """What a caller needs in its environment to use this stand-in."""
        return {
            "GITHUB_TOKEN": self.token,
            "GITHUB_API_URL": self.url,
            "GITHUB_REPOSITORY": self.repository,
            **extra,
        }

    # --- arranging state and faults --------------------------------------------------------

    def add_status(self, sha: str, context: str, state: str) -> None:
        """A commit status (state: success, pending, failure or error)."""
        number = next(self._ids)
        self.statuses.setdefault(sha, []).append(
            {
                "url": f"{self._api_repo}/statuses/{sha}",
                "avatar_url": f"{self.web}/avatars/ci",
                "id": number,
                "node_id": f"SC_{number}",
                "state": state,
                "description": f"{context} {state}",
                "target_url": f"{self.web}/ci/{number}",
                "context": context,
                "created_at": NOW,
                "updated_at": NOW,
                "creator": self._user_json("ci-bot", 7),
            }
        )

    def add_check_run(
        self, sha: str, name: str, status: str = "completed", conclusion: str | None = "success"
    ) -> None:
        """A check run (status: queued, in_progress or completed, with a conclusion)."""
        number = next(self._ids)
        done = status == "completed"
        self.check_runs.setdefault(sha, []).append(
            {
                "id": number,
                "head_sha": sha,
                "node_id": f"CR_{number}",
                "external_id": "",
                "url": f"{self._api_repo}/check-runs/{number}",
                "html_url": f"{self._web_repo}/runs/{number}",
                "details_url": f"{self._web_repo}/runs/{number}",
                "status": status,
                "conclusion": conclusion if done else None,
                "started_at": NOW,
                "completed_at": NOW if done else None,
                "output": {
                    "title": None,
                    "summary": None,
                    "text": None,
                    "annotations_count": 0,
                    "annotations_url": f"{self._api_repo}/check-runs/{number}/annotations",
                },
                "name": name,
                "check_suite": {"id": 5},
                "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
                "pull_requests": [],
            }
        )

    def add_user(self, login: str) -> int:
        self.users[login] = next(self._ids)
        return self.users[login]

    def add_team(self, org: str, slug: str, *members: str) -> int:
        self.teams[(org, slug)] = next(self._ids)
        self.members.setdefault((org, slug), set()).update(members)
        return self.teams[(org, slug)]

    def add_person(self, login: str) -> str:
        """A user with a token of their own (as `gh auth token` gives); returns the token."""
        if login not in self.users:
            self.add_user(login)
        token = f"ghp_{login}0123456789abcdefghijklmnopqrstuv"
        self.people[token] = login
        return token

    def add_run(self, run_id: int, title: str, started_by: str, head_sha: str = "a" * 40) -> None:
        """A workflow run (its display_title is the workflow's run-name)."""
        self.runs[run_id] = {
            "id": run_id,
            "name": "Deploy",
            "node_id": f"WFR_{run_id}",
            "display_title": title,
            "head_sha": head_sha,
            "event": "workflow_dispatch",
            "status": "in_progress",
            "run_attempt": 1,
            "path": ".github/workflows/deploy.yml",
            "actor": self._user_json(started_by, self.users.get(started_by, 9)),
            "triggering_actor": self._user_json(started_by, self.users.get(started_by, 9)),
            "html_url": f"{self._web_repo}/actions/runs/{run_id}",
            "url": f"{self._api_repo}/actions/runs/{run_id}",
        }
        self.run_reviews.setdefault(run_id, [])

    def review_gate(
        self, run_id: int, login: str, *environments: str, state: str = "approved"
    ) -> None:
        """A reviewer approves (or rejects) the run's jobs waiting on these environments."""
        self.run_reviews.setdefault(run_id, []).append(
            {
                "state": state,
                "comment": "",
                "environments": [
                    {
                        "id": index,
                        "node_id": f"EN_{index}",
                        "name": name,
                        "url": f"{self._api_repo}/environments/{name}",
                        "html_url": f"{self._web_repo}/deployments/activity_log",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for index, name in enumerate(environments, start=1)
                ],
                "user": self._user_json(login, self.users.get(login, 9)),
            }
        )

    def fail(
        self, method: str, path_regex: str, status: int, times: int | None = 1, skip: int = 0
    ) -> None:
        """Answer the next `times` matching requests (None: all) with `status`, after letting
        `skip` of them through."""
        with self._lock:
            injection = _Injection(method, re.compile(path_regex), times, status, skip=skip)
            self._injections.append(injection)

    def delay(self, method: str, path_regex: str, seconds: float, times: int | None = 1) -> None:
        """Hold the next `times` matching requests for `seconds` before answering."""
        with self._lock:
            injection = _Injection(method, re.compile(path_regex), times, seconds=seconds)
            self._injections.append(injection)

    def writes(self) -> list[Call]:
        return [call for call in self.calls if call.method != "GET"]

    # --- serving ---------------------------------------------------------------------------

    @property
    def _api_repo(self) -> str:
        return f"{self.url}/repos/{self.repository}"

    @property
    def _web_repo(self) -> str:
        return f"{self.web}/{self.repository}"

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = request.headers.get("Authorization")
        path = unquote(parts.path)
        in_prefix = path.startswith(self.prefix)
        path = path[len(self.prefix) :] if in_prefix else path
        method = request.command
        with self._lock:
            self.calls.append(Call(method, path, body, auth is not None))
            taken = [i for i in self._injections if i.take(method, path)]
        for injection in taken:
            if injection.seconds:
                self._stopping.wait(injection.seconds)
        failure = next((injection.status for injection in taken if injection.status), 0)
        if failure:  # the request changes nothing, as when GitHub fails before acting
            status: int = failure
            reply: Any = {"message": HTTPStatus(failure).phrase, "documentation_url": DOCS}
        else:
            status, reply = self._answer(
                method, path, query=parse_qs(parts.query), body=body, auth=auth, in_prefix=in_prefix
            )
        payload = b"" if reply is None else json.dumps(reply).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json; charset=utf-8")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a provoked timeout)

    def _answer(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, list[str]],
        body: Any,
        auth: str | None,
        in_prefix: bool,
    ) -> tuple[int, Any]:
        token = (auth or "").removeprefix("token ").removeprefix("Bearer ")
        if token != self.token and token not in self.people:
            return 401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
        try:
            if not in_prefix:
                raise _not_found()
            if path.startswith("/orgs/") and token in self.org_blind:
                raise _Reply(403, "Resource not accessible by integration")
            for route_method, pattern, handler in self._routes:
                match = pattern.match(path)
                if match and route_method == method:
                    with self._lock:
                        result: tuple[int, Any] = handler(
                            *match.groups(), query=query, body=body, token=token
                        )
                    return result
            raise _not_found()
        except _Reply as reply:
            return reply.status, reply.body

    # --- JSON shapes -------------------------------------------------------------------------

    def _user_json(self, login: str, number: int, kind: str = "User") -> dict[str, Any]:
        return {
            "login": login,
            "id": number,
            "node_id": f"U_{number}",
            "avatar_url": f"{self.web}/avatars/{login}",
            "gravatar_id": "",
            "url": f"{self.url}/users/{login}",
            "html_url": f"{self.web}/{login}",
            "type": kind,
            "site_admin": False,
        }

    def _team_json(self, org: str, slug: str, number: int) -> dict[str, Any]:
        return {
            "id": number,
            "node_id": f"T_{number}",
            "url": f"{self.url}/organizations/1/team/{number}",
            "html_url": f"{self.web}/orgs/{org}/teams/{slug}",
            "name": slug.replace("-", " ").title(),
            "slug": slug,
            "description": "",
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{self.url}/organizations/1/team/{number}/members" + "{/member}",
            "repositories_url": f"{self.url}/organizations/1/team/{number}/repos",
            "parent": None,
        }

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 1296269,
            "node_id": "R_1296269",
            "name": self.name,
            "full_name": self.repository,
            "owner": self._user_json(self.owner, 1, "Organization"),
            "private": True,
            "html_url": self._web_repo,
            "url": self._api_repo,
            "default_branch": "main",
        }

    # --- routes ------------------------------------------------------------------------------

    def _get_repo(self, **_: Any) -> tuple[int, Any]:
        return 200, self._repo_json()

    def _combined_status(self, sha: str, **_: Any) -> tuple[int, Any]:
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses.get(sha, []):
            latest[status["context"]] = status  # newest per context, as GitHub combines
        states = {status["state"] for status in latest.values()}
        if states & {"failure", "error"}:
            state = "failure"
        elif not states or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return 200, {
            "state": state,
            "statuses": list(latest.values()),
            "sha": sha,
            "total_count": len(latest),
            "repository": self._repo_json(),
            "commit_url": f"{self._api_repo}/commits/{sha}",
            "url": f"{self._api_repo}/commits/{sha}/status",
        }

    def _list_statuses(self, sha: str, query: dict[str, list[str]], **_: Any) -> tuple[int, Any]:
        newest_first = list(reversed(self.statuses.get(sha, [])))
        size, page = int(query.get("per_page", ["30"])[0]), int(query.get("page", ["1"])[0])
        return 200, newest_first[(page - 1) * size : page * size]

    def _create_status(self, sha: str, body: Any, token: str, **_: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or body.get("state") not in {
            "error",
            "failure",
            "pending",
            "success",
        }:
            raise _invalid("Validation Failed", errors=[{"field": "state", "code": "invalid"}])
        if len(body.get("description") or "") > 140:
            raise _invalid("Validation Failed", errors=[{"field": "description", "code": "long"}])
        creator = self.people.get(token, "github-actions[bot]")
        self.add_status(sha, str(body.get("context") or "default"), str(body["state"]))
        status = self.statuses[sha][-1]
        status |= {
            "description": body.get("description", ""),
            "creator": self._user_json(creator, self.users.get(creator, 41898282)),
        }
        return 201, status

    def _list_check_runs(self, sha: str, query: dict[str, list[str]], **_: Any) -> tuple[int, Any]:
        runs = self.check_runs.get(sha, [])
        if query.get("filter", ["latest"])[0] == "latest":
            newest = {run["name"]: run for run in runs}  # a re-run replaces the earlier run
            runs = list(newest.values())
        return 200, {"total_count": len(runs), "check_runs": runs}

    def _create_deployment(self, body: Any, **_: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("ref"):
            raise _invalid('Invalid request.\n\n"ref" wasn\'t supplied.')
        number = next(self._ids)
        environment = body.get("environment", "production")
        deployment = {
            "url": f"{self._api_repo}/deployments/{number}",
            "id": number,
            "node_id": f"DE_{number}",
            "sha": body["ref"],
            "ref": body["ref"],
            "task": body.get("task", "deploy"),
            "payload": body.get("payload", {}),
            "original_environment": environment,
            "environment": environment,
            "description": body.get("description"),
            "creator": self._user_json("release-bot", 8),
            "created_at": NOW,
            "updated_at": NOW,
            "statuses_url": f"{self._api_repo}/deployments/{number}/statuses",
            "repository_url": self._api_repo,
            "transient_environment": body.get("transient_environment", False),
            "production_environment": body.get(
                "production_environment", environment == "production"
            ),
            # what the client asked for, for tests to check
            "auto_merge": body.get("auto_merge", True),
            "required_contexts": body.get("required_contexts"),
        }
        self.deployments.append(deployment)
        self.deployment_statuses[number] = []
        return 201, deployment

    def _create_deployment_status(self, deployment_id: str, body: Any, **_: Any) -> tuple[int, Any]:
        number = int(deployment_id)
        deployment = next((d for d in self.deployments if d["id"] == number), None)
        if deployment is None:
            raise _not_found()
        states = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
        if not isinstance(body, dict) or body.get("state") not in states:
            raise _invalid("Validation Failed", errors=[{"field": "state", "code": "invalid"}])
        if len(body.get("description") or "") > 140:
            raise _invalid("Validation Failed", errors=[{"field": "description", "code": "long"}])
        status_id = next(self._ids)
        log_url = body.get("log_url") or body.get("target_url") or ""
        status = {
            "url": f"{self._api_repo}/deployments/{number}/statuses/{status_id}",
            "id": status_id,
            "node_id": f"DES_{status_id}",
            "state": body["state"],
            "creator": self._user_json("release-bot", 8),
            "description": body.get("description", ""),
            "environment": deployment["environment"],
            "target_url": log_url,
            "log_url": log_url,
            "environment_url": body.get("environment_url", ""),
            "created_at": NOW,
            "updated_at": NOW,
            "deployment_url": deployment["url"],
            "repository_url": self._api_repo,
        }
        self.deployment_statuses[number].append(status)
        return 201, status

    def _create_release(self, body: Any, **_: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("tag_name"):
            raise _invalid('Invalid request.\n\n"tag_name" wasn\'t supplied.')
        tag = body["tag_name"]
        if any(release["tag_name"] == tag for release in self.releases):
            raise _invalid(
                "Validation Failed",
                errors=[{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
            )
        number = next(self._ids)
        release = {
            "url": f"{self._api_repo}/releases/{number}",
            "html_url": f"{self._web_repo}/releases/tag/{tag}",
            "assets_url": f"{self._api_repo}/releases/{number}/assets",
            "upload_url": f"{self.web}/uploads/releases/{number}/assets" + "{?name,label}",
            "tarball_url": f"{self._api_repo}/tarball/{tag}",
            "zipball_url": f"{self._api_repo}/zipball/{tag}",
            "id": number,
            "node_id": f"RE_{number}",
            "tag_name": tag,
            "target_commitish": body.get("target_commitish", "main"),
            "name": body.get("name", tag),
            "body": body.get("body", ""),
            "draft": body.get("draft", False),
            "prerelease": body.get("prerelease", False),
            "created_at": NOW,
            "published_at": NOW,
            "author": self._user_json("release-bot", 8),
            "assets": [],
        }
        self.releases.append(release)
        return 201, release

    def _get_branch(self, branch: str, **_: Any) -> tuple[int, Any]:
        if branch not in self.branches:
            raise _Reply(404, "Branch not found")
        url = f"{self._api_repo}/branches/{branch}"
        return 200, {
            "name": branch,
            "commit": {"sha": "a" * 40, "url": f"{self._api_repo}/commits/{'a' * 40}"},
            "_links": {"self": url, "html": f"{self._web_repo}/tree/{branch}"},
            "protected": branch in self.protection,
            "protection": {"enabled": branch in self.protection},
            "protection_url": f"{url}/protection",
        }

    def _get_protection(self, branch: str, **_: Any) -> tuple[int, Any]:
        if branch not in self.branches:
            raise _Reply(404, "Branch not found")
        if branch not in self.protection:
            raise _Reply(404, "Branch not protected")
        return 200, self.protection[branch]

    def _put_protection(self, branch: str, body: Any, **_: Any) -> tuple[int, Any]:
        if branch not in self.branches:
            raise _Reply(404, "Branch not found")
        required = (
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        )
        for key in required:
            if not isinstance(body, dict) or key not in body:
                raise _invalid(f'Invalid request.\n\n"{key}" wasn\'t supplied.')
        url = f"{self._api_repo}/branches/{branch}/protection"
        stored: dict[str, Any] = {"url": url}
        checks = body["required_status_checks"]
        if checks is not None:
            contexts = checks.get("contexts")
            if contexts is None:
                contexts = [check["context"] for check in checks.get("checks", [])]
            stored["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": bool(checks.get("strict")),
                "contexts": contexts,
                "contexts_url": f"{url}/required_status_checks/contexts",
                "checks": [{"context": context, "app_id": None} for context in contexts],
            }
        stored["enforce_admins"] = {
            "url": f"{url}/enforce_admins",
            "enabled": bool(body["enforce_admins"]),
        }
        reviews = body["required_pull_request_reviews"]
        if reviews is not None:
            stored["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
                "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
                "required_approving_review_count": reviews.get(
                    "required_approving_review_count", 0
                ),
                "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
            }
        stored["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
        for key in (
            "required_linear_history",
            "allow_force_pushes",
            "allow_deletions",
            "block_creations",
            "required_conversation_resolution",
            "lock_branch",
            "allow_fork_syncing",
        ):
            stored[key] = {"enabled": bool(body.get(key))}
        self.protection[branch] = stored
        return 200, stored

    def _environment_json(self, name: str) -> dict[str, Any]:
        env = self.environments[name]
        rules: list[dict[str, Any]] = []
        if env["wait_timer"]:
            timer = {"id": env["id"] + 1, "node_id": "GA_1", "type": "wait_timer"}
            rules.append({**timer, "wait_timer": env["wait_timer"]})
        if env["reviewers"]:
            reviewers = []
            for reviewer in env["reviewers"]:
                if reviewer["type"] == "User":
                    login = next(k for k, v in self.users.items() if v == reviewer["id"])
                    person = self._user_json(login, reviewer["id"])
                    reviewers.append({"type": "User", "reviewer": person})
                else:
                    org, slug = next(k for k, v in self.teams.items() if v == reviewer["id"])
                    reviewers.append(
                        {"type": "Team", "reviewer": self._team_json(org, slug, reviewer["id"])}
                    )
            rules.append(
                {
                    "id": env["id"] + 2,
                    "node_id": "GA_2",
                    "type": "required_reviewers",
                    "prevent_self_review": env["prevent_self_review"],
                    "reviewers": reviewers,
                }
            )
        if env["deployment_branch_policy"] is not None:
            rules.append({"id": env["id"] + 3, "node_id": "GA_3", "type": "branch_policy"})
        return {
            "id": env["id"],
            "node_id": f"EN_{env['id']}",
            "name": name,
            "url": f"{self._api_repo}/environments/{name}",
            "html_url": f"{self._web_repo}/deployments/activity_log?environments_filter={name}",
            "created_at": NOW,
            "updated_at": NOW,
            "can_admins_bypass": True,
            "protection_rules": rules,
            "deployment_branch_policy": env["deployment_branch_policy"],
        }

    def _get_environment(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.environments:
            raise _not_found()
        return 200, self._environment_json(name)

    def _put_environment(self, name: str, body: Any, **_: Any) -> tuple[int, Any]:
        body = body or {}
        wait_timer = body.get("wait_timer", 0)
        if not 0 <= wait_timer <= 43_200:
            raise _invalid("Validation Failed", errors=[{"field": "wait_timer"}])
        reviewers = body.get("reviewers") or []
        if len(reviewers) > 6:
            raise _invalid("Validation Failed", errors=[{"field": "reviewers"}])
        for reviewer in reviewers:
            known = self.users if reviewer.get("type") == "User" else self.teams
            if reviewer.get("id") not in known.values():
                raise _invalid(f"Reviewer {reviewer.get('type')} {reviewer.get('id')} not found")
        policy = body.get("deployment_branch_policy")
        if policy is not None and (
            bool(policy.get("protected_branches")) == bool(policy.get("custom_branch_policies"))
        ):
            raise _invalid(
                "Validation Failed: exactly one of protected_branches and custom_branch_policies "
                "must be true"
            )
        previous = self.environments.get(name)
        self.environments[name] = {
            "id": previous["id"] if previous else next(self._ids) * 10,
            "wait_timer": wait_timer,
            "prevent_self_review": bool(body.get("prevent_self_review", False)),
            "reviewers": [{"type": r["type"], "id": r["id"]} for r in reviewers],
            "deployment_branch_policy": (
                None
                if policy is None
                else {
                    "protected_branches": bool(policy["protected_branches"]),
                    "custom_branch_policies": bool(policy["custom_branch_policies"]),
                }
            ),
        }
        if policy is None or not policy["custom_branch_policies"]:
            self.branch_policies.pop(name, None)
        return 200, self._environment_json(name)

    def _custom_policies(self, name: str) -> list[dict[str, Any]]:
        env = self.environments.get(name)
        if env is None or not (env["deployment_branch_policy"] or {}).get("custom_branch_policies"):
            raise _not_found()
        return self.branch_policies.setdefault(name, [])

    def _policies(self, name: str, **_: Any) -> tuple[int, Any]:
        policies = self._custom_policies(name)
        return 200, {"total_count": len(policies), "branch_policies": policies}

    def _add_policy(self, name: str, body: Any, **_: Any) -> tuple[int, Any]:
        policies = self._custom_policies(name)
        kind = body.get("type", "branch")
        if kind not in ("branch", "tag") or not body.get("name"):
            raise _invalid("Validation Failed")
        if any(p["name"] == body["name"] and p["type"] == kind for p in policies):
            raise _invalid("Validation Failed: the pattern already exists")
        number = next(self._ids)
        policy = {"id": number, "node_id": f"DBP_{number}", "name": body["name"], "type": kind}
        policies.append(policy)
        return 200, policy

    def _delete_policy(self, name: str, policy_id: str, **_: Any) -> tuple[int, Any]:
        policies = self._custom_policies(name)
        kept = [p for p in policies if p["id"] != int(policy_id)]
        if len(kept) == len(policies):
            raise _not_found()
        self.branch_policies[name] = kept
        return 204, None

    # GitHub Actions variables (https://docs.github.com/en/rest/actions/variables): names are
    # kept upper case; creating one that exists is 409, an environment's needs the environment.

    def _variable_key(self, *where: str) -> tuple[str, str]:
        environment, name = ("", *where) if len(where) == 1 else where
        if environment and environment not in self.environments:
            raise _not_found()
        return environment, name.upper()

    def _get_variable(self, *where: str, **_: Any) -> tuple[int, Any]:
        key = self._variable_key(*where)
        if key not in self.variables:
            raise _not_found()
        return 200, {"name": key[1], "value": self.variables[key]}

    def _create_variable(self, *where: str, body: Any, **_: Any) -> tuple[int, Any]:
        key = self._variable_key(*where, str((body or {}).get("name", "")))
        if key in self.variables:
            raise _Reply(409, "Already exists")
        self.variables[key] = str(body["value"])
        return 201, {}

    def _update_variable(self, *where: str, body: Any, **_: Any) -> tuple[int, Any]:
        key = self._variable_key(*where)
        if key not in self.variables:
            raise _not_found()
        self.variables[key] = str(body["value"])
        return 204, None

    def _get_user(self, login: str, **_: Any) -> tuple[int, Any]:
        for known, number in self.users.items():
            if known.lower() == login.lower():  # logins are case-insensitive
                return 200, self._user_json(known, number)
        raise _not_found()

    def _get_authenticated_user(self, token: str, **_: Any) -> tuple[int, Any]:
        if token not in self.people:  # an app's installation token is nobody
            raise _Reply(403, "Resource not accessible by integration")
        login = self.people[token]
        return 200, self._user_json(login, self.users[login])

    def _get_run(self, run_id: str, **_: Any) -> tuple[int, Any]:
        if int(run_id) not in self.runs:
            raise _not_found()
        return 200, self.runs[int(run_id)]

    def _get_run_approvals(self, run_id: str, **_: Any) -> tuple[int, Any]:
        if int(run_id) not in self.runs:
            raise _not_found()
        return 200, self.run_reviews.get(int(run_id), [])

    def _get_membership(self, org: str, slug: str, login: str, **_: Any) -> tuple[int, Any]:
        for (known_org, known_slug), members in self.members.items():
            if (known_org.lower(), known_slug) == (org.lower(), slug) and login.lower() in {
                member.lower() for member in members
            }:
                url = f"{self.url}/organizations/1/team/{self.teams[(known_org, known_slug)]}"
                return 200, {
                    "url": f"{url}/memberships/{login}",
                    "role": "member",
                    "state": "active",
                }
        raise _not_found()

    def _get_team(self, org: str, slug: str, **_: Any) -> tuple[int, Any]:
        for (known_org, known_slug), number in self.teams.items():
            if (known_org.lower(), known_slug) == (org.lower(), slug):
                return 200, self._team_json(known_org, known_slug, number)
        raise _not_found()
