"""The benchmark's own logic: medians and targets, the scaled config, the deploy probe.

The figures themselves are printed by `python3 run.py benchmark`, never asserted here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from bakery.bake import bake
from benchmarks.__main__ import main as benchmark_main
from benchmarks.cases import Project
from benchmarks.deploy_probe import MARKER
from benchmarks.project import add_environments, environment_names, scaled_copy
from benchmarks.stats import Figure, Target, figures_table, markdown_table, ratio, targets_table

PROBE = Path(__file__).resolve().parents[1] / "benchmarks" / "deploy_probe.py"


def test_commands_run_with_the_environment_the_nox_sessions_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The baked noxfile writes bytecode under .nox/pycache/ even where the machine sets
    PYTHONDONTWRITEBYTECODE: what the benchmark times runs the same way."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    project = Project(root=tmp_path, package="demo", bin=tmp_path / ".nox" / "synth" / "bin")
    env = project.environ({"EXTRA": "1"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path / ".nox" / "pycache")
    assert env["PATH"].split(":")[0] == str(project.bin)
    assert (env["VIRTUAL_ENV"], env["EXTRA"]) == (str(tmp_path / ".nox" / "synth"), "1")


def test_median_ratio_and_targets() -> None:
    fast = Figure("fast", (1.0, 3.0, 2.0))
    slow = Figure("slow", (10.0, 40.0, 20.0, 30.0))
    assert fast.median == 2.0
    assert slow.median == 25.0
    assert ratio(fast, slow) == pytest.approx(0.08)
    assert Target("uv / pip", 0.08, 0.1, "x").met
    assert not Target("warm nox", 31.0, 30.0, "s").met
    assert Target("warm nox", 31.0, 30.0, "s", "167 s", "tests 25 s").row() == [
        "warm nox",
        "167 s",
        "31.0 s",
        "<= 30.0 s",
        "**missed**",
        "tests 25 s",
    ]
    assert Target("warm nox", 29.0, 30.0, "s", "167 s", "tests 25 s").row()[-2:] == ["met", ""]


def test_a_figure_without_runs_or_a_zero_median_is_an_error() -> None:
    with pytest.raises(ValueError, match="no runs"):
        _ = Figure("empty", ()).median
    with pytest.raises(ValueError, match="median of 0 s"):
        ratio(Figure("a", (1.0,)), Figure("zero", (0.0,)))


def test_tables_are_aligned_markdown() -> None:
    table = markdown_table(["a", "long header"], [["wide cell", "x"]])
    assert table.splitlines() == [
        "| a         | long header |",
        "| --------- | ----------- |",
        "| wide cell | x           |",
    ]
    assert "| synth   | 1.5 s  | 1.0 / 1.5 / 2.0 | how |" in figures_table(
        [Figure("synth", (1.0, 1.5, 2.0), "how")]
    )
    assert "0.50x" in targets_table([Target("ratio", 0.5, 0.5, "x")])


CONFIG = textwrap.dedent(
    """\
    [project]
    name = "svc"

    [environments.dev]
    account = "111111111111"

    [environments.dev.endpoint]
    instance_count = 1

    [environments.prod]
    account = "333333333333"

    [environments.prod.endpoint]
    instance_count = 2
    """
)


def test_added_environments_copy_every_table_of_the_source() -> None:
    text = add_environments(CONFIG, "dev", ["dev2", "dev3"])
    document = tomllib.loads(text)
    assert environment_names(text) == ["dev", "prod", "dev2", "dev3"]
    assert document["environments"]["dev3"] == document["environments"]["dev"]
    assert document["environments"]["prod"]["endpoint"]["instance_count"] == 2


@pytest.mark.parametrize(
    ("source", "names", "message"),
    [("qa", ["qa2"], "no environment 'qa'"), ("dev", ["prod"], "exist already")],
)
def test_added_environments_refuse_a_missing_source_or_a_clash(
    source: str, names: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        add_environments(CONFIG, source, names)


def test_a_scaled_copy_of_a_bake_has_ten_environments_and_no_build_outputs(
    tmp_path: Path,
) -> None:
    project = bake(tmp_path / "bake")
    (project / ".nox" / "synth").mkdir(parents=True)
    (project / "cdk.out").mkdir()
    copy = scaled_copy(project, tmp_path / "copy", 10)
    names = environment_names((copy / "config/environments.toml").read_text(encoding="utf-8"))
    assert names[:4] == ["local", "dev", "staging", "prod"]
    assert names[4:] == [f"dev{n}" for n in range(2, 8)]
    assert not (copy / ".nox").exists()
    assert not (copy / "cdk.out").exists()
    assert not (copy / ".git").exists()
    with pytest.raises(ValueError, match="has 4 environments already"):
        scaled_copy(project, tmp_path / "fewer", 3)
    assert not (tmp_path / "fewer").exists()


def _fake_project(root: Path, exit_code: int) -> None:
    """A package whose cached_synth sleeps, and a tasks.py whose task calls it."""
    infra = root / "svc" / "infra"
    infra.mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("")
    (infra / "__init__.py").write_text("")
    (infra / "synth_cache.py").write_text(
        "import time\n\ndef cached_synth():\n    time.sleep(0.2)\n"
    )
    (root / "tasks.py").write_text(
        textwrap.dedent(
            f"""\
            from invoke import task
            from invoke.exceptions import Exit

            @task
            def deploy(c, env="local"):
                from svc.infra.synth_cache import cached_synth
                cached_synth()
                if {exit_code}:
                    raise Exit("error: refused", code={exit_code})
            """
        )
    )


@pytest.mark.parametrize("exit_code", [0, 3])
def test_the_deploy_probe_times_synth_and_keeps_the_task_exit_status(
    tmp_path: Path, exit_code: int
) -> None:
    _fake_project(tmp_path, exit_code)
    result = subprocess.run(
        [sys.executable, str(PROBE), "svc", "deploy", "--env", "local"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == exit_code, result.stderr
    marker, seconds = result.stdout.strip().splitlines()[-1].split()
    assert marker == MARKER
    assert 0.2 <= float(seconds) < 5


def test_bad_runs_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        benchmark_main(["--runs", "0", "--output-dir", str(tmp_path / "out")])
    assert exit_.value.code == 2
    assert "--runs 0: give 1 or more" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
