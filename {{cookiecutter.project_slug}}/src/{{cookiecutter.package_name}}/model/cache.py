"""A content-addressed cache of packaged models: a deploy whose model inputs did not change
packages nothing, and so never imports scikit-learn.

The key is the sha256 of everything that decides the archive's bytes: the training settings
(config/model.toml, validated), every source file of this model package (data, training,
handler, packaging) and the versions of Python, NumPy, SciPy and scikit-learn. An entry is
build/cache/models/<key>/: the files package_model wrote and packaged.json (the archive's
sha256, the baseline's files, the hold-out metrics). A hit copies them into the deploy's
folder and checks the archive against packaged.json; a mismatch (an edited or half-copied
entry) counts as a miss and the model is packaged again. Entries are written in a temporary
folder and renamed into place, so an entry is whole or absent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path

from ..caching import cached
from ..digests import add_sources, installed_versions, sha256_of
from .packaged import ARCHIVE, BASELINE_DIR, Metrics, PackagedModel
from .settings import TrainingSettings

FOLDER = "models"  # in the project's cache folder (caching.py)
MANIFEST = "packaged.json"
LIBRARIES = ("numpy", "scikit-learn", "scipy")
SOURCES = Path(__file__).parent

Packer = Callable[[Path, TrainingSettings], PackagedModel]


def library_versions() -> dict[str, str]:
    """The versions that decide how training computes, read from package metadata (no import)."""
    return installed_versions(LIBRARIES)


def inputs_key(settings: TrainingSettings, versions: Mapping[str, str] | None = None) -> str:
    """sha256 over the settings, this package's sources and the library versions."""
    digest = hashlib.sha256(repr(settings).encode("utf-8"))
    add_sources(digest, sorted(SOURCES.glob("*.py")), SOURCES)
    chosen = library_versions() if versions is None else versions
    digest.update(json.dumps(dict(chosen), sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _package_model(outdir: Path, settings: TrainingSettings) -> PackagedModel:
    from .package import package_model  # scikit-learn loads here, on a miss only

    return package_model(outdir, settings)


def _restore(entry: Path, outdir: Path) -> PackagedModel | None:
    """The entry copied into outdir, if it is whole and its archive is what it recorded."""
    try:
        recorded = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        shutil.copytree(entry, outdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST))
        archive = outdir / ARCHIVE
        if sha256_of(archive) != recorded["sha256"]:
            return None
        return PackagedModel(
            path=archive,
            sha256=recorded["sha256"],
            baseline={name: outdir / BASELINE_DIR / name for name in recorded["baseline"]},
            metrics=Metrics(**recorded["metrics"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _fill(staging: Path, outdir: Path, packaged: PackagedModel) -> None:
    """outdir's files and the manifest, as the entry for their key."""
    shutil.copytree(outdir, staging, dirs_exist_ok=True)
    manifest = {
        "sha256": packaged.sha256,
        "baseline": sorted(packaged.baseline),
        "metrics": asdict(packaged.metrics),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def cached_package(
    cache: Path, outdir: Path, settings: TrainingSettings, package: Packer = _package_model
) -> tuple[PackagedModel, bool]:
    """outdir's packaged model for settings, and whether it came from the cache folder."""
    return cached(
        cache / FOLDER / inputs_key(settings),
        restore=lambda entry: _restore(entry, outdir),
        build=lambda: package(outdir, settings),
        fill=lambda staging, packaged: _fill(staging, outdir, packaged),
    )
