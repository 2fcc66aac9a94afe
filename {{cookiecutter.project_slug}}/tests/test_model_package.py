"""model.tar.gz: the extracted artifact serves what was trained, and packaging is reproducible."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import sys
import tarfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }}.model.commands import package_command, train_command
from {{ cookiecutter.package_name }}.model.data import FEATURES
from {{ cookiecutter.package_name }}.model.package import (
    inference_source,
    package_model,
    write_atomic,
)
from {{ cookiecutter.package_name }}.model.packaged import PackagedModel
from {{ cookiecutter.package_name }}.model.settings import TrainingSettings, load
from {{ cookiecutter.package_name }}.model.train import FittedModel, fit

from .conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def settings() -> TrainingSettings:
    return load(PROJECT_ROOT)


@pytest.fixture(scope="module")
def packaged(settings: TrainingSettings, tmp_path_factory: pytest.TempPathFactory) -> PackagedModel:
    return package_model(tmp_path_factory.mktemp("first"), settings)


@pytest.fixture(scope="module")
def fitted(settings: TrainingSettings) -> FittedModel:
    return fit(settings)


def members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return tar.getmembers()


def extract(path: Path, into: Path) -> Path:
    """Unpack as SageMaker does into /opt/ml/model (by hand: no extraction-filter differences)."""
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            target = into / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                source = tar.extractfile(member)
                assert source is not None
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read())
    return into


def load_handler(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import code/inference.py from the artifact as the container does: as a top-level module
    named after the file, registered in sys.modules, unrelated to this package."""
    spec = importlib.util.spec_from_file_location("inference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "inference", module)
    spec.loader.exec_module(module)
    return module


# --- the artifact serves the trained model --------------------------------------------------


def test_the_extracted_handler_serves_the_pipelines_scores(
    packaged: PackagedModel,
    fitted: FittedModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_dir = extract(packaged.path, tmp_path / "opt-ml-model")
    handler = load_handler(model_dir / "code" / "inference.py", monkeypatch)
    assert handler.__file__ == str(model_dir / "code" / "inference.py")
    model = handler.model_fn(str(model_dir))
    rows = fitted.holdout.x[:50]
    expected = list(fitted.pipeline.predict_proba(rows)[:, 1])
    bodies = {
        "application/json": json.dumps({"instances": rows.tolist()}).encode(),
        "text/csv": "\n".join(",".join(repr(v) for v in row) for row in rows.tolist()).encode(),
    }
    for content_type, body in bodies.items():
        data = handler.read_request(body, content_type)
        answer, answer_type = handler.write_answer(handler.score(data, model), "application/json")
        assert answer_type == "application/json"
        assert json.loads(answer)["scores"] == pytest.approx(expected, abs=1e-9), content_type


def test_the_archive_holds_model_json_and_the_handler(
    packaged: PackagedModel, tmp_path: Path
) -> None:
    model_dir = extract(packaged.path, tmp_path)
    assert (model_dir / "code" / "inference.py").read_bytes() == inference_source()
    written = packaged.path.with_name("model.json")
    assert (model_dir / "model.json").read_bytes() == written.read_bytes()
    assert json.loads((model_dir / "model.json").read_bytes())["features"] == list(FEATURES)


# --- reproducibility ---------------------------------------------------------------------------


def test_packaging_twice_gives_identical_bytes(
    packaged: PackagedModel, settings: TrainingSettings, tmp_path: Path
) -> None:
    again = package_model(tmp_path / "elsewhere", settings)
    assert again.path.read_bytes() == packaged.path.read_bytes()
    assert again.sha256 == packaged.sha256
    assert packaged.sha256 == hashlib.sha256(packaged.path.read_bytes()).hexdigest()
    for name, path in packaged.baseline.items():
        assert again.baseline[name].read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    "change", [{"regularization": 0.5}, {"seed": 1}, {"samples": 4000}, {"holdout_percent": 20}]
)
def test_a_changed_training_setting_changes_the_sha256(
    packaged: PackagedModel, settings: TrainingSettings, change: dict[str, Any], tmp_path: Path
) -> None:
    assert package_model(tmp_path, replace(settings, **change)).sha256 != packaged.sha256


def test_tar_entries_are_sorted_with_fixed_metadata(packaged: PackagedModel) -> None:
    entries = members(packaged.path)
    assert [entry.name for entry in entries] == ["code", "code/inference.py", "model.json"]
    for entry in entries:
        assert (entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname) == (0, 0, 0, "", "")
        assert entry.mode == (0o755 if entry.isdir() else 0o644), entry.name
        assert entry.isdir() or entry.isfile()


def test_the_gzip_header_has_no_time_or_name(packaged: PackagedModel) -> None:
    header = packaged.path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08", "gzip, deflate"
    assert header[3] == 0, "no flags: no file name or comment recorded"
    assert header[4:8] == b"\x00\x00\x00\x00", "mtime 0"
    with gzip.open(packaged.path) as unzipped:
        assert len(unzipped.read()) % tarfile.RECORDSIZE == 0


def test_a_failed_write_leaves_no_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model.tar.gz"
    target.write_bytes(b"the previous archive")

    def broken_replace(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new bytes")
    assert target.read_bytes() == b"the previous archive"
    assert [path.name for path in tmp_path.iterdir()] == ["model.tar.gz"]


# --- the monitoring baseline -----------------------------------------------------------------


def test_the_baseline_files_parse_and_cover_every_feature(
    packaged: PackagedModel, fitted: FittedModel
) -> None:
    assert sorted(packaged.baseline) == ["constraints.json", "statistics.json"]
    statistics = json.loads(packaged.baseline["statistics.json"].read_bytes())
    constraints = json.loads(packaged.baseline["constraints.json"].read_bytes())
    assert statistics["version"] == constraints["version"] == 0.0
    assert statistics["dataset"]["item_count"] == packaged.metrics.train_rows
    assert [f["name"] for f in statistics["features"]] == list(FEATURES)
    assert [f["name"] for f in constraints["features"]] == list(FEATURES)
    for index, feature in enumerate(statistics["features"]):
        numbers = feature["numerical_statistics"]
        column = fitted.train.x[:, index]
        assert numbers["common"] == {"num_present": len(column), "num_missing": 0}
        assert numbers["mean"] == pytest.approx(float(column.mean()))
        assert numbers["sum"] == pytest.approx(float(column.sum()))
        assert numbers["std_dev"] == pytest.approx(float(column.std()))
        assert (numbers["min"], numbers["max"]) == (float(column.min()), float(column.max()))
        buckets = numbers["distribution"]["kll"]["buckets"]
        assert sum(bucket["count"] for bucket in buckets) == len(column)
    types = {f["name"]: f["inferred_type"] for f in constraints["features"]}
    assert types == {
        "failed_logins": "Integral",
        "bytes_out_mb": "Fractional",
        "distinct_ports": "Integral",
        "off_hours": "Integral",
        "geo_velocity_kmh": "Fractional",
    }
    for feature in constraints["features"]:
        assert feature["completeness"] == 1.0
        assert feature["num_constraints"] == {"is_non_negative": True}
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"


# --- the commands ------------------------------------------------------------------------------


def test_the_commands_report_where_things_went(tmp_path: Path) -> None:
    buffer = io.StringIO()
    out = Console(file=buffer, width=200)
    model_json = train_command(PROJECT_ROOT, tmp_path / "trained", out)
    assert model_json == tmp_path / "trained" / "model.json"
    packaged = package_command(PROJECT_ROOT, tmp_path / "packaged", out)
    printed = buffer.getvalue()
    assert "hold-out ROC AUC" in printed
    assert str(model_json) in printed
    assert packaged.sha256 in printed
    assert str(packaged.path) in printed
    assert model_json.read_bytes() == (tmp_path / "packaged" / "model.json").read_bytes()
