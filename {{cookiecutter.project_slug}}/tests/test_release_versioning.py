"""The next release version: semver parsing of tags and the Conventional Commits bump rule."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.release.versioning import (
    Bump,
    Commit,
    latest,
    next_version,
    parse_tag,
)


def commits(*subjects: str, body: str = "") -> list[Commit]:
    return [Commit(sha=f"{n:040x}", subject=s, body=body) for n, s in enumerate(subjects)]


def test_first_release_is_v0_1_0_whatever_the_commits() -> None:
    upcoming = next_version([], commits("feat!: everything"))
    assert (upcoming.tag, upcoming.previous_tag, upcoming.bump) == ("v0.1.0", None, None)


@pytest.mark.parametrize(
    ("previous", "subjects", "body", "expected"),
    [
        ("v0.1.0", ["fix: off by one", "docs: typo"], "", "v0.1.1"),
        ("v0.1.0", ["chore: deps", "feat(model): retrain on fresh data"], "", "v0.2.0"),
        ("v0.3.2", ["feat!: new payload"], "", "v0.4.0"),  # 0.x: breaking bumps MINOR
        ("v1.3.2", ["feat!: new payload"], "", "v2.0.0"),
        ("v1.3.2", ["fix(api)!: drop CSV"], "", "v2.0.0"),
        ("v1.3.2", ["refactor: inputs"], "BREAKING CHANGE: rows must be objects", "v2.0.0"),
        ("v1.3.2", ["Update README", "Merge pull request #4"], "", "v1.3.3"),
        ("v1.3.2", ["featuring: not a type"], "", "v1.3.3"),
    ],
)
def test_bump_rule(previous: str, subjects: list[str], body: str, expected: str) -> None:
    assert next_version([previous], commits(*subjects, body=body)).tag == expected


@pytest.mark.parametrize(
    ("bump", "expected"), [(Bump.PATCH, "v0.4.1"), (Bump.MINOR, "v0.5.0"), (Bump.MAJOR, "v1.0.0")]
)
def test_explicit_bump_wins(bump: Bump, expected: str) -> None:
    upcoming = next_version(["v0.4.0"], commits("feat: x"), bump)
    assert upcoming.tag == expected
    assert upcoming.reason == f"--bump {bump}"


def test_latest_compares_versions_not_strings_and_ignores_other_tags() -> None:
    tags = ["v0.9.0", "v0.10.0", "v0.11.0-rc.1", "release-7", "v1", "vx.y.z", "0.12.0"]
    assert str(latest(tags)) == "0.10.0"
    assert parse_tag("v0.11.0-rc.1") is None
    assert parse_tag("v2.3.4") is not None
    assert latest(["nightly"]) is None
