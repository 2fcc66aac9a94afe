"""The commands behind tasks.py (and so behind the nox sessions CI runs).

Each loads the configuration, calls the engine and prints for people. Refusals are
ProjectErrors; the front door turns them into one line and a non-zero exit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from .config import load

console = Console(highlight=False)


def synth(environments: Sequence[str], outdir: Path, model_sha256: str = "") -> list[Path]:
    """Synthesize the named environments (all when none) into outdir; returns the templates."""
    from .infra.app import UNPACKAGED_MODEL_SHA256, synthesize_into

    settings = load()
    selected = settings.select(list(environments))
    digest = model_sha256 or UNPACKAGED_MODEL_SHA256
    names = ", ".join(env.name for env in selected)
    console.print(f"Synthesizing {len(selected)} environment(s) ({names}) with cdk-nag checks")
    started = time.monotonic()
    with console.status("synthesizing…"):
        stacks = synthesize_into(outdir, settings, selected, digest)
    table = Table(title=f"Templates in {outdir}/", title_justify="left", box=box.SIMPLE)
    table.add_column("stack (one per environment and part)")
    table.add_column("template")
    for stack in stacks:
        table.add_row(stack.stack_name, stack.template_path.name)
    console.print(table)
    console.print(f"{len(stacks)} templates in {time.monotonic() - started:.1f} s")
    if digest == UNPACKAGED_MODEL_SHA256:
        console.print(
            "note: no --model-sha256 given, so the templates reference the placeholder digest "
            "000…; a deploy synthesizes with the digest of the model it packages."
        )
    return [stack.template_path for stack in stacks]
