"""The invoke tasks are thin doors: exact commands, help for every flag, clean refusals."""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

import tasks
from {{ cookiecutter.package_name }}.config import load

from .conftest import PROJECT_ROOT


def test_every_task_documents_itself_and_every_flag() -> None:
    for name, task in tasks.ns.tasks.items():
        assert task.__doc__ and task.__doc__.strip(), name
        parameters = list(inspect.signature(task.body).parameters)[1:]  # after the context
        flags = {parameter.replace("_", "-") for parameter in parameters}
        assert flags <= set(task.help), f"{name}: no --help text for {flags - set(task.help)}"


def test_lint_runs_ruff_and_mypy() -> None:
    context = MockContext(run=True, repeat=True)
    tasks.lint(context)
    assert [str(call.args[0]) for call in context.run.call_args_list] == [  # type: ignore[attr-defined]
        "ruff check .",
        "ruff format --check .",
        "mypy",
    ]


def test_test_passes_arguments_after_double_dash_to_pytest() -> None:
    context = MockContext(run=True, repeat=True)
    context.remainder = "-k config -x"
    tasks.test(context)
    context.run.assert_called_once_with("python -m pytest -k config -x")  # type: ignore[attr-defined]


def test_synth_writes_templates_for_the_chosen_environment(tmp_path: Path) -> None:
    tasks.synth(MockContext(), env=["dev"], outdir=str(tmp_path / "out"))
    assert (tmp_path / "out" / "dev-serving.template.json").is_file()
    assert not list((tmp_path / "out").glob("prod-*"))


def test_synth_refuses_unknown_environment_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(Exit) as raised:
        tasks.synth(MockContext(), env=["qa"], outdir=str(tmp_path / "out"))
    assert raised.value.code == 1
    assert str(raised.value.message).startswith("error: unknown environment 'qa'")
    assert not (tmp_path / "out").exists()


def test_deploy_refuses_unknown_environment_in_one_line() -> None:
    with pytest.raises(Exit) as raised:
        tasks.deploy(MockContext(), env="qa")
    assert raised.value.code == 1
    assert str(raised.value.message).startswith("error: unknown environment 'qa'")


def test_tag_refuses_an_unknown_bump_in_one_line() -> None:
    with pytest.raises(Exit) as raised:
        tasks.tag(MockContext(), bump="huge")
    assert raised.value.code == 1
    assert raised.value.message == "error: --bump 'huge': use patch, minor or major"


def test_local_aws_takes_one_action() -> None:
    with pytest.raises(Exit, match="give --stop or --status, not both"):
        tasks.local_aws(MockContext(), stop=True, status=True)
    with pytest.raises(Exit, match="error: environment 'prod' has no loopback endpoint_url"):
        tasks.local_aws(MockContext(), env="prod")


def test_deploy_help_shows_the_dry_run_default_and_every_flag() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "invoke", "--help", "deploy"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in ("--env", "--execute", "--[no-]upload-artifacts", "--timeout-minutes"):
        assert flag in shown
    assert "dry run" in shown


def invoke(*argv: str) -> subprocess.CompletedProcess[str]:
    """`invoke ARGV` from the project's folder, as a person types it."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *argv],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("help_flag", ["--help", "-h"])
def test_every_task_shows_its_help_after_its_name(help_flag: str) -> None:
    """`invoke deploy --help` once read "--help" as the environment and exited 1."""
    for name in tasks.ns.task_names:
        shown = invoke(name, help_flag)
        assert shown.returncode == 0, f"invoke {name} {help_flag}: {shown.stderr}"
        assert shown.stdout.startswith(f"Usage: inv[oke] [--core-opts] {name} "), name


@pytest.mark.parametrize("task", ["deploy", "rollback", "history"])
def test_a_missing_env_names_the_flag(task: str) -> None:
    shown = invoke(task)
    assert shown.returncode == 1
    assert shown.stderr.strip() == (
        "error: no environment given: add --env NAME, one of local, dev, staging, prod"
    )


def test_each_short_flag_means_one_option_across_tasks() -> None:
    meaning: dict[str, set[str]] = {}
    for task in tasks.ns.tasks.values():
        for argument in task.get_arguments():
            for short in (name for name in argument.names if len(name) == 1):
                meaning.setdefault(short, set()).add(argument.name)
            assert not argument.positional, f"{task.name}: --{argument.name} is positional"
    assert {short: names for short, names in meaning.items() if len(names) > 1} == {}
    assert meaning["e"] == {"env"} and meaning["x"] == {"execute"} and meaning["t"] == {"to"}


def test_deploy_help_names_the_confirmation_variable() -> None:
    shown = invoke("deploy", "--help").stdout
    variable = load(PROJECT_ROOT).project.deploy_confirm_variable
    assert f"{variable} set to I_UNDERSTAND_THE_COST" in " ".join(shown.split())


def test_nox_without_uv_stops_in_one_line_saying_how_to_get_it(tmp_path: Path) -> None:
    """nox builds environments with uv only; without it, no silent virtualenv + pip."""
    shown = subprocess.run(
        [sys.executable, "-m", "nox", "--list"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "UV": str(tmp_path / "no-uv-here")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 1
    assert shown.stderr.strip().splitlines() == [
        "error: nox builds this project's environments with uv, and there is no uv: install nox "
        "with it (pipx install 'nox[uv]' or pip install 'nox[uv]'), or put uv on PATH"
    ]
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "--list"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0 and "lint" in listed.stdout, listed.stderr


class SessionError(Exception):
    """What nox's session.error raises (the session stops with its one line)."""


