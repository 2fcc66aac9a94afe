"""The project the benchmark measures: a default bake with the demo's repository set-up, and
copies of it with more environments for the synth scaling figures."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

# Never copied into a scaled copy: environments, caches and build outputs.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".nox", ".venv", "cdk.out", "build", "__pycache__", "*_cache"
)
_HEADER = re.compile(r"^\[(?P<key>[^\]]+)\]\s*$")


def environment_names(config_text: str) -> list[str]:
    """The environments of a config/environments.toml, in file order."""
    return list(tomllib.loads(config_text)["environments"])


def add_environments(config_text: str, source: str, names: list[str]) -> str:
    """config_text with one copy of environment `source` (all its tables) per name appended.

    A copy differs from its source only in its name, so its stacks, buckets and endpoint get
    their own names and synth does the same work per environment.
    """
    existing = environment_names(config_text)
    if source not in existing:
        raise ValueError(f"no environment {source!r} to copy (the file has {existing})")
    if clash := sorted(set(names) & set(existing)):
        raise ValueError(f"environment(s) {clash} exist already")
    block: list[str] = []
    inside = False
    for line in config_text.splitlines():
        header = _HEADER.match(line)
        if header:
            key = header["key"]
            inside = key == f"environments.{source}" or key.startswith(f"environments.{source}.")
        if inside:
            block.append(line)
    prefix = f"[environments.{source}"
    copies = [
        "\n".join(
            f"[environments.{name}" + line[len(prefix) :] if line.startswith(prefix) else line
            for line in block
        )
        for name in names
    ]
    return "\n\n".join([config_text.rstrip("\n"), *copies]) + "\n"


def scaled_copy(project: Path, destination: Path, count: int, source: str = "dev") -> Path:
    """A copy of project at destination whose config has `count` environments (copies of
    `source` named <source>2, <source>3, ...); returns the copy's root."""
    config = project / "config" / "environments.toml"
    text = config.read_text(encoding="utf-8")
    have = len(environment_names(text))
    if count < have:
        raise ValueError(f"the project has {have} environments already; ask for {have} or more")
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(project, destination, ignore=_NOT_COPIED)
    names = [f"{source}{number}" for number in range(2, 2 + count - have)]
    (destination / "config" / "environments.toml").write_text(
        add_environments(text, source, names), encoding="utf-8"
    )
    return destination
