"""Run one invoke task of a baked project in this process and report the seconds its synth
took: `python deploy_probe.py PACKAGE TASK [ARGS...]`, with the project's interpreter, from
the project's root.

The task runs exactly as `invoke TASK ARGS` would; the only difference is a timer around
infra.synth_cache.cached_synth, which every deploy's templates go through (synthesized, or
taken from the build cache; the module is light, so timing it loads no CDK). The last line
of stdout is `synth-seconds <float>`; the exit status is the task's.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

MARKER = "synth-seconds"


def timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    return wrapper


def main(argv: list[str]) -> int:
    package, *task = argv
    from invoke.main import program

    infra = importlib.import_module(f"{package}.infra.synth_cache")
    spent: list[float] = []
    name = "cached_synth"
    setattr(infra, name, timed(getattr(infra, name), spent))
    code = 0
    try:
        program.run(["invoke", *task])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    print(f"{MARKER} {sum(spent):.3f}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
