"""Where the build caches live, and the writes that keep an entry whole or absent.

Two caches, both content-addressed (the key is a sha256 of every input that decides the
output, so a stale entry cannot be hit): packaged models (model/cache.py) and synthesized
templates (infra/synth_cache.py). They live in the project's build/cache/, which git ignores,
and share one shape (`cached`): restore an entry that checks out whole, else build and
remember.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CACHE = Path("build") / "cache"
# What a command says of a model or templates it found here.
REUSED = "from build/cache/, inputs unchanged"
Result = TypeVar("Result")


def cache_dir(root: Path) -> Path:
    """The project's cache folder (the tests point every test's project at one shared)."""
    return root / CACHE


def store(entry: Path, fill: Callable[[Path], None]) -> None:
    """Make `entry` by filling a temporary folder beside it and renaming it into place. A
    cache that cannot be written is skipped: the caller has its result either way."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.name[:12]}-", dir=entry.parent))
    except OSError:
        return
    try:
        fill(staging)
        shutil.rmtree(entry, ignore_errors=True)
        staging.rename(entry)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def cached(
    entry: Path,
    restore: Callable[[Path], Result | None],
    build: Callable[[], Result],
    fill: Callable[[Path, Result], None],
) -> tuple[Result, bool]:
    """The entry's result if `restore` finds it whole (None: missing, damaged or stale), else
    `build`'s, remembered as the entry (`fill(staging, result)` writes its files); and whether
    it came from the cache."""
    restored = restore(entry) if entry.is_dir() else None
    if restored is not None:
        return restored, True
    result = build()
    store(entry, lambda staging: fill(staging, result))
    return result, False
