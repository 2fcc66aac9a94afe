"""The commands behind `invoke train` and `invoke package`: run the model code, print for people.

Refusals (a bad config/model.toml) are ConfigErrors; the front door prints their one line.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from ..output import new_console
from .inference import MODEL_FILE
from .package import package_model, write_model_json
from .packaged import Metrics, PackagedModel
from .settings import MODEL_CONFIG_FILE, TrainingSettings, load, load_config
from .train import train


def _announce(settings: TrainingSettings, out: Console) -> None:
    out.print(
        f"Training on {settings.samples} synthetic sessions (seed {settings.seed}, "
        f"C {settings.regularization}, {settings.holdout_percent} % held out) "
        f"from {MODEL_CONFIG_FILE.as_posix()}"
    )


def _table(title: str, metrics: Metrics, files: dict[str, Path], sha256: str = "") -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("hold-out accuracy", f"{metrics.accuracy:.4f}")
    table.add_row("hold-out ROC AUC", f"{metrics.roc_auc:.4f}")
    table.add_row("hold-out log loss", f"{metrics.log_loss:.4f}")
    table.add_row("malicious sessions", f"{metrics.malicious_rate:.1%}")
    table.add_row("rows (train / hold-out)", f"{metrics.train_rows} / {metrics.holdout_rows}")
    table.add_row("solver iterations", str(metrics.iterations))
    if sha256:
        table.add_row("sha256", sha256)
    for label, path in files.items():
        table.add_row(label, str(path))
    return table


def _convergence_note(metrics: Metrics, out: Console) -> None:
    if not metrics.converged:
        out.print(
            f"note: the solver stopped at max_iter ({metrics.iterations}) before converging; "
            "raise training.max_iter in config/model.toml"
        )


def train_command(root: Path, outdir: Path, out: Console | None = None) -> Path:
    """Train from config/model.toml, write outdir/model.json and show the hold-out metrics."""
    out = out or new_console()
    settings = load(root)
    _announce(settings, out)
    started = time.monotonic()
    parameters = train(settings)
    path = write_model_json(outdir, parameters)
    out.print(_table("Trained model", parameters.metrics, {"model": path}))
    _convergence_note(parameters.metrics, out)
    out.print(f"trained in {time.monotonic() - started:.1f} s")
    return path


def package_command(root: Path, outdir: Path, out: Console | None = None) -> PackagedModel:
    """Train and package model.tar.gz with its baseline into outdir; show metrics and sha256.
    A model below config/model.toml's [gate] is refused and nothing is written."""
    out = out or new_console()
    config = load_config(root)
    _announce(config.training, out)
    started = time.monotonic()
    packaged = package_model(outdir, config.training, config.gate)
    files = {"model": packaged.path.with_name(MODEL_FILE), "archive": packaged.path}
    files.update({f"baseline {name}": path for name, path in packaged.baseline.items()})
    out.print(_table("Packaged model", packaged.metrics, files, packaged.sha256))
    _convergence_note(packaged.metrics, out)
    out.print(f"packaged in {time.monotonic() - started:.1f} s; sha256 {packaged.sha256}")
    return packaged
