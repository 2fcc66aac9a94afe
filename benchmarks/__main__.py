"""`python -m benchmarks`: bake the demo project and print the pipeline's figures.

Medians over --runs runs (each after one uncounted warm-up run), then the issue's targets
with each figure met or missed. The tables are also written as Markdown (--markdown) for
the README's performance section.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from bakery.bake import BakeError, bake
from bakery.pipeline import NOX, PipelineError, prepare_repository

from . import cases
from .project import environment_names, scaled_copy
from .stats import Figure, Target, figures_table, ratio, targets_table

PARTS = ("environments", "synth", "cli", "scaling", "deploy", "nox", "cold-nox", "ci")
# The figures measured before issue 14 (README, 2026-11-29; the CI figure is stop 19's
# clean-clone `bash .ci/run`), shown beside each target so a change is judged against them.
BEFORE = {
    "warm nox": "166.6 s",
    "cold nox": "~15 min (no uv on PATH)",
    "dry run - synth": "10.2 s",
    "no-change / dry run": "0.82x",
    "ci": "2174 s",
}
TEMPLATE_ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """One line on where the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
        with Path("/proc/meminfo").open(encoding="utf-8") as info:
            kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "unknown memory"
    node = shutil.which("node")
    node_version = (
        subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
        if node
        else "none"
    )
    return (
        f"{datetime.date.today().isoformat()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}, "
        f"system Node.js {node_version.strip()}"
    )


def prepare(output_dir: Path) -> cases.Project:
    """The demo project (default answers) baked into output_dir, committed with an origin,
    and its nox environment made."""
    root = bake(output_dir).resolve()
    print(f"[benchmark] baked {root}", flush=True)
    prepare_repository(root)
    print("[benchmark] making the project's environment (nox -s synth --install-only)", flush=True)
    cases.run([*NOX, "--sessions", "synth", "--install-only"], root)
    package = next(path.name for path in (root / "src").iterdir() if path.is_dir())
    return cases.Project(root=root, package=package, bin=root / ".nox" / "synth" / "bin")


def measure(project: cases.Project, runs: int, parts: set[str], output_dir: Path) -> str:
    """Every selected measurement; the report as Markdown."""
    figures: list[Figure] = []
    targets: list[Target] = []
    notes: list[str] = []
    if "environments" in parts:
        envdir = output_dir / "envs"
        uv = cases.environment_creation(project.root, "uv", runs, envdir)
        pip = cases.environment_creation(project.root, "venv", runs, envdir)
        figures += [uv, pip]
        targets.append(Target("cold environment: uv / pip", ratio(uv, pip), 0.1, "x"))
    in_process = None
    if "synth" in parts or "cli" in parts:
        in_process = cases.synth_in_process(project, runs)
        figures.append(in_process)
    if "cli" in parts and in_process is not None:
        cli, why = cases.find_cdk_cli(output_dir / "tools")
        if cli is None:
            notes.append(f"The CDK CLI row is missing: {why}.")
        else:
            by_cli = cases.synth_cli(project, cli, runs)
            app_alone = cases.synth_app_alone(project, runs)
            figures += [by_cli, app_alone]
            notes.append(
                f"The CDK CLI's own share of `cdk synth` (CLI minus app.py alone): "
                f"{by_cli.median - app_alone.median:.1f} s of {by_cli.median:.1f} s."
            )
            targets.append(
                Target("synth: one process / CDK CLI", ratio(in_process, by_cli), 0.5, "x")
            )
    one_env = None
    if "scaling" in parts or "deploy" in parts:
        copy = scaled_copy(project.root, output_dir / "ten-environments", 10)
        names = environment_names((copy / "config" / "environments.toml").read_text("utf-8"))
        one_env = cases.synth_environments(project, copy, names[:1], runs)
        figures.append(one_env)
        if "scaling" in parts:
            three = cases.synth_environments(project, copy, names[:3], runs)
            ten = cases.synth_environments(project, copy, names, runs)
            figures += [three, ten]
            targets.append(Target("synth: 10 environments / 1", ratio(ten, one_env), 2.0, "x"))
    if "deploy" in parts and one_env is not None:
        deploy = cases.deploys(project, runs)
        figures += [deploy.dry_run, deploy.execute, deploy.no_change]
        shares = ", ".join(f"{name} {share:.0%}" for name, share in deploy.synth_shares.items())
        targets += [
            Target(
                "deploy dry run - synth of 1 environment",
                deploy.dry_run.median - one_env.median,
                3.0,
                "s",
                BEFORE["dry run - synth"],
                f"synth's share of each deploy: {shares}; the rest is start-up, model "
                "packaging and the change-set calls",
            ),
            Target(
                "no-change deploy / dry run",
                ratio(deploy.no_change, deploy.dry_run),
                1.0,
                "x",
                BEFORE["no-change / dry run"],
                "an execute also verifies the endpoint and writes the record",
            ),
        ]
        notes.append(f"Share of each deploy's time spent in synth (median): {shares}.")
    if "nox" in parts:
        warm = cases.warm_nox(project.root, runs)
        figures += warm
        targets.append(
            Target(
                "warm nox (lint, tests, synth)",
                warm[0].median,
                45.0,
                "s",
                BEFORE["warm nox"],
                cases.breakdown(warm[1:]),
            )
        )
    if "cold-nox" in parts:
        cold = cases.cold_nox(project.root)
        figures += cold
        targets.append(
            Target(
                "cold nox (new session environments)",
                cold[0].median,
                180.0,
                "s",
                BEFORE["cold nox"],
                cases.breakdown(cold[1:]),
            )
        )
    if "ci" in parts:
        ci = cases.clean_clone_ci(TEMPLATE_ROOT, output_dir / "ci")
        figures.append(ci)
        targets.append(
            Target(
                "template `bash .ci/run`, clean clone",
                ci.median,
                720.0,
                "s",
                BEFORE["ci"],
                "the baked suite runs once per checked bake (3) and in the demo's nox; "
                "each run is dominated by its deploys against the local AWS",
            )
        )
    report = [f"Measured {machine()}; medians of {runs} runs.", "", figures_table(figures)]
    if targets:
        report += ["", targets_table(targets)]
    if notes:
        report += ["", *notes]
    return "\n".join(report) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="measured runs per figure (default 3)")
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="measure only this part; repeat for several (default: all)",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("build/benchmark"))
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="where the report goes as Markdown (default: OUTPUT_DIR/results.md)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give 1 or more (e.g. --runs 3)")
    parts = set(args.only or PARTS)
    try:
        project = prepare(args.output_dir)
        report = measure(project, args.runs, parts, args.output_dir.resolve())
    except (BakeError, PipelineError, cases.BenchmarkError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    markdown = args.markdown or args.output_dir / "results.md"
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(report, encoding="utf-8")
    print(f"\n{report}\n(written to {markdown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
