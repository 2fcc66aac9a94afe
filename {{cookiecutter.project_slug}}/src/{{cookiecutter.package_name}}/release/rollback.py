"""Rollback: redeploy the archived bundle of an earlier successful deploy, never a rebuild.

The target comes from the ledger: by default the newest successful record before the one
that is live now; `--to <deploy-id>` names one; `--to vX.Y.Z` takes the newest successful
record of that tag's commit. Its templates and the model artifact they name go through the
same preflight, plan, execute, verify and record as a deploy; the record says kind
rollback, from and to. Choosing the target is a pure function over the records.

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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console

from ..bucket_layout import model_key
from ..config import Environment, Settings
from ..errors import Refusal
from ..naming import MODEL_NAME_DIGITS, SERVING, stack_name, stack_names
from .bundle import TEMPLATES, sha256_of
from .deploy import DeployOutcome, DeployRequest, Source, apply_source, preflight
from .git import git
from .ledger import DeployRecord, Ledger, Outcome, ledger_of, new_deploy_id, utc_now
from .registry import Registry, group_name, rollback_candidate

_TAG = re.compile(r"^v\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class RollbackRequest:
    environment: str
    to: str | None = None  # a deploy id or a vX.Y.Z tag; None: the previous deploy
    execute: bool = False
    timeout_seconds: float = 3600.0
    to_model_package: int | None = None  # a version of the model package group instead


def choose_target(
    records: Sequence[DeployRecord], to: str | None, tag_commit: str | None = None
) -> tuple[DeployRecord, DeployRecord]:
    """(live, target) from an environment's records, newest first.

    live is the newest successful record; target is the one before it, the record named by
    `to`, or (tag_commit given) the newest successful record of that commit.
    """
    succeeded = [record for record in records if record.outcome is Outcome.SUCCEEDED]
    live = current(records)
    if tag_commit is not None:
        matching = [record for record in succeeded if record.commit == tag_commit]
        if not matching:
            raise Refusal(
                f"{to} ({tag_commit[:7]}) never deployed successfully to "
                f"{live.environment}; pick a tag that did (invoke history --env "
                f"{live.environment})"
            )
        target = matching[0]
    elif to is not None:
        named = [record for record in records if record.deploy_id == to]
        if not named:
            raise Refusal(
                f"no deploy {to} in {live.environment}'s ledger; see invoke history --env "
                f"{live.environment}"
            )
        target = named[0]
        if target.outcome is not Outcome.SUCCEEDED:
            raise Refusal(f"deploy {to} {target.outcome.value}; roll back only to a success")
    else:
        if len(succeeded) < 2:
            raise Refusal(
                f"nothing to roll back to: {live.deploy_id} is the only successful deploy "
                f"of {live.environment}"
            )
        target = succeeded[1]
    if target.deploy_id == live.deploy_id:
        raise Refusal(f"{live.environment} already runs {live.deploy_id}; nothing to do")
    return live, target


def current(records: Sequence[DeployRecord]) -> DeployRecord:
    """The live deploy: the newest successful record (records newest first)."""
    for record in records:
        if record.outcome is Outcome.SUCCEEDED:
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


def archived_templates(
    settings: Settings,
    environment: Environment,
    ledger: Ledger,
    record: DeployRecord,
    folder: Path,
) -> list[tuple[str, Path]]:
    """The templates of a recorded deploy, from its archived bundle, checked against the
    record's hashes; in deploy order."""
    archived = ledger.download_bundle(record.deploy_id, folder)
    templates = []
    for name in stack_names(settings.project, environment):
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
    started = (time.monotonic(), utc_now())
    deploy_request = DeployRequest(
        environment=request.environment,
        execute=request.execute,
        upload_artifacts=False,
        timeout_seconds=request.timeout_seconds,
    )
    checked = preflight(settings, deploy_request, root, environ, from_source=False)
    ledger = ledger_of(settings, checked.environment, checked.aws)
    if request.to_model_package is not None:
        registry = Registry(
            checked.aws.client("sagemaker"), group_name(settings.project, checked.environment)
        )
        commit, build = _model_package_source(
            settings,
            checked.environment,
            ledger,
            registry=registry,
            number=request.to_model_package,
            out=out,
        )
    else:
        commit, build = _deploy_source(
            settings, checked.environment, ledger, request=request, root=root, out=out
        )
    return apply_source(
        settings,
        deploy_request,
        checked=checked,
        deploy_id=new_deploy_id(commit),
        build=build,
        started=started,
        root=root,
        out=out,
    )


