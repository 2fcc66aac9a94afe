"""template_update and `invoke template-check`: cruft's check against a real (tiny) template
repository in a temp folder, and the one line and exit code people and CI see."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

import tasks
from {{ cookiecutter.package_name }}.errors import TemplateError
from {{ cookiecutter.package_name }}.template_update import (
    CRUFT_FILE,
    State,
    TemplateRecord,
    TemplateStatus,
    check_template,
    read_record,
)

IDENTITY = ("-c", "user.name=Tests", "-c", "user.email=tests@example.com")
# The project folder of a cookiecutter template (spelt so that this file is not rendered).
PROJECT_DIR = "{" * 2 + "cookiecutter.project_slug" + "}" * 2


def git(where: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *IDENTITY, *args], cwd=where, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def make_template(root: Path) -> str:
    """A one-file cookiecutter template in a git repository; returns its commit."""
    (root / PROJECT_DIR).mkdir(parents=True)
    (root / "cookiecutter.json").write_text('{"project_slug": "demo"}\n', encoding="utf-8")
    (root / PROJECT_DIR / "README.md").write_text("# demo\n", encoding="utf-8")
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "template")
    return git(root, "rev-parse", "HEAD")


def write_record(project: Path, template: str, commit: str) -> None:
    project.mkdir(parents=True, exist_ok=True)
    state = {
        "template": template,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": {"project_slug": "demo", "_template": template}},
        "directory": None,
    }
    (project / CRUFT_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """(template repository, project whose .cruft.json records its latest commit)."""
    template, project = tmp_path / "template", tmp_path / "project"
    write_record(project, str(template), make_template(template))
    return template, project


def test_a_project_at_the_latest_commit_is_up_to_date(linked: tuple[Path, Path]) -> None:
    template, project = linked
    status = check_template(project)
    assert status.state is State.CURRENT
    assert status.line.startswith(f"template: up to date with {template}")
    assert status.exit_code(strict=True) == 0


def test_a_new_template_commit_makes_it_out_of_date(linked: tuple[Path, Path]) -> None:
    template, project = linked
    readme = template / PROJECT_DIR / "README.md"
    readme.write_text("# demo\n\nNew in the template.\n", encoding="utf-8")
    git(template, "commit", "--quiet", "-am", "change")
    status = check_template(project)
    assert status.state is State.BEHIND
    assert "out of date" in status.line and "cruft update" in status.line
    assert status.exit_code(strict=False) == 0
    assert status.exit_code(strict=True) == 1


def test_an_unreachable_template_is_reported_not_raised(tmp_path: Path) -> None:
    write_record(tmp_path, str(tmp_path / "gone"), "0" * 40)
    status = check_template(tmp_path)
    assert status.state is State.UNREACHABLE
    assert status.line.startswith(f"template: could not check {tmp_path / 'gone'}")
    assert "\n" not in status.line
    assert (status.exit_code(strict=False), status.exit_code(strict=True)) == (0, 1)


def test_a_commit_missing_from_the_template_is_reported(linked: tuple[Path, Path]) -> None:
    template, project = linked
    write_record(project, str(template), "1" * 40)
    status = check_template(project)
    assert status.state is State.UNREACHABLE
    assert "recorded commit" in status.detail


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not linked to its template"),
        ("{not json", "not valid JSON"),
        ("[]", "must hold a JSON object"),
        ('{"commit": "abc"}', "names no template"),
        ('{"template": "https://example.com/t.git", "commit": null}', "records no template commit"),
    ],
)
def test_a_missing_or_broken_record_is_one_clear_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / CRUFT_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(TemplateError, match=message) as raised:
        read_record(tmp_path)
    assert "\n" not in str(raised.value)


RECORD = TemplateRecord("https://example.com/template.git", "a" * 40)


@pytest.mark.parametrize(
    ("status", "strict", "code"),
    [
        (TemplateStatus(State.CURRENT, RECORD), True, 0),
        (TemplateStatus(State.BEHIND, RECORD), False, 0),
        (TemplateStatus(State.BEHIND, RECORD), True, 1),
        (TemplateStatus(State.UNREACHABLE, RECORD, "no network"), False, 0),
        (TemplateStatus(State.UNREACHABLE, RECORD, "no network"), True, 1),
    ],
)
def test_template_check_task_is_informational_unless_strict(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    status: TemplateStatus,
    strict: bool,
    code: int,
) -> None:
    import {{ cookiecutter.package_name }}.template_update as module

    monkeypatch.setattr(module, "check_template", lambda project: status)
    if code:
        with pytest.raises(Exit) as raised:
            tasks.template_check(MockContext(), strict=strict)
        assert raised.value.code == code
        assert raised.value.message == status.line
    else:
        tasks.template_check(MockContext(), strict=strict)
        assert capsys.readouterr().out == status.line + "\n"


def test_template_check_task_refuses_a_missing_record_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tasks, "ROOT", tmp_path)  # as if invoke loaded a tasks.py there
    with pytest.raises(Exit) as raised:
        tasks.template_check(MockContext())
    assert raised.value.code == 1
    assert str(raised.value.message).startswith("error: ")
    assert "cruft link" in str(raised.value.message)
    assert list(tmp_path.iterdir()) == []
