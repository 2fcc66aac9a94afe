"""The packaged-model cache: unchanged inputs package nothing (and import no scikit-learn),
any changed input packages again, and a damaged entry is never served."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.model import cache
from {{ cookiecutter.package_name }}.model.package import package_model
from {{ cookiecutter.package_name }}.model.packaged import PackagedModel
from {{ cookiecutter.package_name }}.model.settings import TrainingSettings, load

from .conftest import PROJECT_ROOT, python_output

SETTINGS = load(PROJECT_ROOT)


class Packer:
    """package_model, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, outdir: Path, settings: TrainingSettings) -> PackagedModel:
        self.calls += 1
        return package_model(outdir, settings)


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_unchanged_inputs_come_from_the_cache_byte_for_byte(tmp_path: Path) -> None:
    packer = Packer()
    first, reused = cache.cached_package(tmp_path, tmp_path / "one", SETTINGS, packer)
    assert (reused, packer.calls) == (False, 1)
    second, reused = cache.cached_package(tmp_path, tmp_path / "two", SETTINGS, packer)
    assert (reused, packer.calls) == (True, 1)
    assert second.sha256 == first.sha256 and second.metrics == first.metrics
    assert files(tmp_path / "two") == files(tmp_path / "one")
    assert second.path == tmp_path / "two" / "model.tar.gz"
    assert set(second.baseline) == set(first.baseline)


def test_a_changed_input_packages_again(tmp_path: Path) -> None:
    packer = Packer()
    cache.cached_package(tmp_path, tmp_path / "one", SETTINGS, packer)
    changed = replace(SETTINGS, regularization=SETTINGS.regularization / 2)
    other, reused = cache.cached_package(tmp_path, tmp_path / "two", changed, packer)
    assert (reused, packer.calls) == (False, 2)
    assert other.sha256 == package_model(tmp_path / "fresh", changed).sha256


def test_the_key_covers_settings_library_versions_and_code() -> None:
    versions = cache.library_versions()
    key = cache.inputs_key(SETTINGS, versions)
    assert key == cache.inputs_key(SETTINGS, dict(versions))
    assert key != cache.inputs_key(replace(SETTINGS, seed=SETTINGS.seed + 1), versions)
    assert key != cache.inputs_key(SETTINGS, {**versions, "scikit-learn": "0.0"})
    assert {"python", "numpy", "scikit-learn", "scipy"} <= set(versions)
    assert {path.name for path in cache.SOURCES.glob("*.py")} >= {"train.py", "inference.py"}


def test_a_damaged_entry_is_packaged_again(tmp_path: Path) -> None:
    packer = Packer()
    good, _ = cache.cached_package(tmp_path, tmp_path / "one", SETTINGS, packer)
    entry = tmp_path / cache.FOLDER / cache.inputs_key(SETTINGS)
    (entry / "model.tar.gz").write_bytes(b"not the model")
    again, reused = cache.cached_package(tmp_path, tmp_path / "two", SETTINGS, packer)
    assert (reused, packer.calls) == (False, 2)
    assert again.sha256 == good.sha256
    recorded = json.loads((entry / cache.MANIFEST).read_text(encoding="utf-8"))
    assert recorded["sha256"] == good.sha256  # the entry was written again, whole


def test_a_hit_does_not_import_scikit_learn(tmp_path: Path) -> None:
    cache.cached_package(tmp_path, tmp_path / "warm", SETTINGS, Packer())
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from {{ cookiecutter.package_name }}.model.cache import cached_package\n"
        "from {{ cookiecutter.package_name }}.model.settings import load\n"
        f"root = Path({str(tmp_path)!r})\n"
        f"_, hit = cached_package(root, root / 'cold', load(Path({str(PROJECT_ROOT)!r})))\n"
        "print(hit, 'sklearn' in sys.modules)\n"
    )
    assert python_output(script).split() == ["True", "False"]


@pytest.mark.parametrize("damage", ["manifest", "folder"])
def test_a_cache_that_cannot_be_read_or_written_is_not_an_error(
    tmp_path: Path, damage: str
) -> None:
    entry_root = tmp_path / cache.FOLDER
    if damage == "folder":  # a file where the cache folder goes: nothing can be written
        entry_root.write_text("", encoding="utf-8")
    else:
        entry = entry_root / cache.inputs_key(SETTINGS)
        entry.mkdir(parents=True)
        (entry / cache.MANIFEST).write_text("{", encoding="utf-8")
    packaged, reused = cache.cached_package(tmp_path, tmp_path / "out", SETTINGS, Packer())
    assert not reused and packaged.path.is_file()
