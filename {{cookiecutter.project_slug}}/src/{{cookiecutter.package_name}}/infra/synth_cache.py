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
from pathlib import Path

from ..caching import cached
from ..config import Environment, Settings
from ..digests import add_sources, installed_versions, sha256_of
from ..images import Container
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


def synth_key(
    settings: Settings,
    environments: Sequence[Environment],
    model_sha256: str,
    container: Container | None = None,
) -> str:
    """sha256 over every input of the assembly (see the module doc)."""
    digest = hashlib.sha256()
    names = repr([env.name for env in environments])
    for part in (repr(settings), names, model_sha256, repr(container)):
        digest.update(part.encode("utf-8") + b"\0")
    add_sources(digest, _sources(), PACKAGE)
    cdk_json = settings.path.parents[1] / CDK_JSON  # the project: <root>/config/<file>
    digest.update(cdk_json.read_bytes() if cdk_json.is_file() else b"no cdk.json")
    digest.update(json.dumps(installed_versions(LIBRARIES), sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


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
            if sha256_of(template) != item["sha256"]:
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


def _fill(staging: Path, outdir: Path, stacks: list[SynthesizedStack]) -> None:
    """The assembly and stacks.json (each stack, with its template's digest) as the entry."""
    shutil.copytree(outdir, staging, dirs_exist_ok=True)
    recorded = [
        {
            "environment": stack.environment,
            "stack_name": stack.stack_name,
            "artifact_id": stack.artifact_id,
            "dependencies": list(stack.dependencies),
            "template": str(stack.template_path.relative_to(outdir)),
            "sha256": sha256_of(stack.template_path),
        }
        for stack in stacks
    ]
    (staging / MANIFEST).write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")


def _synthesize(
    outdir: Path,
    settings: Settings,
    environments: Sequence[Environment],
    model_sha256: str,
    container: Container | None,
) -> list[SynthesizedStack]:
    from .app import synthesize_into  # aws_cdk and the CDK's Node.js start here, on a miss

    return synthesize_into(outdir, settings, list(environments), model_sha256, container)


def cached_synth(
    cache: Path,
    outdir: Path,
    settings: Settings,
    environments: Sequence[Environment],
    model_sha256: str,
    *,
    container: Container | None = None,
) -> tuple[list[SynthesizedStack], bool]:
    """The environments' stacks synthesized into outdir, and whether they came from the
    cache folder; a miss synthesizes (with cdk-nag) and remembers a successful result.
    container: a registry package's own (None: the framework's image and this handler)."""
    return cached(
        cache / FOLDER / synth_key(settings, environments, model_sha256, container),
        restore=lambda entry: _restore(entry, outdir),
        build=lambda: _synthesize(outdir, settings, environments, model_sha256, container),
        fill=lambda staging, stacks: _fill(staging, outdir, stacks),
    )
