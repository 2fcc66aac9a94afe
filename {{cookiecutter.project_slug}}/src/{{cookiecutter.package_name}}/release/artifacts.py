"""The model artifact in the environment's bucket: content-addressed by its sha256."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from rich.console import Console

from ..bucket_layout import baseline_key, model_key
from ..errors import Refusal
from .aws import error_code, put_file
from .ledger import Ledger

if TYPE_CHECKING:
    from ..model.packaged import ModelFiles

_MISSING = {"404", "NoSuchKey", "NotFound"}


def require_artifact(ledger: Ledger, sha256: str, hint: str) -> None:
    """Refuse, in one line ending with `hint`, when the model artifact is not in the bucket."""
    try:
        ledger.s3.head_object(Bucket=ledger.bucket, Key=model_key(sha256))
    except ClientError:
        raise Refusal(
            f"the model artifact s3://{ledger.bucket}/{model_key(sha256)} is not there; {hint}"
        ) from None


def upload_model(ledger: Ledger, packaged: ModelFiles, out: Console) -> None:
    """Content-addressed: an artifact already there (same sha256, same bytes) is kept."""
    s3, bucket, key = ledger.s3, ledger.bucket, model_key(packaged.sha256)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        out.print(f"model artifact already in s3://{bucket}/{key}")
        return
    except ClientError as error:
        if error_code(error) not in _MISSING:
            raise
    for name, path in sorted(packaged.baseline.items()):
        put_file(s3, path, bucket, baseline_key(packaged.sha256, name))
    # The model last: its presence means the upload is complete.
    s3.upload_file(str(packaged.path), bucket, key)
    out.print(f"uploaded the model artifact to s3://{bucket}/{key}")
