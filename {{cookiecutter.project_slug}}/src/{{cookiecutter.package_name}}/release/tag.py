"""`invoke tag`: certify a deployed commit with the next `vX.Y.Z` release tag.

A tag is a promise that this exact commit ran successfully in the release environment
(`[release] environment`, prod by default). So, before anything is created, the commit must
be the tip of (or behind) `origin/<release branch>`, checked out on that branch with a clean
tree, have a successful deploy record in that environment's ledger, and have green CI where
GitHub is configured (required when the environment's policy says ci_green_required). Dry
run by default: it shows the tag, the commit, the record it certifies and the release notes.
`--execute` creates the annotated tag (its message names the deploy record), pushes it to
origin, and creates a GitHub release with the notes when GITHUB_TOKEN is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ..config import Settings
from ..errors import GitHubError, Refusal
from .aws import caller
from .aws import connect as connect_aws
from .git import commits_between, git, read_state, succeeds
from .github import GitHub, check_commit_ci, connect
from .guardrails import check_clean
from .ledger import DeployRecord, ledger_of
from .versioning import PREFIX, Bump, Commit, NextVersion, latest, next_version

REMOTE = "origin"


@dataclass(frozen=True)
class TagRequest:
    bump: Bump | None = None  # None: from the commits (see versioning.py)
    execute: bool = False


@dataclass(frozen=True)
class TagPlan:
    next: NextVersion
    commit: str
    record: DeployRecord
    ledger_url: str
    commits: tuple[Commit, ...]

    @property
    def tag(self) -> str:
        return self.next.tag

    def notes(self) -> str:
        """Release notes: the commits since the previous release, newest first."""
        since = self.next.previous_tag or "the first commit"
        lines = [f"Changes since {since}:", ""]
        lines += [f"- {commit.sha[:7]} {commit.subject}" for commit in self.commits]
        return "\n".join(lines)

    def message(self) -> str:
        """The annotated tag's message: what it certifies (and who approved the plan that
        deploy ran), then the notes."""
        record = self.record
        approved = [
            f"Approved-By: {approval.get('who', '?')} ({approval.get('source', '?')})"
            for approval in record.approvals
        ]
        return "\n".join(
            [
                f"Release {self.tag}",
                "",
                f"Deploy-Record: {record.deploy_id}",
                f"Environment: {record.environment}",
                f"Model-SHA256: {record.model_sha256}",
                *([f"Plan: {record.plan['id']} ({record.plan['digest']})"] if record.plan else []),
                *approved,
                f"Ledger: {self.ledger_url}",
                "",
                self.notes(),
                "",
            ]
        )


def _check_branch(settings: Settings, ref: str | None) -> None:
    wanted = f"refs/heads/{settings.release.branch}"
    if ref != wanted:
        where = ref or "a detached HEAD"
        raise Refusal(
            f"releases are tagged on {settings.release.branch} only, not {where}; "
            f"git switch {settings.release.branch} and retry"
        )


def _check_pushed(root: Path, branch: str, commit: str) -> None:
    if not succeeds(root, "remote", "get-url", REMOTE):
        raise Refusal(
            f"this repository has no remote {REMOTE!r}; add it (git remote add {REMOTE} URL) "
            f"and push {branch}"
        )
    git(root, "fetch", "--quiet", "--tags", REMOTE, branch)
    if not succeeds(root, "merge-base", "--is-ancestor", commit, f"refs/remotes/{REMOTE}/{branch}"):
        raise Refusal(
            f"{commit[:7]} is not on {REMOTE}/{branch}; push it (git push {REMOTE} {branch}) "
            "so the tag names a commit everyone can see"
        )


def certified_record(records: list[DeployRecord], commit: str, environment: str) -> DeployRecord:
    """The newest successful deploy of `commit`, from the release environment's records."""
    for record in records:
        if record.commit == commit and record.succeeded:
            return record
    raise Refusal(
        f"{commit[:7]} has no successful deploy in {environment}, so there is nothing to "
        f"certify; deploy it first (invoke deploy --env {environment} --execute)"
    )


def plan_tag(
    settings: Settings,
    request: TagRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    github: GitHub | None = None,
) -> TagPlan:
    """Every check, cheapest first; reads only (git fetch aside). Refusals say why."""
    environment = settings.environment(settings.release.environment)
    state = read_state(root)
    _check_branch(settings, state.ref)
    check_clean(state)
    _check_pushed(root, settings.release.branch, state.commit)
    existing = git(root, "tag", "--list", "v*", "--points-at", state.commit).split()
    if existing:
        raise Refusal(f"{state.commit[:7]} is already released as {existing[0]}; nothing to tag")
    aws = connect_aws(environment)
    caller(aws)  # one quick call: unreachable or no credentials is one line, fast
    ledger = ledger_of(settings, environment, aws)
    record = certified_record(ledger.records(), state.commit, environment.name)
    check_commit_ci(settings, environment, github, state.commit)
    tags = git(root, "tag", "--list", "v*").split()
    previous = latest(tags)
    since = None if previous is None else f"{PREFIX}{previous}"
    commits = commits_between(root, since, state.commit)
    upcoming = next_version(tags, commits, request.bump)
    return TagPlan(
        next=upcoming,
        commit=state.commit,
        record=record,
        ledger_url=ledger.url(record.deploy_id),
        commits=tuple(commits),
    )


def show(out: Console, plan: TagPlan) -> None:
    upcoming = plan.next
    out.print(f"[bold]{plan.tag}[/bold]  ({upcoming.reason}; previous: {upcoming.previous_tag})")
    out.print(f"commit  {plan.commit}")
    out.print(
        f"certifies deploy {plan.record.deploy_id} to {plan.record.environment} "
        f"({plan.record.finished_at}, model {plan.record.model_sha256[:12]}…)"
    )
    out.print(plan.notes(), markup=False, highlight=False)


def tag(
    settings: Settings,
    request: TagRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> TagPlan:
    github = connect(settings, environ)
    plan = plan_tag(settings, request, root=root, environ=environ, github=github)
    show(out, plan)
    if not request.execute:
        out.print(f"dry run: nothing tagged; run again with --execute to push {plan.tag}")
        return plan
    git(root, "tag", "--annotate", plan.tag, "--message", plan.message(), plan.commit)
    try:
        git(root, "push", "--quiet", REMOTE, f"refs/tags/{plan.tag}")
    except Refusal:
        git(root, "tag", "--delete", plan.tag)
        raise
    out.print(f"pushed {plan.tag} to {REMOTE}")
    if github is None:
        out.print("no GITHUB_TOKEN: no GitHub release created (the tag carries the notes)")
        return plan
    try:
        url = github.create_release(plan.tag, plan.tag, plan.notes())
    except GitHubError as error:
        raise GitHubError(
            f"{plan.tag} is pushed, but creating its GitHub release failed: {error}; "
            "create the release from the tag on GitHub"
        ) from None
    out.print(f"GitHub release: {url}")
    return plan
