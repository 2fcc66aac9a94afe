"""The measurements, each a series of whole commands run the way a team runs them.

Every command's output is captured; a failing command stops the benchmark with its last
lines, since a figure of a failed run means nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bakery.pipeline import CONFIRMATION, NOX, confirm_variable

from .deploy_probe import MARKER
from .stats import Figure

PROBE = Path(__file__).with_name("deploy_probe.py")
CDK_CLI_PACKAGE = "aws-cdk@2"


class BenchmarkError(Exception):
    """A measured command failed, or the project could not be set up."""


@dataclass(frozen=True)
class Project:
    """A baked project with its nox environment (the one its sessions share)."""

    root: Path
    package: str
    bin: Path  # the environment's bin/ (python, invoke)

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment the project's nox sessions run in: the venv's bin first on PATH,
        and bytecode written under .nox/pycache/ even where PYTHONDONTWRITEBYTECODE is set
        (as on this machine), as the baked noxfile arranges for its sessions."""
        env = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
        env["VIRTUAL_ENV"] = str(self.bin.parent)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPYCACHEPREFIX", str(self.root / ".nox" / "pycache"))
        return {**env, **(extra or {})}

    @property
    def invoke(self) -> str:
        return str(self.bin / "invoke")


def run(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """Run a command to completion; its output, or a BenchmarkError naming the command."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shown = " ".join([Path(command[0]).name, *command[1:]])
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise BenchmarkError(f"`{shown}` failed (exit {result.returncode}) in {cwd}:\n{tail}")
    return result.stdout


def timed(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> float:
    started = time.perf_counter()
    run(command, cwd, env)
    return time.perf_counter() - started


def repeat(
    name: str, runs: int, measure: Callable[[], float], note: str = "", warm_up: bool = True
) -> Figure:
    """`runs` samples of measure(), after one uncounted run that fills caches."""
    if warm_up:
        print(f"[benchmark] {name}: warm-up run", flush=True)
        measure()
    samples = []
    for number in range(1, runs + 1):
        samples.append(measure())
        print(f"[benchmark] {name}: run {number}/{runs}: {samples[-1]:.1f} s", flush=True)
    return Figure(name, tuple(samples), note)


def environment_creation(root: Path, backend: str, runs: int, envdir: Path) -> Figure:
    """A new environment for the project's sessions (`nox -s synth --install-only` with no
    reuse), on a given nox backend; the package caches are warm after the warm-up run."""
    command = [
        *NOX,
        "--sessions",
        "synth",
        "--install-only",
        "--reuse-venv",
        "no",
        "--force-venv-backend",
        backend,
        "--envdir",
        str(envdir),
    ]
    return repeat(
        f"cold environment, nox {backend} backend",
        runs,
        lambda: timed(command, root),
        "new venv, project + dev group installed; package cache warm",
    )


def synthesized_afresh(command: Sequence[str], root: Path, env: Mapping[str, str]) -> float:
    """`invoke synth` with the project's build cache emptied first: the time of synthesizing,
    not of copying the assembly the warm-up run left in build/cache/."""
    shutil.rmtree(root / "build" / "cache", ignore_errors=True)
    return timed(command, root, env)


def synth_in_process(project: Project, runs: int) -> Figure:
    return repeat(
        "synth, every environment, one process",
        runs,
        lambda: synthesized_afresh([project.invoke, "synth"], project.root, project.environ()),
        "`invoke synth` (4 environments, cdk-nag on), build cache empty",
    )


def synth_app_alone(project: Project, runs: int) -> Figure:
    """`python app.py`: what cdk.json has the CDK CLI run, without the CLI around it."""

    def measure() -> float:
        with tempfile.TemporaryDirectory(prefix="cdk-app-") as out:
            env = project.environ({"CDK_OUTDIR": out})
            return timed([str(project.bin / "python"), "app.py"], project.root, env)

    return repeat(
        "synth, every environment, app.py alone",
        runs,
        measure,
        "`python app.py` with CDK_OUTDIR: the CLI's child process on its own",
    )


def find_cdk_cli(tools: Path) -> tuple[Path | None, str]:
    """The CDK CLI from the npm registry, installed under tools/ once; None and why when absent."""
    cli = tools / "node_modules" / ".bin" / "cdk"
    if cli.exists():
        return cli, ""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed, so the CDK CLI could not be fetched"
    tools.mkdir(parents=True, exist_ok=True)
    print(f"[benchmark] installing the CDK CLI ({CDK_CLI_PACKAGE}) from npm", flush=True)
    try:
        run(
            [npm, "install", "--prefix", str(tools), "--no-audit", "--no-fund", CDK_CLI_PACKAGE],
            tools,
        )
    except BenchmarkError as error:
        first = str(error).splitlines()[-1] if str(error) else "npm failed"
        return None, f"the npm registry could not be reached ({first})"
    return (cli, "") if cli.exists() else (None, "npm installed no `cdk` executable")


def synth_cli(project: Project, cli: Path, runs: int) -> Figure:
    """`cdk synth` on the same app (cdk.json runs `python app.py` with the project's python)."""
    env = project.environ({"CDK_DISABLE_CLI_TELEMETRY": "true"})

    def measure() -> float:
        with tempfile.TemporaryDirectory(prefix="cdk-cli-") as out:
            command = [str(cli), "synth", "--quiet", "--no-notices", "--output", out]
            return timed([*command, "--no-version-reporting"], project.root, env)

    version = run([str(cli), "--version"], project.root, env).split()[0]
    return repeat(
        "synth, every environment, CDK CLI",
        runs,
        measure,
        f"`cdk synth --quiet` (aws-cdk {version}, its child runs app.py)",
    )


def synth_environments(project: Project, copy: Path, names: list[str], runs: int) -> Figure:
    """`invoke synth --env ...` for the named environments, in a copy with more of them."""
    env = project.environ({"PYTHONPATH": str(copy / "src")})
    command = [project.invoke, "synth", *(part for name in names for part in ("--env", name))]
    return repeat(
        f"synth, {len(names)} environment(s)",
        runs,
        lambda: synthesized_afresh(command, copy, env),
        f"`invoke synth --env {names[0]}{' ...' if len(names) > 1 else ''}`, build cache empty",
    )


@dataclass(frozen=True)
class DeployFigures:
    dry_run: Figure
    execute: Figure
    no_change: Figure
    synth_shares: dict[str, float]  # figure name -> median share of its time spent in synth


def _probe(
    project: Project, arguments: Sequence[str], env: Mapping[str, str]
) -> tuple[float, float]:
    """Wall seconds of one deploy command, and the seconds its synth took."""
    started = time.perf_counter()
    output = run(
        [str(project.bin / "python"), str(PROBE), project.package, *arguments], project.root, env
    )
    wall = time.perf_counter() - started
    last = output.strip().splitlines()[-1].split()
    if len(last) != 2 or last[0] != MARKER:
        raise BenchmarkError(f"the deploy probe printed no `{MARKER}` line (last: {last})")
    return wall, float(last[1])


def deploys(project: Project, runs: int) -> DeployFigures:
    """Each run on a fresh local AWS: a dry run, the --execute that creates the stacks, and
    an --execute of the same commit again (no changes)."""
    env = project.environ({confirm_variable(project.root): CONFIRMATION})
    deploy = ["deploy", "--env", "local"]
    series: dict[str, list[tuple[float, float]]] = {"dry": [], "execute": [], "none": []}
    for number in range(1, runs + 1):
        run([project.invoke, "local-aws"], project.root, env)
        # The dry run after a change: nothing in build/cache/ (the model is packaged and the
        # templates synthesized); the two executes after it reuse what it built.
        shutil.rmtree(project.root / "build" / "cache", ignore_errors=True)
        try:
            series["dry"].append(_probe(project, deploy, env))
            series["execute"].append(_probe(project, [*deploy, "--execute"], env))
            series["none"].append(_probe(project, [*deploy, "--execute"], env))
        finally:
            run([project.invoke, "local-aws", "--stop"], project.root, env)
        shown = ", ".join(f"{key} {values[-1][0]:.1f} s" for key, values in series.items())
        print(f"[benchmark] deploys: run {number}/{runs}: {shown}", flush=True)

    def figure(key: str, name: str, note: str) -> Figure:
        return Figure(name, tuple(wall for wall, _ in series[key]), note)

    figures = {
        "dry": figure(
            "dry",
            "deploy dry run",
            "`invoke deploy --env local`, build cache empty: package, synth, change-set plan",
        ),
        "execute": figure(
            "execute",
            "deploy --execute",
            "first deploy: stacks created, endpoint verified, recorded (model, templates cached)",
        ),
        "none": figure("none", "no-change deploy", "`--execute` again on the same commit"),
    }
    shares = {
        figures[key].name: statistics.median(synth / wall for wall, synth in values)
        for key, values in series.items()
    }
    return DeployFigures(figures["dry"], figures["execute"], figures["none"], shares)


def warm_nox(root: Path, runs: int) -> list[Figure]:
    """`nox` as a team runs it (lint -> tests -> synth), environments already made: the
    whole command, then each session as nox's own --report times it."""
    sessions: dict[str, list[float]] = {}

    def measure() -> float:
        with tempfile.TemporaryDirectory(prefix="nox-report-") as folder:
            report = Path(folder) / "report.json"
            seconds = timed([*NOX, "--report", str(report)], root)
            for result in json.loads(report.read_text(encoding="utf-8"))["sessions"]:
                sessions.setdefault(result["name"], []).append(float(result["duration"]))
        return seconds

    total = repeat("warm nox (lint, tests, synth)", runs, measure, "`nox`, environments reused")
    return [total] + [
        Figure(f"  nox session {name}", tuple(seconds[-runs:]), "nox --report duration")
        for name, seconds in sessions.items()
    ]


def breakdown(sessions: Sequence[Figure]) -> str:
    """Where a nox run's time goes: each session's median, slowest first."""
    ordered = sorted(sessions, key=lambda figure: figure.median, reverse=True)
    return ", ".join(f"{figure.name.split()[-1]} {figure.median:.0f} s" for figure in ordered)


def cold_nox(root: Path) -> list[Figure]:
    """`nox` with every session environment made anew (uv's package cache warm), once: the
    whole command, then each session as nox's --report times it."""
    with tempfile.TemporaryDirectory(prefix="nox-report-") as folder:
        report = Path(folder) / "report.json"
        seconds = timed([*NOX, "--reuse-venv", "no", "--report", str(report)], root)
        results = json.loads(report.read_text(encoding="utf-8"))["sessions"]
    return [Figure("cold nox (lint, tests, synth)", (seconds,), "`nox --reuse-venv no`")] + [
        Figure(f"  cold nox session {r['name']}", (float(r["duration"]),), "nox --report")
        for r in results
    ]


def clean_clone_ci(template: Path, where: Path) -> Figure:
    """The template's CI as it runs: `bash .ci/run` in a fresh clone of the committed HEAD."""
    shutil.rmtree(where, ignore_errors=True)
    run(["git", "clone", "--quiet", str(template), str(where)], template)
    seconds = timed(["bash", ".ci/run"], where, {**os.environ, "CI": "true"})
    return Figure("template `bash .ci/run`, clean clone", (seconds,), "git clone + .ci/run, once")
