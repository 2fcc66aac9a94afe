"""Build the reproducible model.tar.gz SageMaker serves, and its monitoring baseline.

The archive holds model.json and code/inference.py. Everything that could vary between two
builds of the same model is fixed (entry order, times, owners, modes, the gzip header), so
the sha256 of model.tar.gz names the model: the same config/model.toml and code give the same
digest on every machine with the same zlib, and any change gives a new one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from dataclasses import asdict
from pathlib import Path

from .baseline import baseline_files
from .gate import check_gate
from .inference import MODEL_FILE
from .packaged import ARCHIVE, BASELINE_DIR, HANDLER, PackagedModel
from .settings import Gate, TrainingSettings
from .train import ModelParameters, fit

INFERENCE_SOURCE = Path(__file__).with_name("inference.py")
ARCHIVE_MTIME = 0  # every entry's modification time, and the gzip header's


def write_atomic(path: Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        Path(temporary).chmod(0o644)  # mkstemp makes it 0600; these files are for sharing
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_model_json(outdir: Path, parameters: ModelParameters) -> Path:
    """outdir/model.json, the model's canonical parameters."""
    return write_atomic(outdir / MODEL_FILE, parameters.to_json())


def inference_source() -> bytes:
    """code/inference.py's bytes (LF line endings, whatever the checkout did to them)."""
    return INFERENCE_SOURCE.read_bytes().replace(b"\r\n", b"\n")


def _entry(name: str, data: bytes | None) -> tarfile.TarInfo:
    """A tar header with nothing from the machine that built it; data None is a folder."""
    info = tarfile.TarInfo(name)
    info.mtime = ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = len(data)
        info.mode = 0o644
    return info


def build_archive(files: dict[str, bytes]) -> bytes:
    """A reproducible .tar.gz of `files` (archive path -> bytes) with their parent folders."""
    folders = {str(parent) for name in files for parent in Path(name).parents} - {"."}
    entries: dict[str, bytes | None] = {folder: None for folder in folders}
    entries.update(files)
    raw = io.BytesIO()
    # An empty filename and a fixed mtime keep the build's path and time out of the header.
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=ARCHIVE_MTIME, filename="") as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name in sorted(entries):
            data = entries[name]
            tar.addfile(_entry(name, data), None if data is None else io.BytesIO(data))
    return raw.getvalue()


def package_model(
    outdir: Path, settings: TrainingSettings, gate: Gate | None = None
) -> PackagedModel:
    """Train with settings (a project's config/model.toml, model/settings.py) and package.

    Writes outdir/model.json, outdir/model.tar.gz and outdir/baseline/{statistics,
    constraints}.json; the archive is written last, so its presence means the rest is there.
    A model below `gate` is refused before any file is written.
    """
    fitted = fit(settings)
    if gate is not None:
        check_gate(asdict(fitted.parameters.metrics), gate)
    model_json = fitted.parameters.to_json()
    write_atomic(outdir / MODEL_FILE, model_json)
    baseline = {
        name: write_atomic(outdir / BASELINE_DIR / name, data)
        for name, data in sorted(baseline_files(fitted.train).items())
    }
    archive = build_archive({MODEL_FILE: model_json, HANDLER: inference_source()})
    path = write_atomic(outdir / ARCHIVE, archive)
    return PackagedModel(
        path=path,
        sha256=hashlib.sha256(archive).hexdigest(),
        baseline=baseline,
        metrics=fitted.parameters.metrics,
    )
