"""Finish a freshly baked project: drop what an answer switched off, record the template it
came from, lock its dependencies (uv.lock), start git with the bake as its first commit, say
what next.

Runs inside the new project folder. The decision table below is the only place that knows
which files belong to an optional feature. The template record is `.cruft.json` in cruft's
own format, so `cruft check` and `cruft update` work on a project baked by plain cookiecutter.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# answer -> value that switches the feature off -> paths (relative, {package} filled in)
REMOVALS: dict[str, dict[str, tuple[str, ...]]] = {
    "include_model_monitor": {
        "n": (
            "src/{package}/infra/monitoring.py",
            "tests/test_monitoring_stack.py",
        ),
    },
}


def paths_to_remove(answers: Mapping[str, str]) -> list[str]:
    """Relative paths that the answers switched off, in table order."""
    removed: list[str] = []
    for question, by_value in REMOVALS.items():
        for path in by_value.get(answers[question], ()):
            removed.append(path.format(package=answers["package_name"]))
    return removed


def remove_paths(project: Path, relative: list[str]) -> None:
    for rel in relative:
        target = project / rel
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


CRUFT_FILE = ".cruft.json"
# What cookiecutter adds for this one run (where it rendered from and to): not answers, and
# local paths that mean nothing on another machine. cruft records none of them.
RUN_KEYS = ("_output_dir", "_repo_dir", "_checkout")


@dataclass(frozen=True)
class TemplateSource:
    """Where the template came from, as cruft clones it again: a git URL or absolute path,
    the commit, the template's folder inside the repository, and whether the working tree
    held changes that commit does not have."""

    url: str
    commit: str
    directory: str | None
    dirty: bool


def git_output(cwd: Path, *args: str) -> str | None:
    """`git ARGS` in cwd, stripped stdout; None when git is missing or the command fails."""
    if shutil.which("git") is None or not cwd.is_dir():
        return None
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def absolute(path: str, launched_from: Path) -> Path:
    """A path as cookiecutter was given it, made absolute against the folder it ran in."""
    candidate = Path(path).expanduser()
    return (candidate if candidate.is_absolute() else launched_from / candidate).resolve()


def template_source(answers: Mapping[str, Any], launched_from: Path) -> TemplateSource | str:
    """The template's git source, or a one-line reason why cruft cannot use it.

    A local template is recorded by the absolute path of its repository (as `cruft create`
    does); a remote one by the URL cookiecutter cloned it from (abbreviations like `gh:`
    expanded). A template that is not a git checkout (a zip, a copied folder) has no
    commit to compare against, so nothing is recorded.
    """
    template = str(answers.get("_template", ""))
    local = bool(template) and absolute(template, launched_from).is_dir()
    # The folder holding cookiecutter.json: the clone for a URL, the path (and any
    # --directory within it) for a local template.
    repo_dir = absolute(str(answers.get("_repo_dir", "")), launched_from)
    commit = git_output(repo_dir, "rev-parse", "--verify", "HEAD")
    top = git_output(repo_dir, "rev-parse", "--show-toplevel")
    prefix = git_output(repo_dir, "rev-parse", "--show-prefix")
    if commit is None or top is None or prefix is None:
        return f"the template {template} is not a git checkout with a commit"
    if git_output(repo_dir, "ls-files", "--error-unmatch", "cookiecutter.json") is None:
        return f"the template {template} is not committed to its git repository"
    url = top if local else git_output(repo_dir, "remote", "get-url", "origin")
    if not url:
        return f"the template {template} was cloned without an origin URL"
    status = git_output(repo_dir, "status", "--porcelain", "--", ".")
    return TemplateSource(
        url=url, commit=commit, directory=prefix.rstrip("/") or None, dirty=bool(status)
    )


def cruft_state(answers: Mapping[str, Any], source: TemplateSource) -> dict[str, Any]:
    """What `cruft create` writes for the same template, commit and answers."""
    context = {key: value for key, value in answers.items() if key not in RUN_KEYS}
    context["_template"] = source.url
    context["_commit"] = source.commit
    return {
        "template": source.url,
        "commit": source.commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": source.directory,
    }


def record_template(project: Path, answers: Mapping[str, Any], launched_from: Path) -> str:
    """Write .cruft.json; returns a note for the user when it is missing or inexact."""
    if "_commit" in answers:
        return ""  # cruft itself is rendering (create, update): it writes its own record
    source = template_source(answers, launched_from)
    if isinstance(source, str):
        return (
            f"{source}, so no {CRUFT_FILE} was written; link this project to the template's "
            "git repository with `cruft link <template-git-url>` to get template updates."
        )
    text = json.dumps(cruft_state(answers, source), ensure_ascii=False, indent=2)
    (project / CRUFT_FILE).write_text(text + "\n", encoding="utf-8")
    if source.dirty:
        return (
            f"the template had uncommitted changes; {CRUFT_FILE} records its last commit "
            f"{source.commit[:12]}, so `cruft update` will treat those changes as yours."
        )
    return ""


def init_git(project: Path) -> str:
    """`git init -b main`; returns a note for the user when git is not usable."""
    if shutil.which("git") is None:
        return "git was not found: run `git init -b main` yourself once it is installed."
    result = subprocess.run(
        ["git", "init", "--quiet", "-b", "main"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return f"git init failed ({result.stderr.strip()}); run `git init -b main` yourself."
    return ""


LOCK_FILE = "uv.lock"
LOCK_SECONDS = 600


def find_uv() -> str | None:
    """uv as nox finds it: $UV, else on PATH, else the `uv` Python package's binary."""
    named = os.environ.get("UV")
    if named:
        return shutil.which(named)
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found, unused-ignore]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return None


