"""Keeping a record: on disk first, then in the ledger, and never lost in between.

Every execute that started ends in record.json beside its bundle (build/deploys/<env>/
<deploy-id>/), written before the ledger is tried. When the ledger cannot be written (its
bucket is gone, the credentials expired mid-deploy, the network failed), the record is
marked pending and said loudly; the next execute against the environment, or the next
successful write, uploads every pending record and says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from ..errors import AwsError
from .aws import one_line
from .ledger import RECORD, DeployRecord, Ledger

PENDING = "ledger-pending"  # beside record.json: the ledger does not have this record yet
# The ledger reads and writes with plain S3 calls (no transfer manager, so no Boto3Error).
_LEDGER_ERRORS = (AwsError, ClientError, BotoCoreError)


def keep(ledger: Ledger, record: DeployRecord, folder: Path, out: Console) -> str:
    """Write record.json in folder, then the ledger; where the record is now."""
    local = folder / RECORD
    local.write_text(record.to_json(), encoding="utf-8")
    (folder / PENDING).touch()
    try:
        if not ledger.exists():
            raise AwsError(f"s3://{ledger.bucket} does not exist")
        where = ledger.write(record, folder / "bundle")
    except _LEDGER_ERRORS as error:
        out.print(
            f"[bold red]the ledger could not be written ({one_line(error)}); record kept at "
            f"{local}; the next --execute uploads it"
        )
        return str(local)
    (folder / PENDING).unlink()
    try:
        upload_pending(ledger, folder.parent, out)
    except _LEDGER_ERRORS as error:
        out.print(f"[bold yellow]warning: pending records not uploaded yet: {one_line(error)}")
    return where


def pending(deploys: Path) -> list[DeployRecord]:
    """Records kept on disk that the ledger does not have, oldest first."""
    return sorted(
        (
            DeployRecord.from_json((marker.parent / RECORD).read_text(encoding="utf-8"))
            for marker in deploys.glob(f"*/{PENDING}")
            if (marker.parent / RECORD).is_file()
        ),
        key=lambda record: (record.sequence or 1 << 62, record.deploy_id),
    )


def upload_pending(ledger: Ledger, deploys: Path, out: Console) -> None:
    """Upload every pending record of deploys/ (one environment's folder) to the ledger.

    A record that never got a place in the ledger's order (the bucket did not exist yet when
    it ran) is given the next one now. Leaves the rest pending at the first failure.
    """
    for kept in pending(deploys):
        folder = deploys / kept.deploy_id
        if kept.environment != ledger.environment:
            continue
        record = kept if kept.sequence else replace(kept, sequence=ledger.claim(kept.deploy_id))
        (folder / RECORD).write_text(record.to_json(), encoding="utf-8")
        where = ledger.write(record, folder / "bundle")
        (folder / PENDING).unlink()
        out.print(
            f"uploaded the record of {record.deploy_id} ({record.kind}, {record.outcome.value}), "
            f"kept on disk when the ledger could not be written, to {where}"
        )
