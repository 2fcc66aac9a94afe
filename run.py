#!/usr/bin/env python3
"""Run this repository's nox sessions on a fresh machine: `python3 run.py demo`.

Needs Python 3.11+ and git only. The first run makes .tools/ (a virtual environment with nox
and uv); nox then builds each session's environment with uv. Sessions: `nox -l` lists them
(lint, tests, bake, demo, benchmark); give several to run them in order.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
REQUIREMENTS = ("nox[uv]>=2025.2.9", "uv>=0.6")


def tools_python() -> Path:
    return TOOLS / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def ensure_tools() -> Path:
    """The .tools environment, made (or remade, when REQUIREMENTS changed) as needed."""
    marker = TOOLS / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return tools_python()
    print(f"run.py: installing {', '.join(REQUIREMENTS)} into {TOOLS.name}/ (first run only)")
    venv.create(TOOLS, with_pip=True, clear=True)
    subprocess.run(
        [
            str(tools_python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *REQUIREMENTS,
        ],
        check=True,
    )
    marker.write_text(wanted, encoding="utf-8")
    return tools_python()


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036  (run.py may be started by any python3)
        print(
            "error: Python 3.11 or newer is needed; run with python3.11 run.py ...", file=sys.stderr
        )
        return 2
    if not argv or argv[0].startswith("-"):
        print(
            "usage: python3 run.py SESSION [SESSION ...] [-- ARGS]   (e.g. demo, tests)",
            file=sys.stderr,
        )
        return 2
    sessions, passthrough = argv, []
    if "--" in argv:
        cut = argv.index("--")
        sessions, passthrough = argv[:cut], argv[cut + 1 :]
    command = [str(ensure_tools()), "-m", "nox", "--sessions", *sessions]
    if passthrough:
        command += ["--", *passthrough]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
