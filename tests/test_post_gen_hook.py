"""hooks/post_gen_project.py: what each answer removes, the template record (.cruft.json),
git on main, next steps."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import default_answers, load_hook

hook = load_hook("post_gen_project")


def test_model_monitor_off_removes_its_module_and_tests() -> None:
    answers = default_answers(include_model_monitor="n")
    assert hook.paths_to_remove(answers) == [
        "src/threat_detector/infra/monitoring.py",
        "tests/test_monitoring_stack.py",
    ]
    assert hook.paths_to_remove(default_answers()) == []


def test_remove_paths_deletes_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("", encoding="utf-8")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "b.py").write_text("", encoding="utf-8")
    hook.remove_paths(tmp_path, ["a.py", "pkg"])
    assert list(tmp_path.iterdir()) == []


def test_git_starts_on_main(tmp_path: Path) -> None:
    assert hook.init_git(tmp_path) == ""
    head = subprocess.run(
        ["git", "symbolic-ref", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert head.stdout.strip() == "refs/heads/main"


def test_the_bake_is_the_first_commit_on_main(tmp_path: Path) -> None:
    """A deploy refuses a tree with no commit; the bake once left one (issue 14)."""
    (tmp_path / "README.md").write_text("a project\n", encoding="utf-8")
    assert hook.init_git(tmp_path) == "" and hook.commit_bake(tmp_path) == ""
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == [hook.BAKE_COMMIT]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""


def test_without_a_git_identity_the_note_says_how_to_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "EMAIL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("GIT_COMMITTER_EMAIL", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    # git would otherwise make up user@host; useConfigOnly makes it ask, as on a new machine.
    for key, value in {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "user.useConfigOnly"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("a project\n", encoding="utf-8")
    assert hook.init_git(project) == ""
    note = hook.commit_bake(project)
    assert note.startswith("the bake is not committed: git needs user.name and user.email")
    assert note.endswith(f'git add -A && git commit -m "{hook.BAKE_COMMIT}"')


def test_next_steps_name_the_folder_and_the_pipeline() -> None:
    text = hook.next_steps(default_answers(project_name="ACME Fraud-Scorer 2"))
    assert "cd acme-fraud-scorer-2" in text
    assert "nox" in text and "invoke --list" in text


# --- .cruft.json: the template this project came from ----------------------------------------


def template_repo(root: Path, *, commit: bool = True) -> Path:
    """A folder holding cookiecutter.json, optionally committed to a git repository."""
    root.mkdir(parents=True)
    (root / "cookiecutter.json").write_text("{}", encoding="utf-8")
    if commit:
        for args in (["init", "--quiet", "-b", "main"], ["add", "-A"], ["commit", "-qm", "t"]):
            subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_relative_template_path_is_resolved_from_where_cookiecutter_ran(
    tmp_path: Path,
) -> None:
    repo = template_repo(tmp_path / "tpl")
    answers = {**default_answers(), "_template": "tpl", "_repo_dir": "tpl", "_checkout": None}
    source = hook.template_source(answers, tmp_path)
    assert source == hook.TemplateSource(
        url=str(repo.resolve()), commit=head(repo), directory=None, dirty=False
    )


def test_a_cloned_template_is_recorded_by_the_url_it_was_cloned_from(tmp_path: Path) -> None:
    """cookiecutter clones `gh:owner/repo` (expanded) and renders from the clone."""
    origin = template_repo(tmp_path / "origin")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    answers = {**default_answers(), "_template": "gh:acme/tpl", "_repo_dir": str(clone)}
    source = hook.template_source(answers, tmp_path)
    assert isinstance(source, hook.TemplateSource)
    assert (source.url, source.commit) == (str(origin), head(origin))


def test_cruft_state_keeps_the_answers_and_drops_where_this_run_rendered(tmp_path: Path) -> None:
    source = hook.TemplateSource(url="/t", commit="c" * 40, directory=None, dirty=False)
    answers = {
        **default_answers(),
        "_template": "../t",
        "_output_dir": str(tmp_path),
        "_repo_dir": "../t",
        "_checkout": "v1",
    }
    state = hook.cruft_state(answers, source)
    assert list(state) == ["template", "commit", "checkout", "context", "directory"]
    assert (state["template"], state["commit"], state["checkout"]) == ("/t", "c" * 40, "v1")
    recorded = state["context"]["cookiecutter"]
    assert recorded["_template"] == "/t" and recorded["_commit"] == "c" * 40
    assert not {"_output_dir", "_repo_dir", "_checkout"} & set(recorded)
    assert recorded["project_slug"] == "threat-detector"


def test_an_uncommitted_template_change_is_recorded_with_a_note(tmp_path: Path) -> None:
    repo = template_repo(tmp_path / "tpl")
    (repo / "cookiecutter.json").write_text('{"x": 1}', encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    answers = {**default_answers(), "_template": str(repo), "_repo_dir": str(repo)}
    note = hook.record_template(project, answers, tmp_path)
    assert "uncommitted changes" in note and head(repo)[:12] in note
    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"] == head(repo)


@pytest.mark.parametrize("commit", [False, True])
def test_a_template_without_a_usable_commit_records_nothing(tmp_path: Path, commit: bool) -> None:
    """Not a git checkout at all, or a git repository the template was never committed to."""
    if commit:
        outer = template_repo(tmp_path / "outer")
        repo = template_repo(outer / "tpl", commit=False)
    else:
        repo = template_repo(tmp_path / "tpl", commit=False)
    project = tmp_path / "project"
    project.mkdir()
    answers = {**default_answers(), "_template": str(repo), "_repo_dir": str(repo)}
    note = hook.record_template(project, answers, tmp_path)
    assert "no .cruft.json was written" in note and "cruft link" in note
    assert list(project.iterdir()) == []


def test_cruft_rendering_writes_its_own_record(tmp_path: Path) -> None:
    """`cruft create` and `cruft update` render with _commit set and write .cruft.json."""
    answers = {**default_answers(), "_template": "/t", "_commit": "c" * 40}
    assert hook.record_template(tmp_path, answers, tmp_path) == ""
    assert list(tmp_path.iterdir()) == []


def stub_uv(tmp_path: Path, script: str) -> Path:
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir(parents=True, exist_ok=True)
    uv.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    uv.chmod(0o755)
    return uv


def test_the_bake_locks_its_dependencies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv.lock is written by `uv lock` in the new project (a stub uv here; a real bake runs
    the real one, tests/test_bakes.py checks the lock is current)."""
    uv = stub_uv(tmp_path, 'echo "$@" > called; echo "version = 1" > uv.lock')
    monkeypatch.setenv("UV", str(uv))
    project = tmp_path / "project"
    project.mkdir()
    assert hook.lock_dependencies(project, default_answers()) == ""
    assert (project / "called").read_text(encoding="utf-8").split() == [
        "lock",
        "--quiet",
        "--no-progress",
    ]
    assert (project / "uv.lock").is_file()


def test_a_lock_that_cannot_be_made_says_how_to_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    uv = stub_uv(
        tmp_path, 'echo "error: Failed to fetch: https://pypi.org/simple/boto3/" >&2; exit 2'
    )
    monkeypatch.setenv("UV", str(uv))
    note = hook.lock_dependencies(project, default_answers())
    assert note == (
        "uv.lock was not written: uv lock failed (error: Failed to fetch: "
        "https://pypi.org/simple/boto3/); run `uv lock` in threat-detector/ and commit uv.lock "
        "(nox and CI install only from a current lock)"
    )
    monkeypatch.setenv("UV", str(tmp_path / "no-such-uv"))
    note = hook.lock_dependencies(project, default_answers())
    assert note.startswith("uv.lock was not written: uv is not installed (pipx install uv)")
    assert not (project / "uv.lock").exists()


def test_cruft_renders_without_locking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cruft bakes the old and new template to diff them: a project keeps its own lock."""
    monkeypatch.setenv("UV", str(stub_uv(tmp_path, "exit 1")))
    assert hook.lock_dependencies(tmp_path, {**default_answers(), "_commit": "a" * 40}) == ""
