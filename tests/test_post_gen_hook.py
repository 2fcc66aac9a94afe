"""hooks/post_gen_project.py: what each answer removes, git on main, next steps."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def test_next_steps_name_the_folder_and_the_pipeline() -> None:
    text = hook.next_steps(default_answers(project_name="ACME Fraud-Scorer 2"))
    assert "cd acme-fraud-scorer-2" in text
    assert "nox" in text and "invoke --list" in text
