"""`invoke tag` against a moto ledger and a bare git origin: the certified commit gets an
annotated, pushed tag; every refusal leaves no tag locally or on origin."""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import Refusal
from {{ cookiecutter.package_name }}.release.tag import TagPlan, TagRequest, tag
from {{ cookiecutter.package_name }}.release.versioning import Bump

from .test_release_deploy import commit, retrained, run


@pytest.fixture
def release_settings(local_settings: Settings) -> Settings:
    """Releases certified by deploys to the local environment (prod's rule, local's AWS)."""
    return replace(local_settings, release=replace(local_settings.release, environment="local"))


def git(where: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=where, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def tags_of(where: Path) -> list[str]:
    return git(where, "tag", "--list").split()


def run_tag(
    settings: Settings, repo: Path, *, execute: bool = False, bump: Bump | None = None
) -> tuple[TagPlan, str]:
    output = io.StringIO()
    plan = tag(
        settings,
        TagRequest(bump=bump, execute=execute),
        root=repo,
        environ={},
        out=Console(file=output, width=200),
    )
    return plan, output.getvalue()


def refused_tag(settings: Settings, repo: Path, origin: Path) -> str:
    """A tag that must be refused: one line, and no tag anywhere afterwards."""
    before = (tags_of(repo), tags_of(origin))
    with pytest.raises(Refusal) as raised:
        run_tag(settings, repo, execute=True)
    assert (tags_of(repo), tags_of(origin)) == before
    message = str(raised.value)
    assert "\n" not in message
    return message


def deployed(settings: Settings, repo: Path) -> str:
    outcome, _ = run(settings, repo, execute=True)
    assert outcome.record is not None
    return outcome.record.deploy_id


def test_dry_run_shows_the_tag_and_creates_nothing(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deploy_id = deployed(release_settings, repo)
    plan, output = run_tag(release_settings, repo)
    assert plan.tag == "v0.1.0"
    assert plan.record.deploy_id == deploy_id
    head = git(repo, "rev-parse", "HEAD")
    for shown in ("v0.1.0", "first release", head, deploy_id, "Changes since the first commit"):
        assert shown in output
    assert "dry run: nothing tagged" in output
    assert tags_of(repo) == [] and tags_of(origin) == []


def test_execute_pushes_an_annotated_tag_naming_the_deploy_record(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deploy_id = deployed(release_settings, repo)
    plan, output = run_tag(release_settings, repo, execute=True)
    assert "pushed v0.1.0 to origin" in output
    assert "no GITHUB_TOKEN: no GitHub release created" in output
    assert tags_of(origin) == ["v0.1.0"]
    assert git(origin, "cat-file", "-t", "v0.1.0") == "tag"  # annotated, not lightweight
    assert git(origin, "rev-parse", "v0.1.0^{}") == git(repo, "rev-parse", "HEAD")
    message = git(origin, "tag", "--list", "--format=%(contents)", "v0.1.0")
    assert f"Deploy-Record: {deploy_id}" in message
    assert f"Model-SHA256: {plan.record.model_sha256}" in message
    assert "Environment: local" in message


def test_second_release_bumps_by_its_commits_and_lists_only_them(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deployed(release_settings, repo)
    run_tag(release_settings, repo, execute=True)
    commit(repo, "notes.txt", "fresher data\n")
    git(repo, "commit", "-q", "--amend", "-m", "feat(model): retrain on fresher data")
    git(repo, "push", "-q", "origin", "main")
    outcome, _ = run(release_settings, repo, execute=True, package=retrained)
    assert outcome.record is not None
    plan, output = run_tag(release_settings, repo, execute=True)
    assert plan.tag == "v0.2.0"
    assert "feature" in plan.next.reason and plan.next.previous_tag == "v0.1.0"
    assert [c.subject for c in plan.commits] == ["feat(model): retrain on fresher data"]
    assert "Changes since v0.1.0:" in output
    assert sorted(tags_of(origin)) == ["v0.1.0", "v0.2.0"]


def test_explicit_bump(release_settings: Settings, repo: Path, origin: Path) -> None:
    deployed(release_settings, repo)
    git(repo, "tag", "-a", "v1.4.0", "-m", "older release", "HEAD")
    commit(repo, "fix.txt", "fix\n")
    git(repo, "push", "-q", "origin", "main")
    deployed(release_settings, repo)  # nothing deployed changes: verified and recorded
    plan, _ = run_tag(release_settings, repo, bump=Bump.MAJOR)
    assert plan.tag == "v2.0.0"


def test_refused_off_the_release_branch(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    git(repo, "switch", "-q", "-c", "feature")
    message = refused_tag(release_settings, repo, origin)
    assert message == (
        "releases are tagged on main only, not refs/heads/feature; git switch main and retry"
    )


def test_refused_with_a_dirty_tree(release_settings: Settings, repo: Path, origin: Path) -> None:
    (repo / "README.md").write_text("edited\n", encoding="utf-8")
    assert "uncommitted changes (M README.md)" in refused_tag(release_settings, repo, origin)


def test_refused_when_head_is_not_pushed(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    commit(repo, "local-only.txt", "x\n")
    head = git(repo, "rev-parse", "--short=7", "HEAD")
    assert refused_tag(release_settings, repo, origin) == (
        f"{head} is not on origin/main; push it (git push origin main) so the tag names a "
        "commit everyone can see"
    )


def test_refused_without_an_origin(release_settings: Settings, repo: Path) -> None:
    with pytest.raises(Refusal, match="no remote 'origin'; add it"):
        run_tag(release_settings, repo, execute=True)
    assert tags_of(repo) == []


def test_refused_without_a_successful_deploy(
    aws: str, release_settings: Settings, repo: Path, origin: Path
) -> None:
    run(release_settings, repo)  # a dry run records nothing
    head = git(repo, "rev-parse", "--short=7", "HEAD")
    assert refused_tag(release_settings, repo, origin) == (
        f"{head} has no successful deploy in local, so there is nothing to certify; deploy "
        "it first (invoke deploy --env local --execute)"
    )


def test_refused_when_only_an_older_commit_deployed(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deployed(release_settings, repo)
    commit(repo, "later.txt", "x\n")
    git(repo, "push", "-q", "origin", "main")
    assert "has no successful deploy in local" in refused_tag(release_settings, repo, origin)


def test_refused_when_already_released(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deployed(release_settings, repo)
    run_tag(release_settings, repo, execute=True)
    message = refused_tag(release_settings, repo, origin)
    assert message.endswith("is already released as v0.1.0; nothing to tag")


def test_rejected_push_leaves_no_local_tag(
    release_settings: Settings, repo: Path, origin: Path
) -> None:
    deployed(release_settings, repo)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    message = refused_tag(release_settings, repo, origin)
    assert message.startswith("git push --quiet origin refs/tags/v0.1.0:")
