"""The two-person rule: which approvals of a plan count, and whether they are enough.

An approval names a plan (its deploy id and digest) and who gave it: the STS principal and
user id of the caller of `invoke approve` with the GitHub login of their token where one is
set, or the GitHub login of a reviewer who approved a gate of the Deploy run executing that
plan. An execute counts distinct people: two approvals are one person when they share a
principal or a GitHub login (GitHub's prevent-self-review only stops the run's own actor,
so one person could approve two gates). The environment's policy says how many people,
whether the deployer may be one of them, and whose approvals count (GitHub teams, and
optionally one approver from each). Pure rules over plain data: approval_sources.py
gathers the approvals, the deployer and the team memberships.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..config import Policy


@dataclass(frozen=True)
class Approval:
    plan: str  # the deploy id of the reviewed dry run
    digest: str  # the plan's digest the approver approved
    environment: str
    principal: str  # the approver's STS ARN; "" for a GitHub gate
    user_id: str  # the approver's STS UserId (their key in the ledger); "" for a GitHub gate
    login: str  # the approver's GitHub login; "" when none was verified
    source: str  # "invoke approve", or the GitHub run and gate
    at: str  # UTC, ISO 8601

    @property
    def who(self) -> str:
        """The approver for people: the GitHub login, else the principal's last name."""
        return self.login or self.principal.rsplit("/", 1)[-1] or self.principal

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Approval:
        data: dict[str, Any] = json.loads(text)
        return cls(**{name: str(data[name]) for name in cls.__dataclass_fields__})

    def as_record(self) -> dict[str, str]:
        """What a deploy record keeps of a counted approval."""
        return {
            "who": self.who,
            "login": self.login,
            "principal": self.principal,
            "source": self.source,
            "at": self.at,
        }


@dataclass(frozen=True)
class Person:
    """Who deploys: the STS principal, and the GitHub login where it is known."""

    principal: str
    login: str

    def is_(self, approval: Approval) -> bool:
        return _same_identity(self.principal, self.login, approval)


@dataclass(frozen=True)
class Rule:
    """How many distinct people must approve, and whose approvals count."""

    required: int
    deployer_may_approve: bool
    teams: tuple[str, ...]  # "org/team-slug", lower case; () counts anyone
    one_per_team: bool

    @classmethod
    def of(cls, policy: Policy, *, rollback: bool) -> Rule:
        """A deploy's rule, or a rollback's: its own count, from any of the teams (an
        incident must not wait for one person of each team)."""
        return cls(
            required=policy.rollback_approvals_required if rollback else policy.approvals_required,
            deployer_may_approve=policy.deployer_may_approve,
            teams=tuple(team.lower() for team in policy.approver_teams),
            one_per_team=policy.one_approver_per_team and not rollback,
        )

    def describe(self) -> str:
        """E.g. "2 approvals from people other than the deployer, one from each of a/b, a/c"."""
        said = f"{self.required} approval{'s' if self.required != 1 else ''}"
        said += " from people" if self.deployer_may_approve else " from people but the deployer"
        if self.teams:
            joined = ", ".join(self.teams)
            said += f", one from each of {joined}" if self.one_per_team else f" in {joined}"
        return said


@dataclass(frozen=True)
class Tally:
    """The approvals of one plan, counted: one per person, and why the others did not count."""

    rule: Rule
    counted: tuple[Approval, ...]
    ignored: tuple[tuple[Approval, str], ...]
    missing_teams: tuple[str, ...]  # teams still without an approver (one_per_team)

    @property
    def missing(self) -> int:
        return max(self.rule.required - len(self.counted), len(self.missing_teams))

    @property
    def enough(self) -> bool:
        return self.missing == 0

    def describe(self, environment: str, plan: str, digest: str) -> str:
        """One line: what is needed, what there is, what is missing and what did not count."""
        has = ", ".join(f"{a.who} ({a.source})" for a in self.counted) or "none"
        line = (
            f"{environment} needs {self.rule.describe()} for plan {plan} (digest "
            f"{digest[:12]}…); it has {len(self.counted)}: {has}"
        )
        if not self.enough:
            line += f"; missing {self.missing}"
            if self.missing_teams:
                line += f" (from {', '.join(self.missing_teams)})"
        if self.ignored:
            reasons = "; ".join(f"{a.who} {why}" for a, why in self.ignored)
            line += f"; not counted: {reasons}"
        return line


