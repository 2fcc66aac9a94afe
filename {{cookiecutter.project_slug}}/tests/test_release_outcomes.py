"""Outcomes: an execute's record keeps the endpoint's metrics over its rollout window, and
`invoke note` appends follow-up notes (who, when) that `invoke history` shows.

The strict local AWS publishes the metrics SageMaker publishes for each answered
invocation (strict/cloudwatch.py), so the smoke call of a deploy is in its record.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import AwsError, Refusal
from {{ cookiecutter.package_name }}.naming import VARIANT_NAME
from {{ cookiecutter.package_name }}.release.ledger import ledger_of
from {{ cookiecutter.package_name }}.release.notes import MAX_NOTE, add_note
from {{ cookiecutter.package_name }}.release.outcomes import (
    aligned,
    describe,
    read_rollout_metrics,
    window_period,
)
from {{ cookiecutter.package_name }}.release.preflight import actor
from {{ cookiecutter.package_name }}.release.strict.cloudwatch import percentile
from {{ cookiecutter.package_name }}.release.strict.faults import interrupt_at

from .conftest import aws_client as client
from .test_release_deploy import PROJECT, refused, run, snapshot

ENDPOINT = f"{PROJECT.name}-local"


def test_percentiles_are_nearest_rank_and_refused_for_negative_values() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, "p99") == 99.0
    assert percentile(values, "p50") == 50.0
    assert percentile(values, "p99.5") == 100.0
    assert percentile([3.0], "p99") == 3.0
    assert percentile([], "p99") is None
    assert percentile([-1.0, 5.0], "p99") is None  # CloudWatch: not for negative values
    assert percentile(values, "Sum") is None


def test_the_window_is_one_period_of_whole_minutes() -> None:
    start = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    later = start + timedelta(minutes=4, seconds=20)
    assert aligned(start + timedelta(seconds=30), later) == (start, start + timedelta(minutes=5))
    assert aligned(start, start) == (start, start + timedelta(minutes=1))
    assert window_period(start, start + timedelta(seconds=5)) == 60
    assert window_period(start, start + timedelta(seconds=61)) == 120
    assert window_period(start, start + timedelta(minutes=45)) == 2700


def test_metrics_are_read_from_cloudwatch_as_sagemaker_publishes_them(aws: str) -> None:
    cloudwatch = client(aws, "cloudwatch")
    now = datetime.now(UTC).replace(microsecond=0)
    dimensions = [
        {"Name": "EndpointName", "Value": ENDPOINT},
        {"Name": "VariantName", "Value": VARIANT_NAME},
    ]
    data = [
        {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0, "Timestamp": now}
        for _ in range(40)
    ]
    data += [
        {
            "MetricName": "Invocation5XXErrors",
            "Dimensions": dimensions,
            "Value": v,
            "Timestamp": now,
        }
        for v in (0.0, 1.0, 1.0)
    ]
    data += [
        {
            "MetricName": "ModelLatency",
            "Dimensions": dimensions,
            "Value": float(n * 1000),  # microseconds: 1 ms .. 100 ms
            "Unit": "Microseconds",
            "Timestamp": now,
        }
        for n in range(1, 101)
    ]
    for start in range(0, len(data), 20):
        cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=data[start : start + 20])
    metrics = read_rollout_metrics(
        cloudwatch, ENDPOINT, VARIANT_NAME, now - timedelta(minutes=3), now + timedelta(seconds=5)
    )
    assert metrics["invocations"] == 40.0
    assert metrics["errors_5xx"] == 2.0
    assert metrics["model_latency_p99_us"] == 99_000.0
    assert describe(metrics) == "40 invocations, 2 5XX, p99 model latency 99.0 ms"
    # Another endpoint's window has nothing: said as no data, never as zero.
    other = read_rollout_metrics(cloudwatch, "other", VARIANT_NAME, now - timedelta(minutes=3), now)
    assert (other["invocations"], other["errors_5xx"], other["model_latency_p99_us"]) == (
        None,
        None,
        None,
    )
    assert describe(other).startswith("no data: CloudWatch has no invocation metrics for other")


def test_a_failure_to_read_is_kept_as_the_reason(aws: str) -> None:
    class Unreachable:
        def get_metric_data(self, **_: Any) -> Any:
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    now = datetime.now(UTC)
    metrics = read_rollout_metrics(Unreachable(), ENDPOINT, VARIANT_NAME, now, now)
    assert "Could not connect" in metrics["error"]
    assert describe(metrics).startswith("could not be read: Could not connect")
    assert describe({}) == "not read (the record predates rollout metrics)"


def test_an_execute_records_its_rollout_metrics_and_history_shows_them(
    aws: str, local_settings: Settings, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    record = outcome.record
    assert record is not None
    metrics = record.metrics
    # The verify step's smoke call is the one invocation of the window.
    assert metrics["invocations"] == 1.0 and metrics["errors_5xx"] == 0.0
    assert metrics["model_latency_p99_us"] is not None
    assert metrics["endpoint"] == ENDPOINT
    assert metrics["start"] == record.started_at[:16] + ":00+00:00"  # whole minutes
    (stored,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert stored.metrics == metrics
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    assert "rollout: 1 invocation, 0 5XX, p99 model latency" in capsys.readouterr().out


def note_on(settings: Settings, repo: Path, deploy_id: str, text: str) -> str:
    output = io.StringIO()
    console = Console(file=output, width=300)
    add_note(settings, "local", deploy_id, text, root=repo, environ={}, out=console)
    return output.getvalue()


def test_notes_are_appended_with_who_and_when_and_shown_by_history(
    aws: str,
    local_settings: Settings,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    deploy_id = outcome.deploy_id
    said = note_on(local_settings, repo, deploy_id, "  p99 back to 40 ms after the cache warmed  ")
    author = actor(repo)  # the git author here, the GitHub actor in CI
    assert f"noted on {deploy_id} of local by {author}: s3://" in said
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    note_on(local_settings, repo, deploy_id, "follow-up: raise the alarm to 1.2 s (#42)")
    ledger = ledger_of(local_settings, local_settings.environment("local"))
    first, second = ledger.notes(deploy_id)
    assert first.text == "p99 back to 40 ms after the cache warmed"
    assert (first.who, second.who) == (author, "github:alice")
    assert first.principal.startswith("arn:aws:") and first.at <= second.at
    # The record itself is untouched: a note is its own object beside it.
    (record,) = ledger.records()
    assert record == outcome.record
    commands.history(repo, "local", as_json=True, limit=0, settings=local_settings)
    (listed,) = json.loads(capsys.readouterr().out)
    assert [note["text"] for note in listed["notes"]] == [first.text, second.text]
    commands.history(repo, "local", as_json=False, limit=0, settings=local_settings)
    table = capsys.readouterr().out
    assert f"by {author}: p99 back to 40 ms after the cache warmed" in table
    assert "by github:alice: follow-up: raise the alarm to 1.2 s (#42)" in table


@pytest.mark.parametrize(
    ("deploy_id", "text", "expected"),
    [
        ("", "text", "is not a deploy id"),
        ("live", "text", "--deploy 'live' is not a deploy id"),
        (None, "   ", "the note is empty: give its text"),
        (None, "x" * (MAX_NOTE + 1), f"more than {MAX_NOTE}: shorten it"),
        ("20261201T101502123Z-1a2b3c4-9f0e", "text", "no record 20261201T101502123Z-1a2b3c4-9f0e"),
    ],
)
def test_a_bad_note_is_one_line_and_writes_nothing(  # noqa: PLR0917 (parametrized)
    aws: str, local_settings: Settings, repo: Path, deploy_id: str | None, text: str, expected: str
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    target = outcome.deploy_id if deploy_id is None else deploy_id
    message = refused(aws, lambda: note_on(local_settings, repo, target, text))
    assert expected in message


def test_a_note_before_the_first_deploy_is_refused(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    message = refused(
        aws, lambda: note_on(local_settings, repo, "20261201T101502123Z-1a2b3c4-9f0e", "text")
    )
    assert "no record 20261201T101502123Z-1a2b3c4-9f0e in s3://" in message
    assert snapshot(aws) == {"stacks": {}, "objects": {}}


def test_notes_that_cannot_be_read_are_said_in_one_line(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, _ = run(local_settings, repo, execute=True)
    ledger = ledger_of(local_settings, local_settings.environment("local"))
    client(aws, "s3").put_object(
        Bucket=ledger.bucket,
        Key=f"releases/local/{outcome.deploy_id}/notes/20261206T000000Z-000000.json",
        Body=b"{not json",
    )
    with pytest.raises(AwsError, match="is not readable") as raised:
        ledger.notes(outcome.deploy_id)
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, AwsError) and not isinstance(raised.value, Refusal)


def test_an_interrupt_while_reading_the_metrics_still_records(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    with interrupt_at("GetMetricData"):
        outcome, _ = run(local_settings, repo, execute=True)
    assert outcome.record is not None
    assert outcome.record.metrics["error"] == "interrupted while reading the metrics"
    (stored,) = ledger_of(local_settings, local_settings.environment("local")).records()
    assert stored == outcome.record
