"""What git says about the working tree: the commit, the ref it is on, and whether it is clean."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import Refusal
from ..tools import last_line
from .versioning import Commit


@dataclass(frozen=True)
class GitState:
    commit: str
    ref: str | None  # refs/heads/<branch> or refs/tags/<tag>; None on a bare detached HEAD
    dirty: tuple[str, ...]  # `git status --porcelain` lines; empty when clean


def git(root: Path, *args: str) -> str:
    """Run git in root and return its stdout; a failure is a one-line Refusal."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise Refusal("git is not installed; install git and retry") from None
    if result.returncode != 0:
        detail = last_line(result.stderr, "failed")
        raise Refusal(f"git {' '.join(args)}: {detail}")
    return result.stdout.strip()


def succeeds(root: Path, *args: str) -> bool:
    """Whether git exits 0: for yes/no questions such as `merge-base --is-ancestor`."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    return result.returncode == 0


def commits_between(root: Path, since: str | None, until: str) -> list[Commit]:
    """The commits after `since` (a tag; None: from the first) up to `until`, newest first."""
    span = until if since is None else f"{since}..{until}"
    # -z ends each commit with NUL; inside one, line 1 is the sha, line 2 the subject.
    text = git(root, "log", "-z", "--format=%H%n%s%n%b", span)
    commits = []
    for entry in text.split("\0"):
        if entry.strip():
            sha, subject, *body = entry.strip("\n").split("\n")
            commits.append(Commit(sha=sha, subject=subject, body="\n".join(body).strip()))
    return commits


def current_ref(root: Path) -> str | None:
    """The branch, else a release tag at HEAD; CI checkouts are detached, so GITHUB_REF wins."""
    if os.environ.get("GITHUB_REF"):
        return os.environ["GITHUB_REF"]
    try:
        return git(root, "symbolic-ref", "-q", "HEAD")
    except Refusal:
        tags = git(root, "tag", "--points-at", "HEAD", "--sort=-v:refname").splitlines()
        return f"refs/tags/{tags[0]}" if tags else None


def read_state(root: Path) -> GitState:
    try:
        commit = git(root, "rev-parse", "--verify", "HEAD^{commit}")
    except Refusal:
        raise Refusal(
            f"{root} has no commit to deploy; commit your work first (git commit)"
        ) from None
    dirty = tuple(git(root, "status", "--porcelain", "--untracked-files=normal").splitlines())
    return GitState(commit=commit, ref=current_ref(root), dirty=dirty)
