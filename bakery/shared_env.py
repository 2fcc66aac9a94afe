"""One environment with a baked project's heavy dependencies, shared by every bake.

aws-cdk-lib alone is ~60 MB; installing it per bake would dominate the test time. Baked
projects run from their folder with PYTHONPATH=src, so they never install themselves here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path


def find_uv() -> str:
    """The uv executable: the `uv` Python package's, else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise RuntimeError("uv is not installed: `python -m pip install uv`") from None
        return found


def project_requirements(pyproject: Path) -> list[str]:
    """The runtime dependencies and the dev group of a baked project's pyproject.toml."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    dev = [item for item in data["dependency-groups"]["dev"] if isinstance(item, str)]
    return [*data["project"]["dependencies"], *dev]


def locked_requirements(project: Path) -> list[str]:
    """What a baked project's own nox installs: the pins of its uv.lock (runtime and dev,
    without the project itself), as `-r <file>` arguments; the pyproject.toml ranges when
    the bake could not lock (no registry at bake time)."""
    if not (project / "uv.lock").is_file():
        return project_requirements(project / "pyproject.toml")
    pinned = project / "build" / "locked-requirements.txt"
    pinned.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            find_uv(),
            "export",
            "--locked",
            "--no-hashes",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--quiet",
            "--output-file",
            str(pinned),
        ],
        cwd=project,
        check=True,
    )
    return ["-r", str(pinned)]


def env_python(location: Path) -> Path:
    return location / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def create_env(location: Path, requirements: list[str]) -> Path:
    """A fresh uv environment at `location` with `requirements`; returns its python.

    Bytecode is compiled at install time so importing aws_cdk stays fast even where
    PYTHONDONTWRITEBYTECODE is set.
    """
    uv = find_uv()
    if location.exists():
        shutil.rmtree(location)
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(location)], check=True)
    python = env_python(location)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(python),
            *requirements,
        ],
        check=True,
    )
    return python
