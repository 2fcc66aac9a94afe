"""The synthesized-templates cache: the same inputs reuse the assembly (and start no CDK),
any changed input synthesizes again, and a damaged entry is never served."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.caching import REUSED
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.infra import synth_cache

from .conftest import MODEL_SHA256, PROJECT_ROOT, python_output


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_same_inputs_reuse_the_assembly_byte_for_byte(
    tmp_path: Path, settings: Settings
) -> None:
    dev = settings.environment("dev")
    first, reused = synth_cache.cached_synth(
        tmp_path, tmp_path / "1", settings, [dev], MODEL_SHA256
    )
    assert not reused
    second, reused = synth_cache.cached_synth(
        tmp_path, tmp_path / "2", settings, [dev], MODEL_SHA256
    )
    assert reused
    assert files(tmp_path / "2") == files(tmp_path / "1")
    assert [replace(s, template_path=Path(s.template_path.name)) for s in second] == [
        replace(s, template_path=Path(s.template_path.name)) for s in first
    ]
    assert all(stack.template_path.parent == tmp_path / "2" for stack in second)


def test_the_key_covers_settings_environment_model_and_code(settings: Settings) -> None:
    dev, prod = settings.environment("dev"), settings.environment("prod")
    key = synth_cache.synth_key(settings, [dev], MODEL_SHA256)
    assert key == synth_cache.synth_key(settings, [dev], MODEL_SHA256)
    assert key != synth_cache.synth_key(settings, [prod], MODEL_SHA256)
    assert key != synth_cache.synth_key(settings, [dev], "cd" * 32)
    other = replace(settings, project=replace(settings.project, name="another"))
    assert key != synth_cache.synth_key(other, [dev], MODEL_SHA256)
    sources = {str(path.relative_to(synth_cache.PACKAGE)) for path in synth_cache._sources()}
    assert {"infra/serving_stack.py", "config.py", "images.json"} <= sources


def test_a_damaged_entry_synthesizes_again(tmp_path: Path, settings: Settings) -> None:
    dev = settings.environment("dev")
    synth_cache.cached_synth(tmp_path, tmp_path / "one", settings, [dev], MODEL_SHA256)
    entry = tmp_path / synth_cache.FOLDER / synth_cache.synth_key(settings, [dev], MODEL_SHA256)
    (template,) = entry.glob("dev-serving.template.json")
    template.write_text("{}", encoding="utf-8")
    stacks, reused = synth_cache.cached_synth(
        tmp_path, tmp_path / "two", settings, [dev], MODEL_SHA256
    )
    assert not reused
    serving = next(s for s in stacks if s.artifact_id == "dev-serving")
    assert json.loads(serving.template_path.read_text(encoding="utf-8"))["Resources"]


def test_a_hit_starts_no_cdk(tmp_path: Path, settings: Settings) -> None:
    synth_cache.cached_synth(
        tmp_path, tmp_path / "warm", settings, [settings.environment("dev")], MODEL_SHA256
    )
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from {{ cookiecutter.package_name }}.config import load\n"
        "from {{ cookiecutter.package_name }}.infra.synth_cache import cached_synth\n"
        f"settings = load(Path({str(PROJECT_ROOT)!r}))\n"
        f"root = Path({str(tmp_path)!r})\n"
        "_, hit = cached_synth(root, root / 'cold', settings, [settings.environment('dev')], "
        f"{MODEL_SHA256!r})\n"
        "print(hit, 'aws_cdk' in sys.modules)\n"
    )
    assert python_output(script).split() == ["True", "False"]


def test_invoke_synth_of_unchanged_inputs_copies_them_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`invoke synth` (the nox synth session) goes through the same cache as a deploy."""
    shown = io.StringIO()
    monkeypatch.setattr(commands, "console", Console(file=shown, width=200))
    first = commands.synth(PROJECT_ROOT, ["dev"], tmp_path / "first")
    said_first = shown.getvalue()
    second = commands.synth(PROJECT_ROOT, ["dev"], tmp_path / "second")
    said_second = shown.getvalue()[len(said_first) :]
    assert [path.name for path in second] == [path.name for path in first]
    assert files(tmp_path / "second") == files(tmp_path / "first")
    assert f"{len(second)} templates in " in said_second and said_second.count(REUSED) == 1
