"""Release versions: `vMAJOR.MINOR.PATCH` tags, and the rule that picks the next one.

The rule, applied to the commits since the latest release tag (Conventional Commits):
- a breaking change (`type!:` in the subject, or a `BREAKING CHANGE:` footer) bumps MAJOR,
  except before 1.0.0, where it bumps MINOR (0.x promises no compatibility);
- otherwise a `feat` commit bumps MINOR;
- otherwise (fixes, chores, docs, anything else) PATCH.
`--bump` overrides the rule. The first release is v0.1.0. Versions are parsed by `semver`;
tags that are not plain `vX.Y.Z` (pre-releases, other schemes) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from semver import Version

FIRST = Version(0, 1, 0)
PREFIX = "v"

# "type(scope)!: subject": only the type and the "!" matter here.
_CONVENTIONAL = re.compile(r"^(?P<type>[A-Za-z]+)(\([^)]*\))?(?P<breaking>!)?:")
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE:", re.MULTILINE)


class Bump(StrEnum):
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    body: str = ""


@dataclass(frozen=True)
class NextVersion:
    previous: Version | None
    version: Version
    bump: Bump | None  # None for the first release
    reason: str

    @property
    def tag(self) -> str:
        return f"{PREFIX}{self.version}"

    @property
    def previous_tag(self) -> str | None:
        return None if self.previous is None else f"{PREFIX}{self.previous}"


def parse_tag(tag: str) -> Version | None:
    """The version of a `vX.Y.Z` tag; None for any other tag."""
    if not tag.startswith(PREFIX) or not Version.is_valid(tag[len(PREFIX) :]):
        return None
    version = Version.parse(tag[len(PREFIX) :])
    if version.prerelease or version.build:
        return None
    return version


def latest(tags: Iterable[str]) -> Version | None:
    versions = [version for tag in tags if (version := parse_tag(tag)) is not None]
    return max(versions, default=None)


def bump_of(commits: Sequence[Commit]) -> tuple[Bump, str]:
    """The bump the commits call for, and which commit decided it."""
    found: tuple[Bump, str] = (Bump.PATCH, "no feat or breaking commit since the last release")
    for commit in commits:
        match = _CONVENTIONAL.match(commit.subject)
        if (match and match["breaking"]) or _BREAKING_FOOTER.search(commit.body):
            return Bump.MAJOR, f"breaking change in {commit.sha[:7]} {commit.subject!r}"
        if match and match["type"].lower() == "feat" and found[0] is Bump.PATCH:
            found = (Bump.MINOR, f"feature {commit.sha[:7]} {commit.subject!r}")
    return found


def next_version(
    tags: Iterable[str], commits: Sequence[Commit], requested: Bump | None = None
) -> NextVersion:
    previous = latest(tags)
    if previous is None:
        return NextVersion(None, FIRST, None, "first release")
    if requested is not None:
        bump, reason = requested, f"--bump {requested}"
    else:
        bump, reason = bump_of(commits)
        if bump is Bump.MAJOR and previous.major == 0:
            bump, reason = Bump.MINOR, f"{reason} (before 1.0.0 that bumps MINOR)"
    version = {
        Bump.MAJOR: previous.bump_major,
        Bump.MINOR: previous.bump_minor,
        Bump.PATCH: previous.bump_patch,
    }[bump]()
    return NextVersion(previous, version, bump, reason)
