"""`python -m bakery bake|demo`: the front door that tasks.py and noxfile.py call."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .bake import BakeError, bake
from .pipeline import PipelineError, Summary, run_governed_deploy, run_pipeline


def _answers(pairs: list[str]) -> dict[str, str]:
    answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(
                f"error: answer {pair!r} is not KEY=VALUE (e.g. project_name='Fraud Scorer')"
            )
        answers[key] = value
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bakery", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    bake_cmd = commands.add_parser("bake", help="render the template into a folder")
    bake_cmd.add_argument("--output-dir", type=Path, default=Path("build"))
    bake_cmd.add_argument("answers", nargs="*", metavar="KEY=VALUE", help="override an answer")
    demo_cmd = commands.add_parser(
        "demo",
        help="bake with the defaults, run the baked project's pipeline and deploy it locally",
    )
    demo_cmd.add_argument("--output-dir", type=Path, default=Path("build/demo"))
    args = parser.parse_args(argv)
    # cookiecutter logs a traceback when a hook refuses; the hook's own line says it all.
    logging.getLogger("cookiecutter").addHandler(logging.NullHandler())
    logging.getLogger("cookiecutter").propagate = False

    try:
        if args.command == "bake":
            project = bake(args.output_dir, _answers(args.answers))
            print(f"baked {project}")
            return 0
        project = bake(args.output_dir)
        summary = Summary()
        print(f"[demo] baked {project}; running its pipeline: nox (lint -> tests -> synth)")
        run_pipeline(project, summary)
        print(f"[demo] pipeline passed; templates are in {project / 'cdk.out'}")
        run_governed_deploy(project, summary)
        print(
            "[demo] release process on the local AWS passed: deployed, tagged v0.1.0, "
            "deployed a new model, tagged v0.2.0, rolled back to v0.1.0; bundles are in "
            f"{project / 'build' / 'deploys' / 'local'}"
        )
        print("[demo] summary:", *summary.lines(), sep="\n")
        return 0
    except (BakeError, PipelineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
