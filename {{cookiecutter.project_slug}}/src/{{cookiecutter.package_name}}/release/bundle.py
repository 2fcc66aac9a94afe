"""The deploy bundle: what was planned, written next to the build and archived in the ledger.

templates/ (exactly what the change sets were made from), plan.json and plan.md (the
reviewable diff), plan-facts.json (what the plan's digest is over, reviewed.py) and
manifest.json (commit, tool versions, hashes, the plan's digest). A rollback redeploys a
bundle's templates and the model artifact its manifest names; nothing is rebuilt.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..digests import BUILD_TOOLS, installed_versions, sha256_of
from .plan import Plan
from .reviewed import FACTS, facts_of, plan_digest

TEMPLATES = "templates"


@dataclass(frozen=True)
class Manifest:
    deploy_id: str
    environment: str
    commit: str
    ref: str | None
    model_sha256: str
    templates: Mapping[str, str]  # stack name -> sha256
    versions: Mapping[str, str]
    plan_digest: str  # of plan-facts.json's facts: what a review and --plan name
    lock_sha256: str = ""  # uv.lock's sha256: the dependencies it was built with ("" none)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=dict) + "\n"


def versions(project: str) -> dict[str, str]:
    return installed_versions((project, *BUILD_TOOLS))


def write_bundle(
    folder: Path,
    *,
    plan: Plan,
    markdown: Callable[[str], str],  # plan.md, given the plan's digest
    templates: Sequence[tuple[str, Path]],
    revision: tuple[str, str | None],
    project: str,
    lock_sha256: str = "",
) -> Manifest:
    """Write the bundle into folder (created) and return its manifest; revision is the
    (commit, ref) the templates were built from, lock_sha256 its uv.lock's."""
    (folder / TEMPLATES).mkdir(parents=True, exist_ok=True)
    hashes = {}
    for stack_name, template in templates:
        target = folder / TEMPLATES / f"{stack_name}.template.json"
        shutil.copyfile(template, target)
        hashes[stack_name] = sha256_of(target)
    facts = facts_of(plan, revision[0], hashes)
    manifest = Manifest(
        deploy_id=plan.deploy_id,
        environment=plan.environment,
        commit=revision[0],
        ref=revision[1],
        model_sha256=plan.model_sha256,
        templates=hashes,
        versions=versions(project),
        plan_digest=plan_digest(facts),
        lock_sha256=lock_sha256,
    )
    (folder / FACTS).write_text(facts.to_json(), encoding="utf-8")
    (folder / "plan.json").write_text(plan.to_json(), encoding="utf-8")
    (folder / "plan.md").write_text(markdown(manifest.plan_digest), encoding="utf-8")
    (folder / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
    return manifest
