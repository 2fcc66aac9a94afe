"""nox sessions: what CI runs. Each provisions an environment and runs the invoke task of
the same name, so CI and a laptop run the same code (`nox -l` lists them).

`nox` alone runs lint -> tests -> synth and stops at the first failure.
"""

from __future__ import annotations

import shlex

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests", "synth"]
nox.options.stop_on_first_error = True
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = PYPROJECT["project"]["requires-python"].removeprefix(">=")


def install(session: nox.Session) -> None:
    """The project (editable) and its dev dependency group, as pyproject.toml lists them."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "dev"))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, ruff format --check and mypy (invoke lint)."""
    install(session)
    session.run("invoke", "lint")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite (invoke test); arguments after -- go to pytest."""
    install(session)
    session.run("invoke", "test", "--", shlex.join(session.posargs))  # one string: quotes kept


@nox.session(python=PYTHON)
def synth(session: nox.Session) -> None:
    """CloudFormation templates for every environment (invoke synth); `-- --env prod` for one."""
    install(session)
    session.run("invoke", "synth", *session.posargs)


@nox.session(python=PYTHON, default=False)
def deploy(session: nox.Session) -> None:
    """Governed deploy (invoke deploy): `-- --env E [--execute]`; what the deploy workflow runs."""
    install(session)
    session.run("invoke", "deploy", *session.posargs)


@nox.session(python=PYTHON, default=False)
def tag(session: nox.Session) -> None:
    """Release tag (invoke tag): `-- [--bump patch|minor|major] [--execute]`; what CI runs."""
    install(session)
    session.run("invoke", "tag", *session.posargs)


@nox.session(python=PYTHON, default=False)
def rollback(session: nox.Session) -> None:
    """Rollback (invoke rollback): `-- --env E [--to ID|TAG|--to-model-package N] [--execute]`."""
    install(session)
    session.run("invoke", "rollback", *session.posargs)


@nox.session(python=PYTHON, default=False)
def template(session: nox.Session) -> None:
    """Up to date with the template? (invoke template-check); `-- --strict` fails if not."""
    install(session)
    session.run("invoke", "template-check", *session.posargs)