def _deploy_source(
    settings: Settings,
    environment: Environment,
    ledger: Ledger,
    *,
    request: RollbackRequest,
    root: Path,
    out: Console,
) -> tuple[str, Callable[[Path], Source]]:
    """(commit, build): an earlier deploy's templates and model, as they were."""
    by_tag = tag_commit(root, request.to) if request.to and _TAG.match(request.to) else None
    live, target = choose_target(ledger.records(), request.to, by_tag)
    out.print(
        f"rolling {environment.name} back from {live.deploy_id} (commit {live.commit[:7]}, "
        f"model {live.model_sha256[:12]}…) to {target.deploy_id} (commit "
        f"{target.commit[:7]}, model {target.model_sha256[:12]}…)"
    )

    def build(folder: Path) -> Source:
        return Source(
            templates=tuple(
                archived_templates(settings, environment, ledger, target, folder / "source")
            ),
            model_sha256=target.model_sha256,
            model=None,
            commit=target.commit,
            ref=target.ref,
            kind="rollback",
            rollback={"from": live.deploy_id, "to": target.deploy_id},
        )

    return target.commit, build


def _model_package_source(
    settings: Settings,
    environment: Environment,
    ledger: Ledger,
    *,
    registry: Registry,
    number: int,
    out: Console,
) -> tuple[str, Callable[[Path], Source]]:
    """(commit, build): the live deploy's templates, re-pointed at version `number`'s model."""
    live = current(ledger.records())
    if not registry.exists():
        raise Refusal(
            f"{environment.name} has no model package group {registry.group}; a verified "
            "deploy creates it while release.model_registry is on"
        )
    package = rollback_candidate(
        registry.version(number), number=number, group=registry.group, bucket=ledger.bucket
    )
    sha256 = package.model_sha256
    if sha256 == live.model_sha256:
        raise Refusal(
            f"{environment.name} already serves model {sha256[:12]}… (version {number} of "
            f"{registry.group}) in {live.deploy_id}; nothing to do"
        )
    try:
        ledger.s3.head_object(Bucket=ledger.bucket, Key=model_key(sha256))
    except ClientError:
        raise Refusal(
            f"the model artifact of version {number}, s3://{ledger.bucket}/"
            f"{model_key(sha256)}, is not there; restore it from the bucket's object versions"
        ) from None
    out.print(
        f"rolling {environment.name}'s model back from {live.model_sha256[:12]}… to "
        f"{sha256[:12]}… (version {number} of {registry.group}), keeping the templates of "
        f"{live.deploy_id} (commit {live.commit[:7]})"
    )
    serving = stack_name(settings.project, environment, SERVING)

    def build(folder: Path) -> Source:
        templates = []
        for name, archived in archived_templates(
            settings, environment, ledger, live, folder / "source"
        ):
            document = json.loads(archived.read_text(encoding="utf-8"))
            repointed, count = repoint_model(document, live.model_sha256, sha256)
            if name == serving and count == 0:
                raise Refusal(
                    f"the archived template of {name} in {live.deploy_id} does not name its "
                    f"model {live.model_sha256[:12]}…; roll back with --to <deploy-id> instead"
                )
            path = (
                _write_json(folder / "repointed" / archived.name, repointed) if count else archived
            )
            templates.append((name, path))
        return Source(
            templates=tuple(templates),
            model_sha256=sha256,
            model=None,
            commit=live.commit,
            ref=live.ref,
            kind="rollback",
            rollback={"from": live.deploy_id, "model_package": package.arn},
        )

    return live.commit, build


def _write_json(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path