class RecordingSession:
    """What the noxfile's install() uses of a nox session, recorded."""

    def __init__(self, env_dir: Path) -> None:
        self.env_dir = env_dir
        self.virtualenv = SimpleNamespace(location=str(env_dir))
        self.installs: list[tuple[tuple[str, ...], dict[str, str]]] = []
        self.logged: list[str] = []

    def run_install(self, *args: str, env: dict[str, str], external: bool) -> None:
        assert external
        self.installs.append((args, env))

    def log(self, message: str) -> None:
        self.logged.append(message)

    def error(self, message: str) -> None:
        raise SessionError(message)


def test_nox_installs_exactly_a_current_lock_and_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every session syncs from uv.lock (`uv sync --locked`); a missing or stale lock stops
    it in one line; a reused environment synced from the same lock is not synced again. uv
    is a stub here that records its arguments and answers `uv lock --check` as told."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project / "pyproject.toml")
    uv = tmp_path / "uv"
    uv.write_text(
        '#!/bin/sh\necho "$@" >> "$UV_CALLS"\n'
        'if [ "$1 $2" = "lock --check" ] && [ "$UV_CHECK" != 0 ]; then\n'
        "  echo 'error: The lockfile at `uv.lock` needs to be updated' >&2; exit 1\nfi\n",
        encoding="utf-8",
    )
    uv.chmod(0o755)
    for name, value in (("UV", str(uv)), ("UV_CALLS", str(tmp_path / "calls")), ("UV_CHECK", "0")):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project)
    # Loading the noxfile sets the bytecode variables for its sessions: undone after the test.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", os.environ.get("PYTHONPYCACHEPREFIX", ""))
    spec = importlib.util.spec_from_file_location("baked_noxfile", PROJECT_ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    noxfile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noxfile)

    session = RecordingSession(tmp_path / "env")
    session.env_dir.mkdir()
    with pytest.raises(SessionError, match=r"^there is no uv.lock: run `uv lock` and commit it"):
        noxfile.install(session)
    (project / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    monkeypatch.setenv("UV_CHECK", "1")
    with pytest.raises(
        SessionError,
        match=r"^uv.lock is not current with pyproject.toml \(uv lock --check: error: The "
        r"lockfile at `uv.lock` needs to be updated\): run `uv lock` and commit uv.lock",
    ):
        noxfile.install(session)
    assert session.installs == []
    monkeypatch.setenv("UV_CHECK", "0")
    noxfile.install(session)
    assert session.installs == [
        ((str(uv), "sync", "--locked"), {"UV_PROJECT_ENVIRONMENT": str(session.env_dir)})
    ]
    noxfile.install(session)  # reused, the same lock
    assert len(session.installs) == 1
    assert session.logged == ["synced from this uv.lock already; `nox --reuse-venv no` reinstalls"]
    (project / "uv.lock").write_text("version = 1\n# another resolution\n", encoding="utf-8")
    noxfile.install(session)
    assert len(session.installs) == 2
    (tmp_path / "new").mkdir()
    fresh = RecordingSession(tmp_path / "new")  # a new environment has no stamp
    noxfile.install(fresh)
    assert len(fresh.installs) == 1
