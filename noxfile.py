"""nox sessions for the template repository (`nox -l`); each runs the invoke task of the
same name in an environment built by uv from pyproject.toml's dependency groups."""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import sys
from pathlib import Path

import nox


def find_uv() -> str | None:
    """The uv nox will use: $UV, else the `uv` package beside nox (run.py installs nox[uv]
    into .tools/), else uv on PATH; None when there is none."""
    named = os.environ.get("UV")
    if named:
        return shutil.which(named)
    try:
        return str(importlib.import_module("uv").find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


# uv only, never a silent fallback to virtualenv + pip; nox's own "No backends present"
# would not say how to get uv.
if find_uv() is None:
    sys.exit("error: these sessions need uv: run them with `python3 run.py SESSION`")
nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
# Bytecode once per imported module, under .nox/pycache/, even where PYTHONDONTWRITEBYTECODE
# is set (the baked noxfile explains why).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(".nox", "pycache").resolve()))
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install(session: nox.Session, group: str) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy on the template's own code (hooks, bakery, tests)."""
    install(session, "lint")
    session.run("invoke", "lint")


@nox.session
def tests(session: nox.Session) -> None:
    """Hook rules, bad answers, and every bake of the matrix with its own checks and tests."""
    install(session, "test")
    session.run("invoke", "test", "--", shlex.join(session.posargs))  # one string: quotes kept


@nox.session(default=False)
def bake(session: nox.Session) -> None:
    """Render the template with the defaults into build/ (`-- --answer KEY=VALUE`)."""
    install(session, "test")
    session.run("invoke", "bake", *session.posargs)


@nox.session(default=False)
def demo(session: nox.Session) -> None:
    """Bake into build/demo and run the baked project's pipeline end to end."""
    install(session, "test")
    session.run("invoke", "demo", *session.posargs)


@nox.session(default=False)
def benchmark(session: nox.Session) -> None:
    """Time the demo project's pipeline and print medians against the targets (-- --help)."""
    install(session, "test")
    session.run("invoke", "benchmark", "--", shlex.join(session.posargs))