def lock_dependencies(project: Path, answers: Mapping[str, Any]) -> str:
    """Write uv.lock: the exact versions every nox session and workflow of the project
    installs (`uv sync --locked`), resolved for this bake's pyproject.toml; a note saying how
    to lock when that cannot happen here (no uv, no registry, no Python of that version)."""
    if "_commit" in answers:
        return ""  # cruft is rendering to diff templates: a project keeps its own lock
    how = f"run `uv lock` in {answers['project_slug']}/ and commit {LOCK_FILE}"
    uv = find_uv()
    if uv is None:
        return (
            f"{LOCK_FILE} was not written: uv is not installed (pipx install uv); then {how}: "
            "nox and CI install only from a current lock"
        )
    try:
        result = subprocess.run(
            [uv, "lock", "--quiet", "--no-progress"],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            timeout=LOCK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"{LOCK_FILE} was not written: uv lock took over {LOCK_SECONDS} s; {how}"
    if result.returncode != 0:
        said = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        why = " / ".join(said[:2])[:300] or f"exit {result.returncode}"
        return (
            f"{LOCK_FILE} was not written: uv lock failed ({why}); {how} (nox and CI install "
            "only from a current lock)"
        )
    return ""


BAKE_COMMIT = "chore: bake from the cookiecutter-sagemaker-service template"


def commit_bake(project: Path) -> str:
    """The bake as the first commit on main (a deploy refuses a tree with no commit); a note
    saying what to run when git has no identity to commit with."""
    if git_output(project, "add", "-A") is None:
        return "git could not stage the bake; commit it yourself: git add -A && git commit"
    if git_output(project, "commit", "--quiet", "-m", BAKE_COMMIT) is None:
        return (
            "the bake is not committed: git needs user.name and user.email (git config "
            "--global user.email you@example.com), then: git add -A && git commit -m "
            f'"{BAKE_COMMIT}"'
        )
    return ""


def next_steps(answers: Mapping[str, str]) -> str:
    slug = answers["project_slug"]
    return "\n".join(
        [
            f"Created {slug}/ ({answers['project_name']}). Next:",
            f"  cd {slug}",
            "  uv sync --locked && source .venv/bin/activate   # exactly what uv.lock pins",
            "  nox                     # lint -> tests -> synth, as CI runs it",
            "  invoke --list           # the same steps as tasks, for people",
            "Read README.md for the pipeline and config/environments.toml for each environment.",
        ]
    )


def launch_folder(project: Path) -> Path:
    """Where cookiecutter was started, for a template given as a relative path: hooks run in
    the project folder, but the shell's PWD is inherited unchanged."""
    pwd = os.environ.get("PWD", "")
    return Path(pwd) if pwd and Path(pwd).is_absolute() else project.parent


def main(answers: Mapping[str, Any], project: Path) -> int:
    remove_paths(project, paths_to_remove(answers))
    notes = [
        record_template(project, answers, launch_folder(project)),
        lock_dependencies(project, answers),
        init_git(project),
    ]
    if not notes[-1]:  # git is there and the repository exists
        notes.append(commit_bake(project))
    print(next_steps(answers))
    for note in notes:
        if note:
            print(f"note: {note}")
    return 0


if __name__ == "__main__":
    # Rendered by cookiecutter: tojson escapes quotes, so the raw string holds any answer.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd()))
