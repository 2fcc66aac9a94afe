"""nox sessions: what CI runs. Each provisions an environment and runs the invoke task of
the same name, so CI and a laptop run the same code (`nox -l` lists them).

`nox` alone runs lint -> tests -> synth and stops at the first failure.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nox


def find_uv() -> str | None:
    """The uv nox will use, found as nox finds it: $UV, else the `uv` package nox[uv]
    installs beside nox, else uv on PATH; None when there is none."""
    named = os.environ.get("UV")
    if named:
        return shutil.which(named)
    try:
        return str(importlib.import_module("uv").find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


# uv only, never a silent fallback to virtualenv + pip (15 minutes and 3.8 GB for a first
# `nox` instead of about a minute). nox's own "No backends present" says nothing of how to
# get uv, so say it here, in one line.
if find_uv() is None:
    sys.exit(
        "error: nox builds this project's environments with uv, and there is no uv: "
        "install nox with it (pipx install 'nox[uv]' or pip install 'nox[uv]'), "
        "or put uv on PATH"
    )
nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
# Where PYTHONDONTWRITEBYTECODE is set (as on some CI images), every process of every session
# would compile aws_cdk, boto3 and scikit-learn from source on import, a few seconds each
# time. Sessions write bytecode instead, once per module actually imported, under
# .nox/pycache/ (outside the source tree): cheaper than compiling whole environments at
# install time (uv's --compile-bytecode), which costs half a minute per session.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(".nox", "pycache").resolve()))
nox.options.sessions = ["lint", "tests", "synth"]
nox.options.stop_on_first_error = True
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")
PYTHON = PYPROJECT["project"]["requires-python"].removeprefix(">=")


INSTALLED_FROM = ".installed-from"  # in each session's environment: the lock's sha256
LOCK = Path("uv.lock")


def install(session: nox.Session) -> None:
    """Exactly what uv.lock pins: the project (editable), its dependencies and the dev group
    (`uv sync --locked` into the session's environment). A missing lock, or one that no
    longer matches pyproject.toml, stops the session in one line: what CI tests and deploys
    is what the lock says, never a fresh resolution.

    An environment already synced from this same lock is not synced again (about 3 s per
    session); a new environment has no stamp, so `nox --reuse-venv no` reinstalls."""
    uv = find_uv()
    assert uv is not None  # checked when this file was loaded
    if not LOCK.is_file():
        session.error(f"there is no {LOCK}: run `uv lock` and commit it (sessions install from it)")
    # The stamp covers both files and is written only after a passed check and a sync: the
    # same two files need neither again.
    stamp = session.env_dir / INSTALLED_FROM
    wanted = hashlib.sha256(LOCK.read_bytes() + Path("pyproject.toml").read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        session.log(f"synced from this {LOCK} already; `nox --reuse-venv no` reinstalls")
        return
    checked = subprocess.run([uv, "lock", "--check"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        said = next((line.strip() for line in checked.stderr.splitlines() if line.strip()), "")
        session.error(
            f"{LOCK} is not current with pyproject.toml (uv lock --check: {said or 'failed'}): "
            f"run `uv lock` and commit {LOCK} (sessions install only what a current lock pins)"
        )
    location = str(session.virtualenv.location)
    # uv sync installs into UV_PROJECT_ENVIRONMENT (it ignores VIRTUAL_ENV), here nox's.
    session.run_install(
        uv, "sync", "--locked", env={"UV_PROJECT_ENVIRONMENT": location}, external=True
    )
    stamp.write_text(wanted, encoding="utf-8")


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
    """CloudFormation templates for every environment (invoke synth), then checkov on them
    (invoke scan); `-- --env prod` for one."""
    install(session)
    session.run("invoke", "synth", *session.posargs)
    session.run("invoke", "scan")


@nox.session(python=PYTHON, default=False)
def audit(session: nox.Session) -> None:
    """Known vulnerabilities in uv.lock's pins (invoke audit: pip-audit); CI's informational job."""
    install(session)
    session.run("invoke", "audit")


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
def bootstrap(session: nox.Session) -> None:
    """An environment's CI roles (invoke bootstrap): `-- --env E [--execute]`, by an admin."""
    install(session)
    session.run("invoke", "bootstrap", *session.posargs)


@nox.session(python=PYTHON, default=False)
def drift(session: nox.Session) -> None:
    """Drift against the ledger (invoke drift): `-- --env E [--json]`; what drift.yml runs."""
    install(session)
    session.run("invoke", "drift", *session.posargs)


@nox.session(python=PYTHON, default=False)
def template(session: nox.Session) -> None:
    """Up to date with the template? (invoke template-check); `-- --strict` fails if not."""
    install(session)
    session.run("invoke", "template-check", *session.posargs)
