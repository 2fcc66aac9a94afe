"""Who approved a plan and who deploys it: the adapters behind the two-person rule.

Approvals come from two places: `invoke approve` (kept beside the plan, kept_plans.py) and,
in GitHub Actions, the reviews of the running Deploy workflow's environment gates
(GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals). A gate's review names no
digest; it is bound to the plan through the run: the run executes the plan its `plan`
input names, and its title (the workflow's run-name) shows that plan to the reviewers,
which is checked here. Team membership is read from GitHub with a token that can read the
organisation's teams; GitHub Actions' own token cannot, so the workflow passes one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..config import Environment, Settings
from ..errors import GitHubError, Refusal
from .approvals import Approval, Person, Rule, gates, tally
from .github import ORG_TOKEN, GitHub, connect
from .kept_plans import KeptPlans
from .ledger import utc_now
from .preflight import Run


def in_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def deployer(run: Run) -> Person:
    """Who executes: the run's principal, and the GitHub login of the person who started the
    workflow run (in Actions) or of GITHUB_TOKEN's owner (on a laptop)."""
    environ = run.invocation.environ
    login = ""
    if in_actions(environ):
        login = environ.get("GITHUB_TRIGGERING_ACTOR") or environ.get("GITHUB_ACTOR", "")
    elif run.github is not None:
        login = run.github.login() or ""
    return Person(run.principal, login)


def gate_approvals(
    github: GitHub | None,
    environ: Mapping[str, str],
    environment: Environment,
    plan: str,
    digest: str,
) -> list[Approval]:
    """The approving reviews of this Actions run's gates of the environment, as approvals of
    the plan it executes; [] outside Actions or without a token."""
    run_id = environ.get("GITHUB_RUN_ID", "")
    if github is None or not in_actions(environ) or not run_id:
        return []
    names = set(gates(environment.name, max(environment.policy.approvals_required, 1)))
    reviews = [
        review
        for review in github.run_approvals(run_id)
        if review.state == "approved" and review.login and names & set(review.environments)
    ]
    if not reviews:
        return []
    run = github.workflow_run(run_id)
    if plan not in run.title:
        raise Refusal(
            f"run {run_id} is titled {run.title!r}, which does not name plan {plan}, so its "
            "gates' approvals cannot be bound to that plan; the Deploy workflow's run-name "
            "must show the plan it executes (.github/workflows/deploy.yml)"
        )
    now = utc_now()
    return [
        Approval(
            plan=plan,
            digest=digest,
            environment=environment.name,
            principal="",
            user_id="",
            login=review.login,
            source=f"GitHub run {run_id} gate {_joined(names & set(review.environments))}",
            at=now,
        )
        for review in reviews
    ]


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
    run: Run, plans: KeptPlans, plan: str, digest: str, kind: str
) -> tuple[Approval, ...]:
    """The approvals that let this execute run plan `digest`, one per person; a Refusal in
    one line (who approved, how many are missing, who did not count and why) otherwise."""
    environment, environ = run.environment, run.invocation.environ
    rule = Rule.of(environment.policy, rollback=kind == "rollback")
    if rule.required == 0:
        return ()
    approvals = plans.approvals(plan)
    approvals += gate_approvals(run.github, environ, environment, plan, digest)
    person = deployer(run)
    if rule.teams and not rule.deployer_may_approve and not person.login:
        raise Refusal(
            f"{environment.name}'s approvals are counted by GitHub login (policy.approver_teams), "
            "and the deployer's is not known: set GITHUB_TOKEN to your own token (e.g. "
            "`gh auth token`) so the engine can tell you from the approvers"
        )
    teams_of = memberships(
        run.settings, environ, environment, rule.teams, (a.login for a in approvals)
    )
    counted = tally(rule, approvals, plan=plan, digest=digest, deployer=person, teams_of=teams_of)
    if not counted.enough:
        raise Refusal(
            f"{counted.describe(environment.name, plan, digest)}; approve it with "
            f"`invoke approve --env {environment.name} --plan {plan}` or at the Deploy run's gates"
        )
    run.out.print(f"approved: {counted.describe(environment.name, plan, digest)}")
    return counted.counted


def approvers(approvals: Iterable[Approval]) -> str:
    """For people: "alice, bob" (or "nobody")."""
    return ", ".join(approval.who for approval in approvals) or "nobody"


def _joined(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))
