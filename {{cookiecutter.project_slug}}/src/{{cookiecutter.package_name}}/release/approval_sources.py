"""Who approved a plan and who deploys it: the adapters behind the two-person rule.

Approvals come from three places, and only GitHub vouches for a login:
- the reviews of the running Deploy (or Rollback) workflow's environment gates (GET
  /repos/{owner}/{repo}/actions/runs/{run_id}/approvals). A review names no digest; it is
  bound to the plan through the run: the run executes the plan its `plan` input names, and
  its title (the workflow's run-name) shows that plan to the reviewers, which is checked;
- the commit status `approval/<env>/<plan>` that `invoke approve` posts with the approver's
  own token on the plan's commit, naming the digest: GitHub records who created it;
- the approval file `invoke approve` keeps beside the plan (kept_plans.py), with the STS
  principal of the approver. Its login is the approver's say-so, so where teams count it
  stands only when a status by that login corroborates it.

Inside GitHub Actions the run is believed only when it is this execute's own: GitHub says it
is in progress on the plan's commit, and the AWS session is the one the workflow opened for
it (role-session-name <kind>-<env>-<run id>). The deployer is who started it, as GitHub says.
Team membership is read with a token that can read the organisation's teams; GitHub
Actions' own token cannot, so the workflows pass one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..config import Environment, Settings
from ..errors import GitHubError, Refusal
from .approvals import Approval, Person, Rule, gates, tally
from .github import ORG_TOKEN, GitHub, WorkflowRunInfo, approval_context, connect
from .ledger import utc_now
from .preflight import Run


def in_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def actions_run(run: Run, kind: str, commit: str) -> WorkflowRunInfo | None:
    """This execute's GitHub Actions run, checked with GitHub and AWS; None on a laptop. A
    run that is not this execute's own (an old run id, a laptop that set GITHUB_ACTIONS) is
    refused rather than trusted."""
    environ = run.invocation.environ
    run_id = environ.get("GITHUB_RUN_ID", "")
    if not in_actions(environ):
        return None
    if run.github is None or not run_id:
        raise Refusal(
            "GITHUB_ACTIONS is set without GITHUB_RUN_ID and GITHUB_TOKEN, so the run's "
            "approvals and who started it cannot be read; run it from the workflow"
        )
    info = run.github.workflow_run(run_id)
    session = f"{kind}-{run.environment.name}-{run_id}"
    problems = [
        f"GitHub says it is {info.status or 'unknown'}, not in_progress"
        if info.status != "in_progress"
        else "",
        f"it runs {info.head_sha[:7]}, not {commit[:7]}" if info.head_sha != commit else "",
        f"the AWS session is {run.principal}, not the workflow's {session}"
        if run.principal.rsplit("/", 1)[-1] != session
        else "",
    ]
    found = "; ".join(problem for problem in problems if problem)
    if found:
        raise Refusal(
            f"run {run_id} is not this {kind}'s own GitHub Actions run ({found}); its "
            "approvals count only inside it, so run the workflow (or unset GITHUB_ACTIONS)"
        )
    return info


def deployer(run: Run, actions: WorkflowRunInfo | None) -> Person:
    """Who executes: the run's principal, and the GitHub login of the person who started the
    workflow run (as GitHub says) or, on a laptop, of GITHUB_TOKEN's owner."""
    if actions is not None:
        return Person(run.principal, actions.started_by)
    login = (run.github.login() if run.github is not None else None) or ""
    return Person(run.principal, login)


def gate_approvals(
    github: GitHub, actions: WorkflowRunInfo, environment: Environment, plan: str, digest: str
) -> list[Approval]:
    """The approving reviews of this run's gates of the environment, as approvals of the plan
    its title names."""
    names = set(gates(environment.name, environment.policy.approvals_required))
    reviews = [
        review
        for review in github.run_approvals(actions.run_id)
        if review.state == "approved" and review.login and names & set(review.environments)
    ]
    if reviews and plan not in actions.title:
        raise Refusal(
            f"run {actions.run_id} is titled {actions.title!r}, which does not name plan "
            f"{plan}, so its gates' approvals cannot be bound to that plan; the workflow's "
            "run-name must show the plan it executes (.github/workflows/deploy.yml)"
        )
    now = utc_now()
    return [
        _approval(
            environment,
            (plan, digest),
            review.login,
            f"GitHub run {actions.run_id} gate {_joined(names & set(review.environments))}",
            now,
        )
        for review in reviews
    ]


