"""Governance as code: the release branch's protection, the GitHub environments and the
variables that name each bootstrapped environment's roles, from config.

desired() reads what config/environments.toml asks for, current() what GitHub has, diff()
compares the two (pure), apply() makes GitHub match. `invoke governance` shows the
differences and applies them only with --execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from github.Team import Team
from rich.table import Table

from ..config import Settings
from ..errors import ConfigError
from ..naming import (
    DEPLOY_ROLE,
    DEPLOY_ROLE_VARIABLE,
    READ_ROLE,
    bootstrap_role_arn,
    read_role_variable,
)
from .approvals import gates
from .github import GitHub, ReviewerKind

# Deployments that are allowed by ref pattern; GitHub's other choices, as current() shows them.
CUSTOM_REFS = "custom refs"
PROTECTED_BRANCHES = "protected branches"
ANY_REF = "any ref"


@dataclass(frozen=True, order=True)
class Ref:
    """A deployment branch or tag policy: type "branch" or "tag", and a name pattern."""

    type: str
    name: str

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class BranchRules:
    required_checks: tuple[str, ...]
    require_up_to_date: bool  # GitHub's `strict`: branches must be up to date to merge
    required_approving_reviews: int
    dismiss_stale_reviews: bool
    require_code_owner_reviews: bool
    enforce_admins: bool
    allow_force_pushes: bool
    allow_deletions: bool


@dataclass(frozen=True)
class EnvironmentRules:
    reviewers: tuple[str, ...]  # lower-case logins and "org/team-slug"s, sorted
    wait_timer_minutes: int
    prevent_self_review: bool
    ref_policy: str  # CUSTOM_REFS, PROTECTED_BRANCHES or ANY_REF
    allowed_refs: tuple[Ref, ...]  # sorted; only with CUSTOM_REFS


@dataclass(frozen=True, order=True)
class Variable:
    """A GitHub Actions variable: the repository's (environment "") or an environment's."""

    environment: str
    name: str

    def __str__(self) -> str:
        where = f"environment {self.environment}" if self.environment else "repository"
        return f"{where}: variable {self.name}"


@dataclass(frozen=True)
class State:
    """Branch protection of one branch, some environments and variables; None: not on
    GitHub."""

    branch: str
    protection: BranchRules | None
    environments: Mapping[str, EnvironmentRules | None]
    variables: Mapping[Variable, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    setting: str
    current: str
    wanted: str


def _ref(pattern: str) -> Ref:
    """refs/heads/main -> branch main; refs/tags/v* -> tag v* (config allows only these)."""
    kind, _, name = pattern.removeprefix("refs/").partition("/")
    return Ref("tag" if kind == "tags" else "branch", name)


def desired(settings: Settings) -> State:
    """What the config asks for: the release branch protected, one environment per
    environment with an [approvals] table."""
    governance = settings.governance
    protection = BranchRules(
        required_checks=tuple(sorted(settings.github.required_checks)),
        require_up_to_date=True,
        required_approving_reviews=governance.required_approving_reviews,
        dismiss_stale_reviews=governance.dismiss_stale_reviews,
        require_code_owner_reviews=governance.require_code_owner_reviews,
        enforce_admins=governance.enforce_admins,
        allow_force_pushes=False,
        allow_deletions=False,
    )
    environments: dict[str, EnvironmentRules | None] = {}
    for env in settings.environments.values():
        if env.approvals is None:
            continue
        reviewers = tuple(sorted(reviewer.lower() for reviewer in env.approvals.reviewers))
        rules = EnvironmentRules(
            reviewers=reviewers,
            wait_timer_minutes=env.approvals.wait_timer_minutes,
            # GitHub keeps prevent_self_review on the reviewers rule: no reviewers, no rule.
            prevent_self_review=env.approvals.prevent_self_review and bool(reviewers),
            ref_policy=CUSTOM_REFS,
            allowed_refs=tuple(sorted({_ref(pattern) for pattern in env.policy.allowed_refs})),
        )
        # One gate per required approval: the environment's own, then <env>-approval-2 ..
        # (the Deploy workflow's second-approval job waits on it). The wait is served once.
        for number, gate in enumerate(gates(env.name, env.policy.approvals_required)):
            environments[gate] = rules if number == 0 else replace(rules, wait_timer_minutes=0)
    return State(settings.release.branch, protection, environments, role_variables(settings))


def role_variables(settings: Settings) -> dict[Variable, str | None]:
    """Where the workflows read each bootstrapped environment's roles (`invoke bootstrap`
    names them, so their ARNs follow from config): the deploy role in the GitHub
    environment's AWS_DEPLOY_ROLE_ARN, the read role in the repository's
    AWS_READ_ROLE_ARN_<ENV>. An environment without [approvals] has no GitHub environment,
    so only its read role is set."""
    variables: dict[Variable, str | None] = {}
    for env in settings.environments.values():
        if env.bootstrap is None:
            continue
        project = settings.project.name
        if env.approvals is not None:
            deploy = bootstrap_role_arn(project, env.name, env.account, DEPLOY_ROLE)
            variables[Variable(env.name, DEPLOY_ROLE_VARIABLE)] = deploy
        read = bootstrap_role_arn(project, env.name, env.account, READ_ROLE)
        variables[Variable("", read_role_variable(env.name))] = read
    return variables


def current(github: GitHub, wanted: State) -> State:
    """What GitHub has for the same branch and environments."""
    protection = github.branch_protection(wanted.branch)
    rules: BranchRules | None = None
    if protection is not None:
        checks = protection.required_status_checks
        reviews = protection.required_pull_request_reviews
        rules = BranchRules(
            required_checks=tuple(sorted(checks.contexts)) if checks else (),
            require_up_to_date=bool(checks and checks.strict),
            required_approving_reviews=reviews.required_approving_review_count if reviews else 0,
            dismiss_stale_reviews=bool(reviews and reviews.dismiss_stale_reviews),
            require_code_owner_reviews=bool(reviews and reviews.require_code_owner_reviews),
            enforce_admins=bool(protection.enforce_admins),
            allow_force_pushes=bool(protection.allow_force_pushes),
            allow_deletions=bool(protection.allow_deletions),
        )
    environments = {name: _environment(github, name) for name in wanted.environments}
    variables = {
        variable: github.variable(variable.name, variable.environment or None)
        if not variable.environment or environments.get(variable.environment) is not None
        else None
        for variable in wanted.variables
    }
    return State(wanted.branch, rules, environments, variables)


def _environment(github: GitHub, name: str) -> EnvironmentRules | None:
    environment = github.environment(name)
    if environment is None:
        return None
    reviewers: list[str] = []
    wait_timer = 0
    prevent_self_review = False
    for rule in environment.protection_rules or []:
        if rule.type == "wait_timer":
            wait_timer = rule.wait_timer
        elif rule.type == "required_reviewers":
            prevent_self_review = bool(rule.prevent_self_review)
            for reviewer in rule.reviewers:
                person = reviewer.reviewer
                if isinstance(person, Team):
                    # An environment's reviewer teams belong to the repository's organisation.
                    reviewers.append(f"{github.owner}/{person.slug}".lower())
                else:
                    reviewers.append(person.login.lower())
    policy = environment.deployment_branch_policy
    refs: tuple[Ref, ...] = ()
    if policy is None:
        kind = ANY_REF
    elif policy.custom_branch_policies:
        kind = CUSTOM_REFS
        refs = tuple(sorted({Ref(p.type, p.name) for p in github.deployment_policies(name)}))
    else:
        kind = PROTECTED_BRANCHES
    return EnvironmentRules(
        reviewers=tuple(sorted(reviewers)),
        wait_timer_minutes=wait_timer,
        prevent_self_review=prevent_self_review,
        ref_policy=kind,
        allowed_refs=refs,
    )


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def _compare(where: str, have: Any, want: Any, absent: str) -> list[Difference]:
    differences = []
    for each in fields(want):
        wanted = getattr(want, each.name)
        setting = f"{where}: {each.name.replace('_', ' ')}"
        if have is None:
            differences.append(Difference(setting, absent, _show(wanted)))
        elif getattr(have, each.name) != wanted:
            differences.append(Difference(setting, _show(getattr(have, each.name)), _show(wanted)))
    return differences


def diff(current: State, desired: State) -> list[Difference]:
    """Every setting where GitHub differs from the config, branch first, in config order."""
    differences: list[Difference] = []
    if desired.protection is not None:
        differences += _compare(
            f"branch {desired.branch}", current.protection, desired.protection, "not protected"
        )
    for name, wanted in desired.environments.items():
        if wanted is not None:
            have = current.environments.get(name)
            differences += _compare(f"environment {name}", have, wanted, "no environment")
    for variable, value in desired.variables.items():
        now = current.variables.get(variable)
        if value is not None and now != value:
            differences.append(Difference(str(variable), now or "not set", value))
    return differences


def _resolve_reviewers(github: GitHub, wanted: State) -> dict[str, list[tuple[ReviewerKind, int]]]:
    """Every reviewer's id, looked up before anything changes; an unknown one is refused."""
    ids: dict[str, tuple[ReviewerKind, int]] = {}
    resolved: dict[str, list[tuple[ReviewerKind, int]]] = {}
    for name, rules in wanted.environments.items():
        if rules is None:
            continue
        for reviewer in rules.reviewers:
            if reviewer in ids:
                continue
            org, _, slug = reviewer.partition("/")
            found = github.team_id(org, slug) if slug else github.user_id(reviewer)
            if found is None:
                what = f"a team of the {org} organisation" if slug else "a GitHub user"
                raise ConfigError(
                    f"environments.{name}.approvals.reviewers: {reviewer!r} is not {what}; "
                    "fix config/environments.toml (a login, or org/team-slug) or create it; "
                    "nothing was changed"
                )
            ids[reviewer] = ("Team" if slug else "User", found)
        resolved[name] = [ids[reviewer] for reviewer in rules.reviewers]
    return resolved


