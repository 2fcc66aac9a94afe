"""bakery: baking replaces an earlier bake all-or-nothing, and the leftover-Jinja scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bakery.bake import TEMPLATE_ROOT, BakeError, bake
from bakery.checks import leftover_jinja


def test_bake_replaces_an_earlier_bake(tmp_path: Path) -> None:
    first = bake(tmp_path)
    (first / "stale.txt").write_text("from an earlier bake", encoding="utf-8")
    second = bake(tmp_path)
    assert second == first == tmp_path / "threat-detector"
    assert not (second / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threat-detector"]


def test_refused_bake_leaves_the_earlier_bake_untouched(tmp_path: Path) -> None:
    first = bake(tmp_path)
    marker = first / "marker.txt"
    marker.write_text("keep me", encoding="utf-8")
    with pytest.raises(BakeError, match="a hook refused the answers"):
        bake(tmp_path, {"dev_account_id": "nope"})
    assert marker.read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["threat-detector"]


def test_cli_bad_answer_is_two_lines_at_most_and_writes_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bakery",
            "bake",
            "--output-dir",
            str(tmp_path),
            "prod_account_id=1",
        ],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: prod_account_id '1' must be a 12-digit AWS account id (e.g. 123456789012)",
        "error: a hook refused the answers; nothing was written",
    ]
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_malformed_answer_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bakery", "bake", "--output-dir", str(tmp_path), "project_name"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error: answer 'project_name' is not KEY=VALUE")
    assert list(tmp_path.iterdir()) == []


def test_leftover_jinja_is_found_but_github_expressions_are_not(tmp_path: Path) -> None:
    (tmp_path / "ok.yml").write_text("run: echo ${{ github.sha }}\n", encoding="utf-8")
    (tmp_path / "bad.py").write_text('x = 1\nname = "{{ cookiecutter.x }}"\n', encoding="utf-8")
    (tmp_path / "bad.toml").write_text("{% if x %}\n", encoding="utf-8")
    assert leftover_jinja(tmp_path) == [
        'bad.py:2: name = "{{ cookiecutter.x }}"',
        "bad.toml:1: {% if x %}",
    ]
