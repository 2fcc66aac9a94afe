"""invoke tasks for the template repository (`invoke --list`); the nox sessions call these."""

from __future__ import annotations

import shlex

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

LINT_COMMANDS = ("ruff check .", "ruff format --check .", "mypy")


@task
def lint(c: Context) -> None:
    """Lint the template's own code: ruff check, ruff format --check, mypy (strict)."""
    for command in LINT_COMMANDS:
        c.run(command)


@task
def test(c: Context) -> None:
    """Run the template's tests (bakes the matrix); anything after `--` goes to pytest."""
    c.run(f"python -m pytest {c.remainder}".strip())


@task(
    iterable=["answer"],
    help={
        "answer": "Override one answer, KEY=VALUE; repeat for several",
        "output-dir": "Where the project folder goes (default: build)",
    },
)
def bake(c: Context, answer: list[str], output_dir: str = "build") -> None:
    """Render the template with the default answers into build/<slug>/ (replacing it)."""
    c.run(shlex.join(["python", "-m", "bakery", "bake", "--output-dir", output_dir, *answer]))


@task(help={"output-dir": "Where the demo project goes (default: build/demo)"})
def demo(c: Context, output_dir: str = "build/demo") -> None:
    """Bake a project and run its pipeline (nox: lint -> tests -> synth) end to end."""
    c.run(shlex.join(["python", "-m", "bakery", "demo", "--output-dir", output_dir]))


@task
def benchmark(c: Context) -> None:
    """Time the demo project's pipeline (medians; figures, not asserts); args after -- go to
    `python -m benchmarks` (e.g. -- --runs 5 --only synth)."""
    c.run(shlex.join(["python", "-m", "benchmarks", *shlex.split(c.remainder)]))


ns = Collection(lint, test, bake, demo, benchmark)
ns.configure({"run": {"echo": True, "pty": False}})
