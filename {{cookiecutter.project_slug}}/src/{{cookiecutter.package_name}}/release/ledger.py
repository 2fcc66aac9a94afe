"""The deploy ledger: one record and bundle per deploy under releases/<env>/<deploy-id>/.

It lives in the environment's versioned artifact bucket, so history, promotion checks and
rollback read the same truth from a laptop or from CI. Records are JSON with a schema
number; a field added within a schema has a default, so older records still load. A record
that cannot be read is reported, never silently skipped.

Order comes from the ledger, not from the deployer's clock: an execute claims the next
number of releases/<env>/sequence/ with a conditional write before its first change, and
records sort by that number (deploy ids, which start with the deployer's time, only break
ties between records that predate the sequence). A laptop an hour behind CI cannot reorder
history, the live record or the rollback target.

A dry run's bundle is archived under releases/<env>/plans/<deploy-id>/ (no record: nothing
ran), so `--execute --plan <deploy-id>` can check that nothing it was computed from changed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..bucket_layout import LEDGER_PREFIX, artifact_bucket_name
from ..config import Environment, Settings
from ..errors import AwsError, Refusal
from .aws import Aws, connect, error_code, one_line, put_file

SCHEMA = 1
RECORD = "record.json"
BUNDLE = "bundle/"
SEQUENCE = "sequence/"
PLANS = "plans/"  # releases/<env>/plans/<deploy-id>/: dry runs' bundles, for --plan
NOTES = "notes/"  # releases/<env>/<deploy-id>/notes/: follow-up notes, one object each
_CLAIM_ATTEMPTS = 20
# S3 answers a conditional write that lost with 412 PreconditionFailed (the key exists) or,
# when two race for the same key, 409 ConditionalRequestConflict: retry with the next number.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
_LOST_CLAIM = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


DESTROY = "destroy"  # a record's kind when invoke destroy deleted the serving stacks


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Failure:
    stack: str
    resource: str
    reason: str


@dataclass(frozen=True)
class DeployRecord:
    deploy_id: str
    kind: str  # "deploy", "rollback" or "destroy"
    environment: str
    project: str
    commit: str
    ref: str | None
    actor: str
    principal: str
    started_at: str
    finished_at: str
    duration_seconds: float
    outcome: Outcome
    model_sha256: str
    templates: Mapping[str, str]  # stack name -> sha256 of the template deployed
    change_sets: Mapping[str, str]  # stack name -> change set ARN executed
    endpoint: Mapping[str, str] = field(default_factory=dict)  # name, config
    failure: Failure | None = None
    rollback: Mapping[str, str] = field(default_factory=dict)  # from, and to or model_package
    # The model registry version (ARN) naming the model served after this deploy; "" when
    # the registry is off, the deploy failed, registering failed, or the record predates it.
    model_package: str = ""
    # What the endpoint served when this execute ended, read from SageMaker (live.py):
    # endpoint_config and model_sha256; {} when it could not be read or predates the field.
    live: Mapping[str, str] = field(default_factory=dict)
    # The position the ledger gave this execute (claim()); 0 for records before it existed.
    sequence: int = 0
    # The reviewed dry run this execute ran (--plan): its deploy id and digest; {} without.
    plan: Mapping[str, str] = field(default_factory=dict)
    # The approvals of that plan the execute counted, one per person (approvals.py): who,
    # login, principal, source and at; () where none were needed or the record predates them.
    approvals: tuple[Mapping[str, str], ...] = ()
    # The sha256 of the uv.lock the deployed templates and model were built with (a
    # rollback: its target's); "" for records before it, or a project without a lock.
    lock_sha256: str = ""
    # The endpoint's invocation metrics over the execute's rollout window (outcomes.py):
    # the window, and invocations, errors_5xx, model_latency_p99_us (None: no data), or
    # error; {} for records before them.
    metrics: Mapping[str, Any] = field(default_factory=dict)
    # The stacks a destroy deleted, in order; () for every other kind.
    destroyed: tuple[str, ...] = ()
    # The deployed model's hold-out metrics (model/packaged.Metrics as a dict), which the
    # next plan compares its candidate with; {} where unknown or the record predates them.
    model_metrics: Mapping[str, Any] = field(default_factory=dict)
    # How the model's answers to the golden requests differed from the model it replaced
    # (release/model_review.py): the counts and shifts, or {"note": why there are none}.
    behaviour: Mapping[str, Any] = field(default_factory=dict)
    # Where the deployed model came from (release/sources.py): kind ("build", "artifact",
    # "package") and, for a model trained elsewhere, its uri, package ARN and image.
    model_source: Mapping[str, str] = field(default_factory=dict)
    schema: int = SCHEMA

    @property
    def succeeded(self) -> bool:
        """A deploy or rollback that succeeded: it ran its commit's templates and model. A
        destroy deploys nothing, so it never counts as a success of its commit."""
        return self.outcome is Outcome.SUCCEEDED and self.kind != DESTROY

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> DeployRecord:
        data: dict[str, Any] = json.loads(text)
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema {data.get('schema')!r} is not {SCHEMA}")
        failure = data.pop("failure", None)
        approvals = tuple(dict(item) for item in data.pop("approvals", ()))
        destroyed = tuple(str(name) for name in data.pop("destroyed", ()))
        return cls(
            **{**data, "outcome": Outcome(data["outcome"])},
            failure=Failure(**failure) if failure else None,
            approvals=approvals,
            destroyed=destroyed,
        )


@dataclass(frozen=True)
class Note:
    """A follow-up note on a record (invoke note): its own object beside the record, never
    a rewrite of it, so a note cannot lose the record or another note."""

    text: str
    who: str  # the actor (GitHub login in CI, else the git author)
    principal: str  # the AWS principal that wrote it
    at: str  # UTC, ISO 8601

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Note:
        data = json.loads(text)
        return cls(**{key: str(data[key]) for key in ("text", "who", "principal", "at")})


# What new_deploy_id makes (ids from before the milliseconds have 6 digits after the T).
DEPLOY_ID = re.compile(r"^[0-9]{8}T[0-9]{6,9}Z-[0-9a-f]{7}-[0-9a-f]{4}$")


def new_deploy_id(commit: str, now: datetime | None = None) -> str:
    """Sorts by time (to the millisecond), names the commit, and is unique.

    Change-set names allow only letters, digits and hyphens, hence no '.' before the
    milliseconds: 20261129T101502123Z-1a2b3c4-9f0e.
    """
    moment = now or datetime.now(UTC)
    stamp = f"{moment:%Y%m%dT%H%M%S}{moment.microsecond // 1000:03d}Z"
    return f"{stamp}-{commit[:7]}-{secrets.token_hex(2)}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_prefix(environment: str, deploy_id: str) -> str:
    return f"{LEDGER_PREFIX}{environment}/{deploy_id}/"


class Ledger:
    """The ledger of one environment in its artifact bucket."""

    def __init__(self, s3: Any, bucket: str, environment: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.environment = environment

    @property
    def prefix(self) -> str:
        """releases/<env>/: every record and bundle of the environment lies under it."""
        return f"{LEDGER_PREFIX}{self.environment}/"

    def url(self, deploy_id: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{deploy_id + '/' if deploy_id else ''}"

    def exists(self) -> bool:
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            if error_code(error) in {"404", "NoSuchBucket", "NotFound"}:
                return False
            raise AwsError(f"cannot read s3://{self.bucket}: {one_line(error)}") from None
        return True

    def claim(self, deploy_id: str) -> int:
        """The next number of this environment's deploy order, taken with a conditional write
        (If-None-Match: *), so two deployers can never hold the same one."""
        prefix = f"{self.prefix}{SEQUENCE}"
        for _ in range(_CLAIM_ATTEMPTS):
            taken = [key.rsplit("/", 1)[-1] for key in self._keys(prefix)]
            number = max((int(name) for name in taken if name.isdigit()), default=0) + 1
            try:
                self.s3.put_object(
                    Bucket=self.bucket,
                    Key=f"{prefix}{number:010d}",
                    Body=deploy_id.encode(),
                    IfNoneMatch="*",
                )
            except ClientError as error:
                if error_code(error) in _LOST_CLAIM:
                    continue
                raise
            return number
        raise AwsError(
            f"could not claim a place in {self.url()}{SEQUENCE} after {_CLAIM_ATTEMPTS} "
            "tries: other deploys keep taking it; retry"
        )

    def _keys(self, prefix: str) -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            str(item["Key"])
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def write(self, record: DeployRecord, bundle: Path) -> str:
        """Upload the bundle's files, then the record (its presence means 'complete')."""
        prefix = record_prefix(self.environment, record.deploy_id)
        for path, key in _keys_of(bundle, f"{prefix}{BUNDLE}"):
            put_file(self.s3, path, self.bucket, key)
        self.s3.put_object(
            Bucket=self.bucket,
            Key=f"{prefix}{RECORD}",
            Body=record.to_json().encode(),
            ContentType="application/json",
        )
        return f"s3://{self.bucket}/{prefix}"

    def write_plan(self, deploy_id: str, bundle: Path, last: str) -> str:
        """Archive a dry run's bundle under plans/<deploy-id>/, where an execute of that plan
        (--plan, maybe on another machine) finds what it was computed from. The file named
        last goes up last: its presence means the rest is there (like a record's)."""
        prefix = self._plan_prefix(deploy_id)
        for path, key in sorted(_keys_of(bundle, prefix), key=lambda item: item[0].name == last):
            try:
                put_file(self.s3, path, self.bucket, key)
            except ClientError as error:
                raise AwsError(
                    f"cannot keep the plan in s3://{self.bucket}/{key}: {one_line(error)}"
                ) from None
        return f"s3://{self.bucket}/{prefix}"

    def _plan_prefix(self, deploy_id: str) -> str:
        return f"{self.prefix}{PLANS}{deploy_id}/"

    def plan_file(self, deploy_id: str, name: str) -> bytes | None:
        """A file of an archived plan's bundle; None when there is no such plan (or file)."""
        return self._object(f"{self._plan_prefix(deploy_id)}{name}")

    def _object(self, key: str) -> bytes | None:
        """An object's bytes; None when it (or the bucket) is not there."""
        try:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as error:
            if error_code(error) in {"NoSuchKey", "NoSuchBucket", "404"}:
                return None
            raise AwsError(f"cannot read s3://{self.bucket}/{key}: {one_line(error)}") from None

    def write_plan_file(self, deploy_id: str, name: str, body: bytes) -> str:
        """Put one file beside an archived plan (an approval); where it went."""
        key = f"{self._plan_prefix(deploy_id)}{name}"
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        except ClientError as error:
            raise AwsError(f"cannot write s3://{self.bucket}/{key}: {one_line(error)}") from None
        return f"s3://{self.bucket}/{key}"

    def plan_files(self, deploy_id: str, folder: str) -> dict[str, bytes]:
        """The files under a plan's folder (e.g. approvals/), by name; {} when none."""
        prefix = f"{self._plan_prefix(deploy_id)}{folder}"
        try:
            keys = self._keys(prefix)
            return {
                key[len(prefix) :]: bytes(
                    self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                )
                for key in keys
            }
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                return {}
            raise AwsError(f"cannot read s3://{self.bucket}/{prefix}: {one_line(error)}") from None

    def has_record(self, deploy_id: str) -> bool:
        """Whether the ledger holds a complete record with this deploy id."""
        key = f"{record_prefix(self.environment, deploy_id)}{RECORD}"
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}:
                return False
            raise AwsError(f"cannot read s3://{self.bucket}/{key}: {one_line(error)}") from None
        return True

    def add_note(self, deploy_id: str, note: Note) -> str:
        """Write a note beside a record, as a new object (If-None-Match: *, so two notes
        written in the same millisecond cannot overwrite each other); where it went."""
        # Named by the time of writing, to the microsecond: listing order is writing order.
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}Z-{secrets.token_hex(3)}.json"
        key = f"{record_prefix(self.environment, deploy_id)}{NOTES}{name}"
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=note.to_json().encode(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as error:
            raise AwsError(f"cannot write s3://{self.bucket}/{key}: {one_line(error)}") from None
        return f"s3://{self.bucket}/{key}"

    def notes(self, deploy_id: str) -> list[Note]:
        """The notes on a record, oldest first; [] when none."""
        prefix = f"{record_prefix(self.environment, deploy_id)}{NOTES}"
        try:
            bodies = [
                self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                for key in sorted(self._keys(prefix))
            ]
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                return []
            raise AwsError(f"cannot read s3://{self.bucket}/{prefix}: {one_line(error)}") from None
        try:
            return [Note.from_json(body.decode()) for body in bodies]
        except (ValueError, TypeError, KeyError) as error:
            raise AwsError(
                f"a note under s3://{self.bucket}/{prefix} is not readable ({error}); "
                "restore it from the bucket's object versions"
            ) from None

    def bundle_file(self, deploy_id: str, name: str) -> bytes | None:
        """One file of a record's bundle (e.g. templates/<stack>.template.json); None when
        it is not there."""
        return self._object(f"{record_prefix(self.environment, deploy_id)}{BUNDLE}{name}")

    def download_bundle(self, deploy_id: str, dest: Path) -> Path:
        """Fetch an archived bundle into dest; an empty or missing bundle is a Refusal."""
        prefix = f"{record_prefix(self.environment, deploy_id)}{BUNDLE}"
        keys = self._keys(prefix)
        if not any(key.endswith("/manifest.json") for key in keys):
            raise Refusal(
                f"the bundle of {deploy_id} is missing from {self.url(deploy_id)}{BUNDLE}; "
                "restore it from the bucket's object versions or choose another target"
            )
        for key in keys:
            target = dest / key[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            target.write_bytes(body.read())
        return dest

    def records(self) -> list[DeployRecord]:
        """Every record of the environment, newest first (by the ledger's sequence, see the
        module's docstring); none when the bucket is missing.

        Only List and Get under releases/<env>/ are used (no HeadBucket), which is all the
        bucket policy grants a promoted environment's account.
        """
        prefix = self.prefix
        ids: list[str] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                ids += [
                    p["Prefix"][len(prefix) :].rstrip("/")
                    for p in page.get("CommonPrefixes", [])
                    if p["Prefix"] not in {f"{prefix}{SEQUENCE}", f"{prefix}{PLANS}"}
                ]
        except ClientError as error:
            if error_code(error) == "NoSuchBucket":
                return []
            raise AwsError(f"cannot list {self.url()}: {one_line(error)}") from None
        records = []
        for deploy_id in sorted(ids, reverse=True):
            key = f"{record_prefix(self.environment, deploy_id)}{RECORD}"
            try:
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except ClientError as error:
                if error_code(error) == "NoSuchKey":
                    continue  # a deploy whose record upload did not finish: no record yet
                raise AwsError(f"cannot read s3://{self.bucket}/{key}: {one_line(error)}") from None
            try:
                records.append(DeployRecord.from_json(body.decode()))
            except (ValueError, TypeError, KeyError) as error:
                raise AwsError(
                    f"s3://{self.bucket}/{key} is not a readable deploy record ({error}); "
                    "restore it from the bucket's object versions"
                ) from None
        return newest_first(records)


def _keys_of(folder: Path, prefix: str) -> list[tuple[Path, str]]:
    """Each file under folder, sorted, with its key under prefix."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return [(path, f"{prefix}{path.relative_to(folder).as_posix()}") for path in files]


def newest_first(records: list[DeployRecord]) -> list[DeployRecord]:
    """The ledger's order: by sequence, then (records from before it) by deploy id."""
    return sorted(records, key=lambda record: (record.sequence, record.deploy_id), reverse=True)


def ledger_of(settings: Settings, environment: Environment, aws: Aws | None = None) -> Ledger:
    """The ledger of an environment, read with aws (or a new connection to it)."""
    aws = aws or connect(environment)
    bucket = artifact_bucket_name(settings.project.name, environment.name, environment.account)
    return Ledger(aws.client("s3"), bucket, environment.name)
