"""Rollback: redeploy the archived bundle of an earlier successful deploy, never a rebuild.

The live deploy is read from SageMaker, never inferred from the newest success: it is the
newest record whose execute left the endpoint serving what it serves now (live.py), so a
deploy whose CloudFormation succeeded and whose verify failed, or an endpoint SageMaker
rolled back on an alarm, is seen as it is. The target comes from the ledger: by default the
newest successful record before the live one; `--to <deploy-id>` names one; `--to vX.Y.Z`
takes the newest successful record of that tag's commit. Its templates and the model
artifact they name are a Source for the same pipeline as a deploy (pipeline.py); the record
says kind rollback, from and to. Choosing the target is a pure function over the records
and the live state.

`--to-model-package N` rolls back the model only: version N of the environment's model
package group names a model (registry.py); the live deploy's archived templates, with its
model's sha256 re-pointed to that one, go through the same path. Everything else (instance
type, alarms, rollout, ...) stays as the live deploy has it. The record is kind rollback with
the live deploy's commit; its rollback mapping names from (the live deploy) and
model_package (version N's ARN).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import Settings
from ..digests import sha256_of
from ..errors import Refusal
from ..naming import MODEL_NAME_DIGITS, SERVING, endpoint_name, stack_name, stack_names
from .artifacts import require_artifact
from .bundle import TEMPLATES
from .git import git
from .ledger import DESTROY, DeployRecord, Outcome, new_deploy_id
from .live import LiveState, left_live, live_record, read_live
from .pipeline import DeployOutcome, DeployRequest, Source, run_pipeline
from .preflight import Invocation, Run, preflight
from .registry import Registry, group_name, rollback_candidate

_TAG = re.compile(r"^v\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class RollbackRequest:
    environment: str
    to: str | None = None  # a deploy id or a vX.Y.Z tag; None: the previous deploy
    execute: bool = False
    timeout_seconds: float = 3600.0
    to_model_package: int | None = None  # a version of the model package group instead
    plan: str | None = None  # the reviewed (and approved) dry run this must match (--plan)

    @property
    def command(self) -> str:
        """What plans this rollback again, for the line that executes its plan."""
        words = ["invoke", "rollback", "--env", self.environment]
        if self.to is not None:
            words += ["--to", self.to]
        if self.to_model_package is not None:
            words += ["--to-model-package", str(self.to_model_package)]
        return " ".join(words)


def choose_target(
    records: Sequence[DeployRecord],
    to: str | None,
    tag_commit: str | None = None,
    live: LiveState | None = None,
) -> tuple[DeployRecord, DeployRecord]:
    """(serving, target) from an environment's records (newest first) and its live state.

    serving is the record that left `live` serving (live.py), or the newest success when the
    endpoint is absent or unreadable. target is the newest success before serving, the record
    named by `to`, or (tag_commit given) the newest successful record of that commit. A target
    that is serving is refused unless a later execute changed a stack since (its templates
    are not all in place any more).
    """
    succeeded = [record for record in records if record.succeeded]
    newest = records[0] if records else None
    if (
        live is None
        and to is None
        and newest is not None
        and newest.kind == DESTROY
        and newest.outcome is Outcome.SUCCEEDED
    ):
        raise Refusal(
            f"{newest.environment} was destroyed by {newest.deploy_id}, so nothing serves and "
            f"there is nothing to roll back from; deploy to recreate it (invoke deploy --env "
            f"{newest.environment}), or roll back --to the deploy id to bring back"
        )
    serving = live_record(records, live) or current(records)
    environment = serving.environment
    position = [record.deploy_id for record in records].index(serving.deploy_id)
    if tag_commit is not None:
        matching = [record for record in succeeded if record.commit == tag_commit]
        if not matching:
            raise Refusal(
                f"{to} ({tag_commit[:7]}) never deployed successfully to "
                f"{environment}; pick a tag that did (invoke history --env {environment})"
            )
        target = matching[0]
    elif to is not None:
        named = [record for record in records if record.deploy_id == to]
        if not named:
            raise Refusal(
                f"no deploy {to} in {environment}'s ledger; see invoke history --env {environment}"
            )
        target = named[0]
        if not target.succeeded:
            what = "is a destroy" if target.outcome is Outcome.SUCCEEDED else target.outcome.value
            raise Refusal(f"deploy {to} {what}; roll back only to a successful deploy")
    else:
        older = [r for r in records[position + 1 :] if r.succeeded]
        if not older:
            raise Refusal(
                f"nothing to roll back to: {serving.deploy_id} is live and no earlier deploy "
                f"of {environment} succeeded"
            )
        target = older[0]
    if target.deploy_id == serving.deploy_id and not any(
        record.change_sets or record.destroyed for record in records[:position]
    ):
        raise Refusal(f"{environment} already runs {serving.deploy_id}; nothing to do")
    return serving, target


def current(records: Sequence[DeployRecord]) -> DeployRecord:
    """The newest successful record (records newest first)."""
    for record in records:
        if record.succeeded:
            return record
    raise Refusal("nothing to roll back: the environment has no successful deploy yet")


_SHA256 = "[0-9a-f]{64}"


def repoint_model(document: Any, old: str, new: str) -> tuple[Any, int]:
    """A copy of a template (JSON data) naming model `new` where it named `old`, and how many
    strings changed.

    A model is named by its sha256: in the Model's artifact URL (often inside an Fn::Join)
    and in the model-sha256 tags. Being a 64-hex content address, it matches only as a whole
    run of hex digits, so nothing else can change by accident; keys are left alone. Names
    that follow the model end in "-" and its first MODEL_NAME_DIGITS digits (the job
    definition of Model Monitor, whose every property is create-only): those change too.
    """
    for digest in (old, new):
        if not re.fullmatch(_SHA256, digest):
            raise ValueError(f"{digest!r} is not a sha256 hex digest")
    short = old[:MODEL_NAME_DIGITS]
    # The whole digest anywhere, or its short form closing a name (infra/monitoring.py).
    pattern = re.compile(f"(?<![0-9a-f]){old}(?![0-9a-f])|(?<=-){short}$")

    def swap(match: re.Match[str]) -> str:
        return new if len(match.group(0)) == len(old) else new[:MODEL_NAME_DIGITS]

    count = 0

    def walk(value: Any) -> Any:
        nonlocal count
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str):
            replaced, found = pattern.subn(swap, value)
            count += 1 if found else 0
            return replaced
        return value

    return walk(document), count


def tag_commit(root: Path, tag: str) -> str:
    try:
        # "^{commit}" peels an annotated tag to its commit (kept out of an f-string).
        return git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}" + "^{commit}")
    except Refusal:
        raise Refusal(f"no tag {tag} in this repository; git fetch --tags and retry") from None


def archived_templates(run: Run, record: DeployRecord, folder: Path) -> list[tuple[str, Path]]:
    """The templates of a recorded deploy, from its archived bundle, checked against the
    record's hashes; in deploy order."""
    archived = run.ledger.download_bundle(record.deploy_id, folder)
    templates = []
    for name in stack_names(run.settings.project, run.environment):
        path = archived / TEMPLATES / f"{name}.template.json"
        if name not in record.templates or not path.exists():
            continue
        if sha256_of(path) != record.templates[name]:
            raise Refusal(
                f"the archived template of {name} in {record.deploy_id} does not match "
                "its record's hash; restore it from the bucket's object versions"
            )
        templates.append((name, path))
    return templates


