"""Where things live in the artifacts bucket: one place for every key and prefix.

Model artifacts are content-addressed by their sha256, so an artifact is uploaded once and
a deploy record can always name exactly the bytes it served.
"""

from __future__ import annotations

import re

MODELS_PREFIX = "models/"
DATA_CAPTURE_PREFIX = "datacapture/"
MONITORING_PREFIX = "monitoring/"
LEDGER_PREFIX = "releases/"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(digest: str) -> str:
    """Return the digest if it is 64 lowercase hex characters, else raise ValueError."""
    if not _SHA256.match(digest):
        raise ValueError(f"{digest!r} is not a sha256 hex digest (64 characters 0-9a-f)")
    return digest


def model_key(sha256: str) -> str:
    return f"{MODELS_PREFIX}{check_sha256(sha256)}/model.tar.gz"


def baseline_key(sha256: str, name: str) -> str:
    """Model Monitor baseline files (statistics.json, constraints.json) packaged with a model."""
    return f"{MODELS_PREFIX}{check_sha256(sha256)}/baseline/{name}"


def data_capture_prefix(environment: str) -> str:
    return f"{DATA_CAPTURE_PREFIX}{environment}/"


def monitoring_prefix(environment: str) -> str:
    return f"{MONITORING_PREFIX}{environment}/"


def artifact_bucket_name(project: str, environment: str, account: str) -> str:
    """The artifact bucket's name: fixed, so every stack and tool knows it before it exists.

    A name CloudFormation generates would have to be published (SSM, an export) and read back,
    and then the first deploy could not plan the serving stack before the bucket stack ran.
    The account id keeps it globally unique; 32 + 12 + 12 + 2 characters fit S3's 63.
    """
    return f"{project}-{environment}-{account}"


# Named so the execution role can be scoped to it: at most 58 + 5 characters, S3's 63.
ACCESS_LOGS_SUFFIX = "-logs"


def access_log_bucket_name(project: str, environment: str, account: str) -> str:
    """The bucket receiving the artifact bucket's access logs."""
    return f"{artifact_bucket_name(project, environment, account)}{ACCESS_LOGS_SUFFIX}"
