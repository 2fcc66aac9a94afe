"""invoke tasks: the pipeline for people (`invoke --list`, `invoke --help <task>`).

CI runs these same tasks through the nox sessions in noxfile.py, so a laptop and CI run the
same code. Each task is a thin door into src/{{ cookiecutter.package_name }}/commands.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

LINT_COMMANDS = ("ruff check .", "ruff format --check .", "mypy")


@contextmanager
def refusals() -> Iterator[None]:
    """A ProjectError is one line on stderr and exit 1, not a traceback."""
    from {{ cookiecutter.package_name }}.errors import ProjectError

    try:
        yield
    except ProjectError as error:
        raise Exit(f"error: {error}", code=1) from None


@task
def lint(c: Context) -> None:
    """Lint: ruff check, ruff format --check and mypy (strict), as CI runs them."""
    for command in LINT_COMMANDS:
        c.run(command)


@task
def test(c: Context) -> None:
    """Run the tests (pytest); anything after `--` goes to pytest, e.g. `-- -k config`."""
    c.run(f"python -m pytest {c.remainder}".strip())


@task(
    iterable=["env"],
    help={
        "env": "Environment to synthesize; repeat for several (default: every environment)",
        "model-sha256": "sha256 of the packaged model the templates should serve",
        "outdir": "Cloud assembly folder (default: cdk.out)",
    },
)
def synth(c: Context, env: list[str], model_sha256: str = "", outdir: str = "cdk.out") -> None:
    """Synthesize CloudFormation templates (cdk-nag checked) and say where each went."""
    from {{ cookiecutter.package_name }} import commands

    with refusals():
        commands.synth(env, Path(outdir), model_sha256)


ns = Collection(lint, test, synth)
ns.configure({"run": {"echo": True, "pty": False}})