def rollback(
    settings: Settings,
    request: RollbackRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> DeployOutcome:
    """Plan (and with execute, apply) a rollback; every refusal comes before any change."""
    if request.to_model_package is not None:
        if request.to is not None:
            raise Refusal("give --to or --to-model-package, not both")
        if request.to_model_package < 1:
            raise Refusal(f"--to-model-package {request.to_model_package}: versions start at 1")
        if not settings.release.model_registry:
            raise Refusal(
                f"the model registry is off (release.model_registry = false in "
                f"{settings.path.name}); roll back with --to <deploy-id> instead"
            )
    run = preflight(
        settings,
        request.environment,
        Invocation(root, environ, out),
        execute=request.execute,
        from_source=False,
        plan=request.plan,
    )
    records = run.ledger.records()
    live = read_live(run.aws.client("sagemaker"), endpoint_name(settings.project, run.environment))
    if request.to_model_package is not None:
        commit, build = _model_package_source(run, records, live, request.to_model_package)
    else:
        commit, build = _deploy_source(run, records, live, request.to)
    deploy_request = DeployRequest(
        environment=request.environment,
        execute=request.execute,
        upload_artifacts=False,
        timeout_seconds=request.timeout_seconds,
        plan=request.plan,
        command=request.command,
    )
    return run_pipeline(run, deploy_request, new_deploy_id(commit), build)


def _describe(record: DeployRecord) -> str:
    return f"{record.deploy_id} (commit {record.commit[:7]}, model {record.model_sha256[:12]}…)"


def _deploy_source(
    run: Run, records: Sequence[DeployRecord], live: LiveState | None, to: str | None
) -> tuple[str, Callable[[Path], Source]]:
    """(commit, build): an earlier deploy's templates and model, as they were."""
    by_tag = tag_commit(run.root, to) if to and _TAG.match(to) else None
    serving, target = choose_target(records, to, by_tag, live)
    run.out.print(
        f"rolling {run.environment.name} back from {_describe(serving)}{_drift(serving, live)} "
        f"to {_describe(target)}"
    )

    def build(folder: Path) -> Source:
        return Source(
            templates=tuple(archived_templates(run, target, folder / "source")),
            model_sha256=target.model_sha256,
            model=None,
            commit=target.commit,
            ref=target.ref,
            kind="rollback",
            rollback={"from": serving.deploy_id, "to": target.deploy_id},
            lock_sha256=target.lock_sha256,
            metrics=recorded(records, target.model_sha256, lambda r: r.model_metrics),
            model_source=target.model_source,
        )

    return target.commit, build


def recorded(
    records: Sequence[DeployRecord],
    sha256: str,
    kept: Callable[[DeployRecord], Mapping[str, Any]],
) -> Mapping[str, Any]:
    """What the newest record of model sha256 kept (its metrics, its source); {} where no
    record of it kept any (records from before the field)."""
    return next((kept(r) for r in records if r.model_sha256 == sha256 and kept(r)), {})


def _drift(serving: DeployRecord, live: LiveState | None) -> str:
    """Said when the live record is not simply the newest success."""
    if live is None:
        return " (no endpoint is live)"
    state = left_live(serving)
    if state is None or not state.matches(live):
        return f" (the endpoint serves {live.endpoint_config}, which no record left live)"
    if serving.outcome is not Outcome.SUCCEEDED:
        return f" (its {serving.kind} failed but left the endpoint serving it)"
    return ""


def _model_package_source(
    run: Run, records: Sequence[DeployRecord], live: LiveState | None, number: int
) -> tuple[str, Callable[[Path], Source]]:
    """(commit, build): the live deploy's templates, re-pointed at version `number`'s model."""
    environment, ledger = run.environment, run.ledger
    serving = live_record(records, live) or current(records)
    registry = Registry(run.aws.client("sagemaker"), group_name(run.settings.project, environment))
    if not registry.exists():
        raise Refusal(
            f"{environment.name} has no model package group {registry.group}; a verified "
            "deploy creates it while release.model_registry is on"
        )
    package = rollback_candidate(
        registry.version(number), number=number, group=registry.group, bucket=ledger.bucket
    )
    sha256 = package.model_sha256
    if sha256 == ((live.model_sha256 if live else "") or serving.model_sha256):
        raise Refusal(
            f"{environment.name} already serves model {sha256[:12]}… (version {number} of "
            f"{registry.group}) in {serving.deploy_id}; nothing to do"
        )
    require_artifact(
        ledger, sha256, f"version {number} names it; restore it from the bucket's object versions"
    )
    run.out.print(
        f"rolling {environment.name}'s model back from {serving.model_sha256[:12]}… to "
        f"{sha256[:12]}… (version {number} of {registry.group}), keeping the templates of "
        f"{serving.deploy_id} (commit {serving.commit[:7]})"
    )
    serving_stack = stack_name(run.settings.project, environment, SERVING)

    def build(folder: Path) -> Source:
        templates = []
        for name, archived in archived_templates(run, serving, folder / "source"):
            document = json.loads(archived.read_text(encoding="utf-8"))
            repointed, count = repoint_model(document, serving.model_sha256, sha256)
            if name == serving_stack and count == 0:
                raise Refusal(
                    f"the archived template of {name} in {serving.deploy_id} does not name "
                    f"its model {serving.model_sha256[:12]}…; roll back with --to <deploy-id> "
                    "instead"
                )
            if (
                name == serving_stack
                and package.image
                and (
                    not names_image(document, package.image)
                    or model_environment(document) != dict(package.environment)
                )
            ):
                # Re-pointing keeps the live templates' image: a model another image served
                # (a registry package's own, or the framework's) comes back with its deploy.
                raise Refusal(
                    f"version {number} of {registry.group} was served by image "
                    f"{package.image} with its own container environment, which the templates "
                    f"of {serving.deploy_id} do not name; roll back with --to <deploy-id>, "
                    "whose templates carry them"
                )
            path = (
                _write_json(folder / "repointed" / archived.name, repointed) if count else archived
            )
            templates.append((name, path))
        return Source(
            templates=tuple(templates),
            model_sha256=sha256,
            model=None,
            commit=serving.commit,
            ref=serving.ref,
            kind="rollback",
            rollback={"from": serving.deploy_id, "model_package": package.arn},
            lock_sha256=serving.lock_sha256,
            metrics=recorded(records, sha256, lambda r: r.model_metrics),
            model_source=recorded(records, sha256, lambda r: r.model_source),
        )

    return serving.commit, build


def model_environment(template: Any) -> dict[str, str]:
    """The container environment of the template's SageMaker Model ({} without one)."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::SageMaker::Model":
            container = resource.get("Properties", {}).get("PrimaryContainer", {})
            return dict(container.get("Environment") or {})
    return {}


def names_image(template: Any, image: str) -> bool:
    """Whether a template serves `image` ("" names none: nothing to check). The CDK writes an
    AWS image with the URL suffix as a reference (Fn::Join), so the registry host before it
    and the repository and tag after it are looked for apart."""
    if not image:
        return True
    text = json.dumps(template)
    host, _, path = image.partition("/")
    registry = host.removesuffix(".amazonaws.com.cn").removesuffix(".amazonaws.com")
    return image in text or (f'"{registry}.' in text and f'/{path}"' in text)


def _write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path
