"""`invoke note`: a follow-up note on one record of the ledger (the runbook's "record the
outcome" step), kept beside the record under the writer's name, never rewriting it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from ..config import Settings
from ..errors import Refusal
from . import guardrails
from .aws import caller, connect, local_user_of
from .ledger import DEPLOY_ID, Note, ledger_of, utc_now
from .preflight import actor

MAX_NOTE = 2000  # characters: a follow-up, not a post-mortem (link that instead)


def check_note(text: str) -> str:
    """The note as kept (surrounding blanks removed), or a Refusal saying what to give."""
    kept = text.strip()
    if not kept:
        raise Refusal(
            "the note is empty: give its text, e.g. invoke note --env dev --deploy <id> --text "
            '"what happened and what follows"'
        )
    if len(kept) > MAX_NOTE:
        raise Refusal(
            f"the note has {len(kept)} characters, more than {MAX_NOTE}: shorten it and link "
            "the longer write-up (an issue or a post-mortem)"
        )
    return kept


def add_note(
    settings: Settings,
    environment_name: str,
    deploy_id: str,
    text: str,
    *,
    root: Path,
    environ: Mapping[str, str],
    out: Console,
) -> Note:
    """Append a note to the record `deploy_id` of an environment; a Refusal (one line,
    nothing written) for an empty or long note or a record the ledger does not have."""
    environment = settings.environment(environment_name)
    kept = check_note(text)
    if not DEPLOY_ID.match(deploy_id):
        raise Refusal(
            f"--deploy {deploy_id!r} is not a deploy id (like 20261201T101502123Z-1a2b3c4-9f0e); "
            f"invoke history --env {environment.name} lists them"
        )
    aws = connect(environment, local_user_of(environ))
    who = caller(aws)
    guardrails.check_account(environment, who.account, who.principal)
    ledger = ledger_of(settings, environment, aws)
    if not ledger.has_record(deploy_id):
        raise Refusal(
            f"no record {deploy_id} in {ledger.url()}; invoke history --env {environment.name} "
            "lists the records a note can go on"
        )
    note = Note(text=kept, who=actor(root), principal=who.principal, at=utc_now())
    where = ledger.add_note(deploy_id, note)
    out.print(f"noted on {deploy_id} of {environment.name} by {note.who}: {where}")
    return note
