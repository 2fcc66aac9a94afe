"""Synthesized templates, cached: a deploy whose templates' inputs did not change reuses the
cloud assembly instead of starting the CDK again.

The key is the sha256 of what decides the assembly: the settings (all of them: one
environment's stacks read others', e.g. which accounts may read its ledger), the environments
synthesized, the model digest, every source and data file of this package, the project's
cdk.json (its feature flags) and the versions of aws-cdk-lib, constructs, cdk-nag and jsii.
An entry is build/cache/synth/<key>/: the assembly as synthesize_into wrote it and
stacks.json (each stack, with its template's sha256). A hit copies the assembly into place
after checking every template against its digest; anything else synthesizes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..caching import store
from ..config import Environment, Settings
from .assembly import SynthesizedStack

FOLDER = "synth"
MANIFEST = "stacks.json"
LIBRARIES = ("aws-cdk-lib", "constructs", "cdk-nag", "jsii")
PACKAGE = Path(__file__).resolve().parents[1]
CDK_JSON = "cdk.json"  # infra/app.py reads the same file (not imported: it loads aws_cdk)


def _sources() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*")
        if path.suffix in {".py", ".json", ".toml"} and "__pycache__" not in path.parts
    )


def synth_key(settings: Settings, environments: Sequence[Environment], model_sha256: str) -> str:
    """sha256 over every input of the assembly (see the module doc)."""
    digest = hashlib.sha256()
    for part in (repr(settings), repr([env.name for env in environments]), model_sha256):
        digest.update(part.encode("utf-8") + b"\0")
    for source in _sources():
        digest.update(f"{source.relative_to(PACKAGE)}\0".encode())
        digest.update(source.read_bytes().replace(b"\r\n", b"\n"))
    cdk_json = settings.path.parents[1] / CDK_JSON  # the project: <root>/config/<file>
    digest.update(cdk_json.read_bytes() if cdk_json.is_file() else b"no cdk.json")
    for name in LIBRARIES:
        try:
            digest.update(f"\0{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"\0{name} absent".encode())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _restore(entry: Path, outdir: Path) -> list[SynthesizedStack] | None:
    """The entry's assembly as outdir, if every template is the one it recorded."""
    try:
        recorded = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        if outdir.exists():
            shutil.rmtree(outdir)
        shutil.copytree(entry, outdir, ignore=shutil.ignore_patterns(MANIFEST))
        stacks = []
        for item in recorded:
            template = outdir / item["template"]
            if _sha256(template) != item["sha256"]:
                return None
            stacks.append(
                SynthesizedStack(
                    environment=item["environment"],
                    stack_name=item["stack_name"],
                    artifact_id=item["artifact_id"],
                    template_path=template,
                    dependencies=tuple(item["dependencies"]),
                )
            )
        return stacks
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _remember(entry: Path, outdir: Path, stacks: list[SynthesizedStack]) -> None:
    def fill(staging: Path) -> None:
        shutil.copytree(outdir, staging, dirs_exist_ok=True)
        recorded = [
            {
                "environment": stack.environment,
                "stack_name": stack.stack_name,
                "artifact_id": stack.artifact_id,
                "dependencies": list(stack.dependencies),
                "template": str(stack.template_path.relative_to(outdir)),
                "sha256": _sha256(stack.template_path),
            }
            for stack in stacks
        ]
        (staging / MANIFEST).write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")

    store(entry, fill)


def cached_synth(
    cache: Path,
    outdir: Path,
    settings: Settings,
    environment: Environment,
    model_sha256: str,
) -> tuple[list[SynthesizedStack], bool]:
    """The environment's stacks synthesized into outdir, and whether they came from the
    cache folder; a miss synthesizes (with cdk-nag) and remembers a successful result."""
    entry = cache / FOLDER / synth_key(settings, [environment], model_sha256)
    if (entry / MANIFEST).is_file():
        restored = _restore(entry, outdir)
        if restored is not None:
            return restored, True
    from .app import synthesize_into  # aws_cdk and the CDK's Node.js start here, on a miss

    stacks = synthesize_into(outdir, settings, [environment], model_sha256)
    _remember(entry, outdir, stacks)
    return stacks, False