def tally(
    rule: Rule,
    approvals: Iterable[Approval],
    *,
    plan: str,
    digest: str,
    deployer: Person,
    teams_of: Mapping[str, frozenset[str]],
) -> Tally:
    """Count the approvals of `plan` with `digest`: grouped into people first (a shared
    principal or login joins two), then a person is left out (with why) when any of their
    approvals is the deployer's or, where teams count, none carries a login in the teams.
    teams_of: GitHub login (lower case) -> the rule's teams that login belongs to."""
    current: list[Approval] = []
    ignored: list[tuple[Approval, str]] = []
    for approval in sorted(approvals, key=lambda a: (a.at, a.source, a.who)):
        if (approval.plan, approval.digest) != (plan, digest):
            why = f"approved another plan ({approval.plan}, digest {approval.digest[:12]}…)"
            ignored.append((approval, why))
        else:
            current.append(approval)
    people: list[list[Approval]] = []
    for group in _people(current):
        why = _why_not(rule, group, deployer, teams_of)
        if why:
            ignored.append((_one_of(group), why))
        else:
            people.append(group)
    missing_teams: tuple[str, ...] = ()
    if rule.one_per_team:
        members = [
            frozenset().union(*(teams_of.get(a.login.lower(), frozenset()) for a in group))
            for group in people
        ]
        missing_teams = _unmatched(rule.teams, members)
    counted = tuple(_one_of(group) for group in people)
    return Tally(rule, counted, tuple(_dedupe(ignored)), missing_teams)


def _one_of(group: Sequence[Approval]) -> Approval:
    """One person's approvals as one: the first that names a login (else the first), with
    the principal another of them names."""
    chosen = next((a for a in group if a.login), group[0])
    if chosen.principal:
        return chosen
    known = next((a for a in group if a.principal), chosen)
    return replace(chosen, principal=known.principal, user_id=known.user_id)


def _why_not(
    rule: Rule,
    group: Sequence[Approval],
    deployer: Person,
    teams_of: Mapping[str, frozenset[str]],
) -> str:
    if not rule.deployer_may_approve and any(deployer.is_(a) for a in group):
        return "is the deployer"
    if rule.teams:
        logins = {a.login.lower() for a in group if a.login}
        if not logins:
            return "has no verified GitHub login (the teams are GitHub's)"
        if not any(teams_of.get(login) for login in logins):
            return f"is not in {' or '.join(rule.teams)}"
    return ""


def _people(approvals: Sequence[Approval]) -> list[list[Approval]]:
    """Approvals grouped by person (a shared principal or login joins two), in order."""
    groups: list[list[Approval]] = []
    for approval in approvals:
        joined = [group for group in groups if any(_same(approval, other) for other in group)]
        merged = [approval, *(a for group in joined for a in group)]
        groups = [group for group in groups if group not in joined]
        groups.append(sorted(merged, key=approvals.index))
    return sorted(groups, key=lambda group: approvals.index(group[0]))


def _same(one: Approval, other: Approval) -> bool:
    return _same_identity(one.principal, one.login, other)


def _same_identity(principal: str, login: str, approval: Approval) -> bool:
    """One person: the same AWS principal, or the same GitHub login (logins ignore case)."""
    return bool(
        (principal and principal == approval.principal)
        or (login and login.lower() == approval.login.lower())
    )


def _unmatched(teams: Sequence[str], members: Sequence[frozenset[str]]) -> tuple[str, ...]:
    """The teams left without a distinct person in a largest assignment of people to teams
    (Kuhn's augmenting paths: a person covers one team, a team needs one person)."""
    holder: dict[int, str] = {}  # person index -> team

    def assign(team: str, seen: set[int]) -> bool:
        for person, belongs in enumerate(members):
            if team in belongs and person not in seen:
                seen.add(person)
                if person not in holder or assign(holder[person], seen):
                    holder[person] = team
                    return True
        return False

    return tuple(team for team in teams if not assign(team, set()))


def _dedupe(ignored: list[tuple[Approval, str]]) -> list[tuple[Approval, str]]:
    """One line per person and reason (a reviewer who approved two gates is said once)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for approval, why in ignored:
        if (approval.who, why) not in seen:
            seen.add((approval.who, why))
            kept.append((approval, why))
    return kept


# The Deploy workflow waits on at most this many gates: the environment's own and, for an
# environment whose plans need two or more approvals, <env>-approval-2. More approvals than
# gates come from `invoke approve`.
WORKFLOW_GATES = 2


def gates(environment: str, required: int) -> tuple[str, ...]:
    """The GitHub environments that gate a Deploy run of an environment: its own (it holds
    the deploy role), then <env>-approval-2 where a plan needs two approvals or more."""
    count = min(max(required, 1), WORKFLOW_GATES)
    return (environment, *(f"{environment}-approval-{k}" for k in range(2, count + 1)))
