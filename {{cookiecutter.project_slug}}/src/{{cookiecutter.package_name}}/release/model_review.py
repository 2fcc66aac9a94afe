"""What a change does to the model: its quality against the gate and the live model's, and how
its answers differ from the live model's. The plan shows it beside the infrastructure diff.

Before any change set is made, for every source:
- a deploy's model must pass config/model.toml's [gate] (model/gate.py); a rollback puts back
  a model that served before and is shown, not gated;
- the golden requests (config/golden-requests.jsonl) are replayed through the model the
  endpoint serves now (read from SageMaker, live.py) and through the candidate, each archive
  run by its own handler (model/replay.py); a deploy whose share of flipped decisions is
  above the environment's policy.max_flip_percent is refused. Where there is nothing to
  compare (a first deploy, the same model) or a handler cannot run here, the review says so.

The archives are the ones the plan names: the candidate's from the build (or, for a
rollback, the bucket's content address) and the live one from the bucket.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..bucket_layout import data_capture_prefix, model_key
from ..errors import Refusal
from ..model.gate import check_gate
from ..model.replay import (
    BehaviourDiff,
    CannotReplay,
    CannotRunHere,
    Request,
    captured_request,
    compare,
    extract,
    load_golden,
    run_handler,
)
from ..model.settings import ModelConfig, load_config
from ..naming import VARIANT_NAME, endpoint_name
from .aws import error_code
from .live import live_record, read_live
from .preflight import Run

if TYPE_CHECKING:
    from .pipeline import Source

MAX_PERCENT = 100  # policy.max_flip_percent that never refuses


@dataclass(frozen=True)
class ModelReview:
    candidate_sha256: str
    live_sha256: str  # "" when the endpoint does not exist or serves no model of ours
    candidate_metrics: Mapping[str, Any]  # Metrics as a dict; {} when unknown
    live_metrics: Mapping[str, Any] = field(default_factory=dict)
    behaviour: BehaviourDiff | None = None
    note: str = ""  # why there is no behaviour diff
    # The same comparison on a sample of the environment's captured requests
    # (--replay-captured N), and why there is none when N was asked for.
    captured: BehaviourDiff | None = None
    captured_note: str = ""
    # Why the candidate failed on requests the live model answers ("" when it did not): a
    # deploy under a flip bound is refused for it, as a flip on every such request would be.
    failed: str = ""
    max_flip_percent: int = 100
    source: Mapping[str, str] = field(default_factory=dict)  # Source.model_source

    def as_record(self) -> dict[str, Any]:
        """The behaviour diff as a record keeps it ({"note": ...} without one)."""
        if self.behaviour is None:
            return {"note": self.note}
        kept: dict[str, Any] = {
            **asdict(self.behaviour),
            "flipped": self.behaviour.flipped,
            "live_sha256": self.live_sha256,
        }
        if self.captured is not None:
            kept["captured"] = {**asdict(self.captured), "flipped": self.captured.flipped}
        elif self.captured_note:
            kept["captured"] = {"note": self.captured_note}
        return kept


def review_model(run: Run, source: Source, folder: Path, captured: int = 0) -> ModelReview:
    """Gate and compare the source's model (see the module doc), on the golden requests and
    on the newest `captured` requests the endpoint captured; a Refusal changes nothing."""
    kind, sha256, metrics = source.kind, source.model_sha256, source.metrics
    archive = source.model.path if source.model is not None else None
    config = load_config(run.root)
    if kind == "deploy":
        check_gate(metrics, config.gate)
    live = read_live(
        run.aws.client("sagemaker"), endpoint_name(run.settings.project, run.environment)
    )
    live_sha = live.model_sha256 if live is not None else ""
    serving = live_record(run.ledger.records(), live) if live_sha else None
    review = ModelReview(
        candidate_sha256=sha256,
        live_sha256=live_sha,
        candidate_metrics=dict(metrics),
        live_metrics=dict(serving.model_metrics) if serving is not None else {},
        max_flip_percent=run.environment.policy.max_flip_percent,
        source=dict(source.model_source),
    )
    review = _compared(run, review, config, archive, folder, captured=captured)
    bounded = kind == "deploy" and review.max_flip_percent < MAX_PERCENT
    if bounded and review.failed:
        raise Refusal(
            f"{review.failed}; {run.environment.name}'s policy.max_flip_percent "
            f"{review.max_flip_percent} cannot hold for answers it does not give"
        )
    for which, diff in (("golden", review.behaviour), ("captured", review.captured)):
        if kind == "deploy" and diff is not None and diff.flip_percent > review.max_flip_percent:
            raise Refusal(
                f"the candidate changes the decision on {diff.flipped} of {diff.sessions} "
                f"{which} sessions ({diff.flip_percent:.1f} %) at threshold {diff.threshold:g}, "
                f"above {run.environment.name}'s policy.max_flip_percent "
                f"{review.max_flip_percent}; review the change, or raise the bound in a "
                "reviewed commit"
            )
    return review


def _compared(
    run: Run,
    review: ModelReview,
    config: ModelConfig,
    archive: Path | None,
    folder: Path,
    *,
    captured: int,
) -> ModelReview:
    """The review with its behaviour diffs (golden, and `captured` captured requests when
    asked), or with the notes saying why there are none. A candidate whose handler fails on
    requests the live model answers (an error, another number of scores, a score outside
    0..1) gets `failed`; one that needs a library this machine lacks only gets a note."""
    if not review.live_sha256:
        return replace(review, note="nothing serves yet: no live model to compare with")
    if review.live_sha256 == review.candidate_sha256:
        return replace(review, note="the same model serves now: its answers do not change")
    golden = load_golden(run.root)
    sampled, unread = _captured(run, captured)
    work = folder / "replay"  # removed after: the bundle names the archives by sha256
    try:
        with run.out.status("replaying requests through the live and the candidate model…"):
            try:
                live_dir = extract(
                    _fetch(run, review.live_sha256, work / "live.tar.gz"), work / "live"
                )
                live = run_handler(live_dir, golden)
            except CannotReplay as reason:
                return replace(review, note=f"cannot replay the live model here: {reason}")
            candidate_archive = archive or _fetch(
                run, review.candidate_sha256, work / "candidate.tar.gz"
            )
            candidate_dir = extract(candidate_archive, work / "candidate")
            review = _judged(review, config, golden, candidate_dir, live)
            if review.behaviour is not None and sampled:
                review = _on_captured(review, config, sampled, live_dir, candidate_dir)
            elif review.behaviour is not None and unread:
                review = replace(review, captured_note=unread)
    except CannotReplay as reason:  # the candidate's archive itself
        said = f"the candidate's archive cannot be replayed: {reason}"
        return replace(review, note=said, failed=said)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return review


def _judged(
    review: ModelReview,
    config: ModelConfig,
    golden: list[Request],
    candidate_dir: Path,
    live: list[float],
) -> ModelReview:
    """The golden diff, or why the candidate could not be judged on it."""
    try:
        scores = run_handler(candidate_dir, golden)
        return replace(review, behaviour=compare(live, scores, config.behaviour.threshold))
    except CannotRunHere as reason:
        return replace(review, note=f"cannot replay the candidate here: {reason}")
    except CannotReplay as reason:
        said = f"the candidate fails on the golden requests: {reason}"
        return replace(review, note=said, failed=said)


def _on_captured(
    review: ModelReview,
    config: ModelConfig,
    sampled: list[Request],
    live_dir: Path,
    candidate_dir: Path,
) -> ModelReview:
    """The captured diff, or (in captured_note) why there is none."""
    try:
        live = run_handler(live_dir, sampled)
    except CannotReplay as reason:
        return replace(review, captured_note=f"the live model cannot answer them here: {reason}")
    try:
        scores = run_handler(candidate_dir, sampled)
        diff = compare(live, scores, config.behaviour.threshold)
    except CannotRunHere as reason:
        return replace(review, captured_note=f"cannot replay the candidate here: {reason}")
    except CannotReplay as reason:
        said = f"the candidate fails on captured requests the live model answers: {reason}"
        return replace(review, captured_note=said, failed=said)
    return replace(review, captured=diff)


def _captured(run: Run, count: int) -> tuple[list[Request], str]:
    """The captured requests to replay (--replay-captured), or why there are none."""
    if not count:
        return [], ""
    if run.environment.endpoint.serverless:
        # "data capture" is not supported for Serverless Inference (serverless-endpoints.html):
        # what the bucket holds is from before the endpoint was serverless.
        return [], "a serverless endpoint captures no requests (endpoint.serving)"
    try:
        sampled = captured_sample(run, count)
    except ClientError as error:  # e.g. a deploy role, which may not read captured traffic
        return [], f"cannot read captured requests ({error_code(error)})"
    return sampled, "" if sampled else "no captured requests in the bucket yet"


def captured_sample(run: Run, count: int) -> list[Request]:
    """The newest `count` requests the endpoint captured. Data capture writes them as JSON
    lines under "{destination}/{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/"
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html),
    so the newest keys sort last within a day: it lists one day at a time, today first and
    back to the capture retention (artifacts.data_capture_days), never the whole prefix."""
    s3, bucket = run.ledger.s3, run.ledger.bucket
    environment = run.environment
    base = (
        f"{data_capture_prefix(environment.name)}"
        f"{endpoint_name(run.settings.project, environment)}/{VARIANT_NAME}/"
    )
    today = datetime.fromisoformat(run.started[1]).date()
    sample: list[Request] = []
    for back in range(environment.artifacts.data_capture_days + 1):
        day = f"{base}{(today - timedelta(days=back)).strftime('%Y/%m/%d')}/"
        keys = [
            str(item["Key"])
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=day)
            for item in page.get("Contents", [])
        ]
        for key in sorted(keys, reverse=True):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            lines = reversed(body.decode("utf-8", "replace").splitlines())
            found = [r for r in map(captured_request, lines) if r is not None]
            sample += found[: count - len(sample)]
            if len(sample) >= count:
                return sample
    return sample


def _fetch(run: Run, sha256: str, target: Path) -> Path:
    """The content-addressed archive from the environment's bucket."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        run.ledger.s3.download_file(run.ledger.bucket, model_key(sha256), str(target))
    except ClientError as error:
        raise CannotReplay(
            f"s3://{run.ledger.bucket}/{model_key(sha256)} cannot be read ({error})"
        ) from None
    return target
