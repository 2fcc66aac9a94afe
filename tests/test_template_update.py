"""A baked project follows its template: `.cruft.json` records the template, commit and
answers; `cruft update` brings a later template commit in; the project still passes.

The template is this repository's working tree (uncommitted edits included, so the test
checks the template as it is being changed) copied into a temp git repository and
committed; every commit id the test expects comes from that repository, so nothing depends
on this checkout's history. The baked project's own checks run in the shared environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bakery.bake import TEMPLATE_ROOT
from bakery.checks import CHECKS, run_check

from .conftest import default_answers

PROJECT_DIR = "{{cookiecutter.project_slug}}"
README_LINE = "Template updates arrive with `cruft update`."
LOCAL_LINE = "A line this team added to its README."
# A changed default in the template's config and a new file that reads it: both must arrive.
TIMEOUT_BEFORE = "timeout_seconds = 10\n"
TIMEOUT_AFTER = "timeout_seconds = 15\n"
NEW_TEST = "tests/test_from_template_update.py"
NEW_TEST_TEXT = '''"""Arrived with a template update: the new default is what the config loads."""

from {{ cookiecutter.package_name }} import config

from .conftest import PROJECT_ROOT


def test_github_timeout_is_the_new_default() -> None:
    assert config.load(PROJECT_ROOT).github.timeout_seconds == 15
'''


def git(where: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def run(where: Path, *argv: str, python: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m ARGV` in `where` (the baked project's src on the path), not checked."""
    env = {**os.environ, "PYTHONPATH": str(where / "src")}
    return subprocess.run(
        [str(python or sys.executable), "-m", *argv],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def copy_working_tree(target: Path) -> None:
    """The template's tracked and untracked-but-not-ignored files, as they are on disk."""
    listed = git(TEMPLATE_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def commit_all(where: Path, message: str) -> str:
    git(where, "add", "-A")
    git(where, "commit", "--quiet", "-m", message)
    return git(where, "rev-parse", "HEAD")


def cookiecutter_bake(template: Path, output_dir: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(template), no_input=True, output_dir=str(output_dir)))


def cruft_state(project: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    return state


def change_template(template: Path) -> str:
    """The template's next commit: a README line, a changed config default, a new file."""
    project = template / PROJECT_DIR
    readme = project / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{README_LINE}\n", encoding="utf-8")
    environments = project / "config" / "environments.toml"
    text = environments.read_text(encoding="utf-8")
    assert text.count(TIMEOUT_BEFORE) == 1
    environments.write_text(text.replace(TIMEOUT_BEFORE, TIMEOUT_AFTER), encoding="utf-8")
    (project / NEW_TEST).write_text(NEW_TEST_TEXT, encoding="utf-8")
    return commit_all(template, "feat: a new default, a new test, a README line")


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Bake from commit A, commit the project (and a local edit), move the template to
    commit B, `cruft update`; what each step saw, for the tests below."""
    root = tmp_path_factory.mktemp("template-update")
    template = root / "template"
    template.mkdir()
    copy_working_tree(template)
    git(template, "init", "--quiet", "-b", "main")
    first = commit_all(template, "the template")

    project = cookiecutter_bake(template, root / "baked")
    baked_state = cruft_state(project)
    created = root / "created"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cruft",
            "create",
            "--no-input",
            "--output-dir",
            str(created),
            str(template),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    created_state = cruft_state(created / project.name)

    readme = project / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    readme.write_text("".join([*lines[:3], f"{LOCAL_LINE}\n", *lines[3:]]), encoding="utf-8")
    commit_all(project, "the baked project, with a local edit")
    check_before = run(project, "cruft", "check")

    second = change_template(template)
    check_behind = run(project, "cruft", "check")
    update = run(project, "cruft", "update", "--skip-apply-ask")
    check_after = run(project, "cruft", "check")
    return {
        "template": template,
        "project": project,
        "commits": (first, second),
        "baked_state": baked_state,
        "created_state": created_state,
        "check_before": check_before,
        "check_behind": check_behind,
        "update": update,
        "check_after": check_after,
    }


def test_the_bake_records_the_template_commit_and_answers(journey: dict[str, Any]) -> None:
    state = journey["baked_state"]
    first, _ = journey["commits"]
    template = str(journey["template"])
    assert (state["template"], state["commit"], state["checkout"]) == (template, first, None)
    assert state["directory"] is None
    answers = state["context"]["cookiecutter"]
    assert answers["_template"] == template
    assert answers["_commit"] == first
    # The answers, not where this run happened to render from and to.
    assert not {"_output_dir", "_repo_dir", "_checkout"} & set(answers)
    expected = {key: value for key, value in default_answers().items() if key != "_template"}
    assert expected.items() <= answers.items()


def test_the_record_is_what_cruft_create_writes(journey: dict[str, Any]) -> None:
    """cruft reads it as its own: same keys, same values (key order aside)."""
    assert journey["baked_state"] == journey["created_state"]


def test_cruft_check_sees_a_new_template_commit(journey: dict[str, Any]) -> None:
    before, behind = journey["check_before"], journey["check_behind"]
    assert before.returncode == 0, before.stdout + before.stderr
    assert "up to date" in before.stdout
    assert behind.returncode == 1
    assert "out of date" in behind.stdout


def test_cruft_update_brings_the_change_and_keeps_local_edits(journey: dict[str, Any]) -> None:
    update, project = journey["update"], journey["project"]
    assert update.returncode == 0, update.stdout + update.stderr
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert README_LINE in readme
    assert LOCAL_LINE in readme
    environments = (project / "config" / "environments.toml").read_text(encoding="utf-8")
    assert TIMEOUT_AFTER in environments and TIMEOUT_BEFORE not in environments
    assert (project / NEW_TEST).is_file()
    assert "{{" not in (project / NEW_TEST).read_text(encoding="utf-8")
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in readme


def test_the_record_moves_to_the_new_commit(journey: dict[str, Any]) -> None:
    _, second = journey["commits"]
    state = cruft_state(journey["project"])
    assert state["commit"] == second
    assert state["context"]["cookiecutter"]["_commit"] == second
    after = journey["check_after"]
    assert after.returncode == 0 and "up to date" in after.stdout


def test_the_update_is_a_reviewable_change_on_a_clean_tree(journey: dict[str, Any]) -> None:
    project = journey["project"]
    git(project, "add", "-A")
    changed = git(project, "diff", "--cached", "--name-only").splitlines()
    assert sorted(changed) == [".cruft.json", "README.md", "config/environments.toml", NEW_TEST]


# The update changes the README, config/environments.toml and adds a test; everything else is
# the default bake, whose own suite the demo runs (test_pipeline.py), and the README gains a
# line of prose, no command. So: the whole project's lint, and the tests that read what
# changed (the new test and the config's).
UPDATED_TESTS = {"pytest": [NEW_TEST, "tests/test_config.py"]}


@pytest.mark.parametrize("check", list(CHECKS))
def test_the_updated_project_passes_its_checks(
    journey: dict[str, Any], shared_python: Path, check: str
) -> None:
    result = run_check(journey["project"], shared_python, check, UPDATED_TESTS.get(check, []))
    assert result.ok, f"{check} failed after the update:\n{result.output[-4000:]}"


def test_the_check_task_is_informational_unless_strict(
    journey: dict[str, Any], shared_python: Path, tmp_path: Path
) -> None:
    """The project's own front door on a real record: behind, exit 0; --strict, exit 1."""
    project, template = journey["project"], journey["template"]
    change = template / PROJECT_DIR / "RELEASE.md"
    change.write_text(change.read_text(encoding="utf-8") + "\nOne more.\n", encoding="utf-8")
    commit_all(template, "docs: one more line")
    relaxed = run(project, "invoke", "template-check", python=shared_python)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert relaxed.stdout.strip().splitlines()[-1].startswith("template: out of date with ")
    strict = run(project, "invoke", "template-check", "--strict", python=shared_python)
    assert strict.returncode == 1
    assert strict.stderr.strip().startswith("template: out of date with ")
    assert len(strict.stderr.strip().splitlines()) == 1


def test_a_template_that_is_not_a_git_checkout_records_nothing(
    shared_python: Path, tmp_path: Path
) -> None:
    """No commit, no record: the bake says how to link it, and the check refuses in one line."""
    template = tmp_path / "template"
    template.mkdir()
    copy_working_tree(template)
    project = cookiecutter_bake(template, tmp_path / "baked")
    assert not (project / ".cruft.json").exists()
    before = sorted(path.relative_to(project) for path in project.rglob("*"))
    result = run(project, "invoke", "template-check", python=shared_python)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cruft link" in result.stderr
    assert sorted(path.relative_to(project) for path in project.rglob("*")) == before
