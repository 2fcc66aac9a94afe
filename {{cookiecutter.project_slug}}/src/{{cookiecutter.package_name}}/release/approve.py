"""`invoke approve`: a person approves a reviewed plan, by its digest, under their own name.

The approver's identity is what AWS and GitHub say, not what they type: the STS principal
of their credentials (in the environment's account), and the login of their GITHUB_TOKEN
where one is set (needed where the environment counts approvals by team). With a token,
the approval is first posted as the commit status approval/<env>/<plan> on the plan's
commit, naming the digest: GitHub records who created it, which is what vouches for the
login (approval_sources.py). Then it is kept beside the plan (kept_plans.py) with the
principal. Nothing here deploys anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from ..config import Environment, Settings
from ..errors import Refusal
from . import guardrails
from .approval_sources import approvers, memberships
from .approvals import Approval, Rule
from .aws import caller, connect, local_user_of
from .github import approval_context
from .github import connect as connect_github
from .kept_plans import KeptPlans
from .ledger import ledger_of, utc_now
from .reviewed import plan_digest

_DIGEST = re.compile(r"^[0-9a-f]{12,64}$")


@dataclass(frozen=True)
class ApproveRequest:
    environment: str
    plan: str  # the deploy id of the dry run whose plan is approved
    digest: str = ""  # the digest the approver reviewed (12+ hex digits); "" takes the plan's


def approve(
    settings: Settings,
    request: ApproveRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> Approval:
    """Record the caller's approval of a kept plan; a Refusal (one line, nothing written)
    for a plan that is unknown, expired, of another environment or another digest, or an
    approver whose approval could never count."""
    environment = settings.environment(request.environment)
    guardrails.check_reviewed_plan(environment, request.plan, execute=False)
    wanted = request.digest.strip().lower()
    if wanted and not _DIGEST.match(wanted):
        raise Refusal(
            f"--digest {request.digest!r} is not a plan digest: give at least its first 12 hex "
            "digits, as plan.md shows them"
        )
    guardrails.check_plan_fresh(environment, request.plan, datetime.now(UTC))
    aws = connect(environment, local_user_of(environ))
    who = caller(aws)
    guardrails.check_account(environment, who.account, who.principal)
    deploys = root / "build" / "deploys" / environment.name
    plans = KeptPlans(deploys, ledger_of(settings, environment, aws))
    facts = plans.facts(request.plan)
    digest = plan_digest(facts)
    if wanted and not digest.startswith(wanted):
        raise Refusal(
            f"plan {request.plan} has digest {digest[:12]}…, not {wanted[:12]}…: the plan you "
            f"reviewed is another one; review plan {request.plan}'s plan.md (its digest is at "
            "the top) and approve that"
        )
    github = connect_github(settings, environ)
    login = (github.login() if github is not None else None) or ""
    teams = environment.policy.approver_teams
    if teams:
        if not login:
            raise Refusal(
                f"{environment.name} counts approvals of members of {', '.join(teams)} only, so "
                "an approval needs your verified GitHub login: set GITHUB_TOKEN to your own "
                "token (e.g. `gh auth token`)"
            )
        member_of = memberships(settings, environ, environment, teams, [login])
        if not member_of.get(login.lower()):
            raise Refusal(
                f"{login} is not in {' or '.join(teams)}, whose approvals count for "
                f"{environment.name}; ask one of them to approve plan {request.plan}"
            )
    approval = Approval(
        plan=request.plan,
        digest=digest,
        environment=environment.name,
        principal=who.principal,
        user_id=who.user_id,
        login=login,
        source="invoke approve",
        at=utc_now(),
    )
    before = plans.approvals(request.plan)  # unreadable or misnamed ones stop it here
    on_github = ""
    if github is not None and login:
        context = approval_context(environment.name, request.plan)
        github.post_status(facts.commit, context, f"{login} approved digest {digest}")
        on_github = f" and as the status {context} on {facts.commit[:7]}"
    where = plans.add_approval(approval)
    out.print(
        f"approved plan {request.plan} of {environment.name} (digest {digest[:12]}…, commit "
        f"{facts.commit[:7]}, model {facts.model_sha256[:12]}…) as {approval.who} "
        f"({who.principal}); kept in {where}{on_github}"
    )
    given = [a for a in before if a.digest == digest and a.user_id != who.user_id]
    out.print(
        f"plan {request.plan} is approved by {approvers([*given, approval])}; {_needs(environment)}"
    )
    return approval


def _needs(environment: Environment) -> str:
    """What an execute of the environment asks, for the approver's information."""
    needs = [
        f"{what} needs {rule.describe()}"
        for what, rule in (
            ("a deploy", Rule.of(environment.policy, rollback=False)),
            ("a rollback", Rule.of(environment.policy, rollback=True)),
        )
        if rule.required
    ]
    if not needs:
        return (
            f"{environment.name} executes without approvals (policy.approvals_required = 0): "
            "this one is on record only"
        )
    return f"in {environment.name}, {' and '.join(needs)}"
