"""Finish a freshly baked project: drop what an answer switched off, start git, say what next.

Runs inside the new project folder. The decision table below is the only place that knows
which files belong to an optional feature.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

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


def next_steps(answers: Mapping[str, str]) -> str:
    slug = answers["project_slug"]
    return "\n".join(
        [
            f"Created {slug}/ ({answers['project_name']}). Next:",
            f"  cd {slug}",
            "  uv venv && uv pip install -e . --group dev && source .venv/bin/activate",
            "  nox                     # lint -> tests -> synth, as CI runs it",
            "  invoke --list           # the same steps as tasks, for people",
            "Read README.md for the pipeline and config/environments.toml for each environment.",
        ]
    )


def main(answers: Mapping[str, str], project: Path) -> int:
    remove_paths(project, paths_to_remove(answers))
    note = init_git(project)
    print(next_steps(answers))
    if note:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    # Rendered by cookiecutter: tojson escapes quotes, so the raw string holds any answer.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd()))