def apply(github: GitHub, wanted: State) -> None:
    """Make GitHub match: protect the branch, put each environment, sync its ref policies."""
    reviewers = _resolve_reviewers(github, wanted)
    if wanted.protection is not None:
        rules = wanted.protection
        github.protect_branch(
            wanted.branch,
            checks=rules.required_checks,
            required_approving_reviews=rules.required_approving_reviews,
            dismiss_stale_reviews=rules.dismiss_stale_reviews,
            require_code_owner_reviews=rules.require_code_owner_reviews,
            enforce_admins=rules.enforce_admins,
        )
    for name, env in wanted.environments.items():
        if env is None:
            continue
        github.put_environment(
            name,
            wait_timer_minutes=env.wait_timer_minutes,
            prevent_self_review=env.prevent_self_review,
            reviewers=reviewers[name],
        )
        existing = github.deployment_policies(name)
        for policy in existing:
            if Ref(policy.type, policy.name) not in env.allowed_refs:
                github.delete_deployment_policy(name, policy.id)
        present = {Ref(policy.type, policy.name) for policy in existing}
        for ref in env.allowed_refs:
            if ref not in present:
                github.add_deployment_policy(name, ref.name, ref.type)
    for variable, value in wanted.variables.items():  # after the environments they live in
        if value is None:
            continue
        have = github.variable(variable.name, variable.environment or None)
        if have != value:
            github.set_variable(
                variable.name, value, variable.environment or None, exists=have is not None
            )


def difference_table(differences: list[Difference], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("setting", no_wrap=True)
    table.add_column("on GitHub", style="red")
    table.add_column("in config", style="green")
    for difference in differences:
        table.add_row(difference.setting, difference.current, difference.wanted)
    return table
