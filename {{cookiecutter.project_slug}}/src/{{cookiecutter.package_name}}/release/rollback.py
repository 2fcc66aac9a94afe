"""Rollback: redeploy the archived bundle of an earlier successful deploy, never a rebuild.

The target comes from the ledger: by default the newest successful record before the one
that is live now; `--to <deploy-id>` names one; `--to vX.Y.Z` takes the newest successful
record of that tag's commit. Its templates and the model artifact they name go through the
same preflight, plan, execute, verify and record as a deploy; the record says kind
rollback, from and to. Choosing the target is a pure function over the records.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ..config import Settings
from ..errors import Refusal
from ..naming import stack_names
from .bundle import TEMPLATES, sha256_of
from .deploy import DeployOutcome, DeployRequest, Source, apply_source, preflight
from .git import git
from .ledger import DeployRecord, Outcome, ledger_of, new_deploy_id, utc_now

_TAG = re.compile(r"^v\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class RollbackRequest:
    environment: str
    to: str | None = None  # a deploy id or a vX.Y.Z tag; None: the previous deploy
    execute: bool = False
    timeout_seconds: float = 3600.0


def choose_target(
    records: Sequence[DeployRecord], to: str | None, tag_commit: str | None = None
) -> tuple[DeployRecord, DeployRecord]:
    """(live, target) from an environment's records, newest first.

    live is the newest successful record; target is the one before it, the record named by
    `to`, or (tag_commit given) the newest successful record of that commit.
    """
    succeeded = [record for record in records if record.outcome is Outcome.SUCCEEDED]
    if not succeeded:
        raise Refusal("nothing to roll back: the environment has no successful deploy yet")
    live = succeeded[0]
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


def tag_commit(root: Path, tag: str) -> str:
    try:
        # "^{commit}" peels an annotated tag to its commit (kept out of an f-string).
        return git(root, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}" + "^{commit}")
    except Refusal:
        raise Refusal(f"no tag {tag} in this repository; git fetch --tags and retry") from None


def rollback(
    settings: Settings,
    request: RollbackRequest,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> DeployOutcome:
    started = (time.monotonic(), utc_now())
    deploy_request = DeployRequest(
        environment=request.environment,
        execute=request.execute,
        upload_artifacts=False,
        timeout_seconds=request.timeout_seconds,
    )
    checked = preflight(settings, deploy_request, root, environ, from_source=False)
    environment = checked.environment
    ledger = ledger_of(settings, environment, checked.aws)
    by_tag = tag_commit(root, request.to) if request.to and _TAG.match(request.to) else None
    live, target = choose_target(ledger.records(), request.to, by_tag)
    out.print(
        f"rolling {environment.name} back from {live.deploy_id} (commit {live.commit[:7]}, "
        f"model {live.model_sha256[:12]}…) to {target.deploy_id} (commit "
        f"{target.commit[:7]}, model {target.model_sha256[:12]}…)"
    )

    def build(folder: Path) -> Source:
        archived = ledger.download_bundle(target.deploy_id, folder / "source")
        templates = []
        for name in stack_names(settings.project, environment):
            path = archived / TEMPLATES / f"{name}.template.json"
            if name not in target.templates or not path.exists():
                continue
            if sha256_of(path) != target.templates[name]:
                raise Refusal(
                    f"the archived template of {name} in {target.deploy_id} does not match "
                    "its record's hash; restore it from the bucket's object versions"
                )
            templates.append((name, path))
        return Source(
            templates=tuple(templates),
            model_sha256=target.model_sha256,
            model=None,
            commit=target.commit,
            ref=target.ref,
            kind="rollback",
            rollback={"from": live.deploy_id, "to": target.deploy_id},
        )

    return apply_source(
        settings,
        deploy_request,
        checked=checked,
        deploy_id=new_deploy_id(target.commit),
        build=build,
        started=started,
        root=root,
        out=out,
    )