def status_approvals(
    github: GitHub, environment: Environment, plan: str, digest: str, commit: str
) -> list[Approval]:
    """The approvals `invoke approve` posted on the plan's commit, each by the login GitHub
    says created it, naming this digest."""
    context = approval_context(environment.name, plan)
    now = utc_now()
    return [
        _approval(environment, (plan, digest), status.creator, "invoke approve, on GitHub", now)
        for status in github.statuses(commit)
        if status.context == context
        and status.state == "success"
        and status.creator
        and digest in status.description
    ]


def _approval(
    environment: Environment, plan: tuple[str, str], login: str, source: str, at: str
) -> Approval:
    """An approval GitHub vouches for: a login, no AWS principal. plan: (deploy id, digest)."""
    return Approval(
        plan=plan[0],
        digest=plan[1],
        environment=environment.name,
        principal="",
        user_id="",
        login=login,
        source=source,
        at=at,
    )


def memberships(
    settings: Settings,
    environ: Mapping[str, str],
    environment: Environment,
    teams: Iterable[str],
    logins: Iterable[str],
) -> dict[str, frozenset[str]]:
    """login (lower case) -> which of teams it belongs to; a Refusal when no token given can
    read a team (say which token is needed)."""
    teams, logins = tuple(teams), sorted({login.lower() for login in logins if login})
    if not teams or not logins:
        return {}
    github = connect(settings, environ, ORG_TOKEN) or connect(settings, environ)
    needed = (
        f"{environment.name} counts approvals of {', '.join(teams)} only (policy.approver_teams), "
        f"and reading team membership needs a token that can read the organisation's teams: "
        f"set {ORG_TOKEN} (classic token: read:org; fine-grained: Members read)"
    )
    if github is None:
        raise Refusal(f"{needed}; no token is set")
    found: dict[str, set[str]] = {login: set() for login in logins}
    for team in teams:
        try:
            members = github.team_members(team, logins)
        except GitHubError as error:
            raise Refusal(f"{needed}; reading {team} failed: {error}") from None
        for login in members:
            found[login].add(team)
    return {login: frozenset(teams_) for login, teams_ in found.items()}


def check_approvals(
    run: Run, plan: str, digest: str, source: tuple[str, str]
) -> tuple[Approval, ...]:
    """The approvals that let this execute run plan `digest` (source: its kind and commit),
    one per person; a Refusal in one line (who approved, how many are missing, who did not
    count and why) otherwise."""
    environment, environ = run.environment, run.invocation.environ
    kind, commit = source
    rule = Rule.of(environment.policy, rollback=kind == "rollback")
    if rule.required == 0:
        return ()
    actions = actions_run(run, kind, commit)
    person = deployer(run, actions)
    if rule.teams and not rule.deployer_may_approve and not person.login:
        raise Refusal(
            f"{environment.name}'s approvals are counted by GitHub login (policy.approver_teams), "
            "and the deployer's is not known: set GITHUB_TOKEN to your own token (e.g. "
            "`gh auth token`) so the engine can tell you from the approvers"
        )
    kept = run.plans.approvals(plan)
    vouched: list[Approval] = []
    if run.github is not None:
        vouched += status_approvals(run.github, environment, plan, digest, commit)
        if actions is not None:
            vouched += gate_approvals(run.github, actions, environment, plan, digest)
    if rule.teams:  # a file's login stands only where GitHub says that login approved
        logins = {approval.login.lower() for approval in vouched}
        kept = [a if a.login.lower() in logins else replace(a, login="") for a in kept]
    approvals = kept + vouched
    teams_of = memberships(
        run.settings, environ, environment, rule.teams, (a.login for a in approvals)
    )
    counted = tally(rule, approvals, plan=plan, digest=digest, deployer=person, teams_of=teams_of)
    if not counted.enough:
        raise Refusal(
            f"{counted.describe(environment.name, plan, digest)}; approve it with "
            f"`invoke approve --env {environment.name} --plan {plan}` or at the run's gates"
        )
    run.out.print(f"approved: {counted.describe(environment.name, plan, digest)}")
    return counted.counted


def approvers(approvals: Iterable[Approval]) -> str:
    """For people: "alice, bob" (or "nobody")."""
    return ", ".join(approval.who for approval in approvals) or "nobody"


def _joined(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))
