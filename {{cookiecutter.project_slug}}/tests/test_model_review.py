"""The model part of a plan: the quality gate, the candidate's metrics beside the live model's,
and the golden requests replayed through both (release/model_review.py, model/gate.py,
model/replay.py), against the local AWS."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from rich.console import Console

from {{ cookiecutter.package_name }} import commands
from {{ cookiecutter.package_name }}.bucket_layout import data_capture_prefix
from {{ cookiecutter.package_name }}.config import Settings
from {{ cookiecutter.package_name }}.errors import ConfigError, Refusal
from {{ cookiecutter.package_name }}.model.commands import package_command
from {{ cookiecutter.package_name }}.model.gate import check_gate, shortfalls
from {{ cookiecutter.package_name }}.model.package import build_archive, package_model
from {{ cookiecutter.package_name }}.model.packaged import Metrics, PackagedModel
from {{ cookiecutter.package_name }}.model.replay import (
    CannotReplay,
    Request,
    captured_request,
    compare,
    extract,
    load_golden,
    run_handler,
)
from {{ cookiecutter.package_name }}.model.settings import Gate, load, load_config, parse_config
from {{ cookiecutter.package_name }}.release import model_review
from {{ cookiecutter.package_name }}.release.deploy import DeployRequest, Result, deploy
from {{ cookiecutter.package_name }}.release.ledger import ledger_of

from .conftest import PROJECT_ROOT
from .conftest import aws_client as client
from .test_release_deploy import BUCKET, CONFIRM, commit, refused, retrained, run
from .test_release_destroy import settings_with
from .test_release_rollback import roll

MODEL_TOML = PROJECT_ROOT / "config" / "model.toml"
JSON_TYPE = "application/json"


def set_gate(repo: Path, **values: float) -> None:
    """Commit new [gate] values into the repo's config/model.toml."""
    path = repo / "config" / "model.toml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        start = text.index(f"{key} = ")
        text = text[:start] + f"{key} = {value}" + text[text.index("\n", start) :]
    commit(repo, "config/model.toml", text)


def weak(out: Path) -> PackagedModel:
    """A model the example's gate refuses: almost no regularization strength left (C 0.001)."""
    return package_model(out, replace(load(PROJECT_ROOT), regularization=0.001))


# --- the gate, pure ----------------------------------------------------------------------------


METRICS = asdict(Metrics(0.88, 0.90, 0.3, 0.2, 3750, 1250, 12, True))


def test_the_gate_names_each_metric_below_its_threshold() -> None:
    assert shortfalls(METRICS, Gate(min_accuracy=0.85, min_roc_auc=0.85)) == []
    assert shortfalls(METRICS, Gate(min_accuracy=0.9, min_roc_auc=0.95)) == [
        "hold-out accuracy 0.8800 < min_accuracy 0.9",
        "hold-out ROC AUC 0.9000 < min_roc_auc 0.95",
    ]
    assert shortfalls({"accuracy": 0.9}, Gate(min_accuracy=0.5, min_roc_auc=0.5)) == [
        "hold-out ROC AUC unknown < min_roc_auc 0.5"
    ]
    with pytest.raises(Refusal) as raised:
        check_gate(METRICS, Gate(min_accuracy=0.5, min_roc_auc=0.95))
    assert str(raised.value) == (
        "the model is below the quality gate: hold-out ROC AUC 0.9000 < min_roc_auc 0.95 "
        "(config/model.toml [gate]); improve the model, or change the gate in a reviewed commit"
    )


@pytest.mark.parametrize(
    ("table", "key", "value", "problem"),
    [
        ("gate", "min_accuracy", 1.5, "1.5 must be from 0 to 1"),
        ("gate", "min_roc_auc", -0.1, "-0.1 must be from 0 to 1"),
        ("gate", "min_roc_auc", "high", "must be a number, got 'high'"),
        ("behaviour", "threshold", 0, "0 must be above 0 and at most 1"),
        ("behaviour", "threshold", 1.2, "1.2 must be above 0 and at most 1"),
    ],
)
def test_gate_and_behaviour_values_out_of_range_are_refused(
    table: str, key: str, value: object, problem: str
) -> None:
    document = json.loads(json.dumps(_model_document()))
    document[table][key] = value
    with pytest.raises(ConfigError) as raised:
        parse_config(document, MODEL_TOML)
    assert str(raised.value) == f"model.toml: {table}.{key}: {problem}"


def _model_document() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(MODEL_TOML.read_text(encoding="utf-8"))


def test_max_flip_percent_out_of_range_is_refused(aws: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_with(aws, max_flip_percent=101)
    assert "local.policy.max_flip_percent" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_invoke_package_refuses_a_model_below_the_gate_and_writes_nothing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    (root / "config").mkdir(parents=True)
    text = MODEL_TOML.read_text(encoding="utf-8").replace(
        "min_roc_auc = 0.85", "min_roc_auc = 0.99"
    )
    (root / "config" / "model.toml").write_text(text, encoding="utf-8")
    with pytest.raises(Refusal) as raised:
        package_command(root, tmp_path / "out")
    assert "hold-out ROC AUC 0.8980 < min_roc_auc 0.99" in str(raised.value)
    assert not (tmp_path / "out").exists()


# --- the replay, pure and local ------------------------------------------------------------------


def test_compare_counts_flips_both_ways_and_the_shift() -> None:
    diff = compare([0.1, 0.49, 0.5, 0.9], [0.2, 0.51, 0.45, 0.9], 0.5)
    assert (diff.sessions, diff.newly_flagged, diff.newly_cleared, diff.flipped) == (4, 1, 1, 2)
    assert diff.flip_percent == 50.0
    assert diff.max_abs_shift == pytest.approx(0.1)
    assert diff.mean_shift == pytest.approx((0.1 + 0.02 - 0.05) / 4)
    assert diff.describe().startswith("2 of 4 sessions change decision at threshold 0.5 (50.0 %")
    with pytest.raises(CannotReplay, match="the candidate answers 2 scores where the live model"):
        compare([0.1, 0.2, 0.3], [0.1, 0.2], 0.5)


def test_a_packaged_model_answers_the_golden_requests_through_its_own_handler(
    tmp_path: Path,
) -> None:
    requests = load_golden(PROJECT_ROOT)
    packaged = package_model(tmp_path / "model", load(PROJECT_ROOT))
    scores = run_handler(extract(packaged.path, tmp_path / "x"), requests)
    rows = sum(len(json.loads(r.body)["instances"]) for r in requests)
    assert len(scores) == rows == 200
    assert all(0.0 <= score <= 1.0 for score in scores)


def _archive(tmp_path: Path, handler: str) -> Path:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(build_archive({"code/inference.py": handler.encode()}))
    return extract(path, tmp_path / "x")


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (
            "import xgboost\n",
            "its handler needs what its container has: ModuleNotFoundError: No module named",
        ),
        (
            "def model_fn(d):\n    return None\n"
            "def transform_fn(m, b, c, a):\n    return ('<html/>', 'text/html')\n",
            "its answer to request 1 is not scores",
        ),
        (
            "def model_fn(d):\n    return None\n"
            "def transform_fn(m, b, c, a):\n    return '[NaN]'\n",
            "its answer to request 1 is not scores (a score is not a number from 0 to 1)",
        ),
        (
            "def model_fn(d):\n    raise RuntimeError('no model.json')\n",
            "its handler failed here: RuntimeError: no model.json",
        ),
    ],
)
def test_a_handler_that_cannot_run_here_is_reported_in_one_line(
    tmp_path: Path, handler: str, reason: str
) -> None:
    with pytest.raises(CannotReplay) as raised:
        run_handler(_archive(tmp_path, handler), [Request(JSON_TYPE, b'{"instances": [[1]]}')])
    assert str(raised.value).startswith(reason)
    assert "\n" not in str(raised.value)


def test_a_handler_runs_with_nothing_of_the_deploys_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Archive code (another team's, a registry's) sees no credentials or tokens, no
    site-packages (boto3), and may print without spoiling its answers."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "the-deploy-roles-secret")
    handler = (
        "import os, importlib.util\n"
        "def model_fn(d):\n    print('loading')\n    return 1\n"
        "def transform_fn(m, b, c, a):\n"
        "    seen = os.environ.get('AWS_SECRET_ACCESS_KEY') is not None\n"
        "    boto = importlib.util.find_spec('boto3') is not None\n"
        "    return str([float(seen), float(boto)])\n"
    )
    model = _archive(tmp_path, handler)
    assert run_handler(model, [Request(JSON_TYPE, b"{}")]) == [0.0, 0.0]


def test_a_handler_with_input_predict_output_functions_is_replayed(tmp_path: Path) -> None:
    handler = (
        "import json\n"
        "def model_fn(d):\n    return 0.25\n"
        "def input_fn(body, content_type):\n    return json.loads(body)['instances']\n"
        "def predict_fn(rows, model):\n    return [model for _ in rows]\n"
        "def output_fn(scores, accept):\n    return json.dumps(scores)\n"
    )
    model = _archive(tmp_path, handler)
    assert run_handler(model, [Request(JSON_TYPE, b'{"instances": [[1], [2]]}')]) == [0.25, 0.25]


def test_golden_requests_that_are_not_json_are_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "golden-requests.jsonl").write_text('{"instances": []}\nnope\n')
    with pytest.raises(ConfigError, match=r"^config/golden-requests.jsonl:2: not a JSON request"):
        load_golden(tmp_path)
    (tmp_path / "config" / "golden-requests.jsonl").write_text("\n")
    with pytest.raises(ConfigError, match="has no requests; add one per line"):
        load_golden(tmp_path)


# --- in the pipeline ------------------------------------------------------------------------------


def test_the_plan_shows_the_candidate_beside_the_live_model_and_the_record_keeps_both(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    first, said = run(local_settings, repo, execute=True)
    assert first.record is not None
    assert "golden requests: nothing serves yet: no live model to compare with" in said
    assert first.record.model_metrics["roc_auc"] == pytest.approx(0.898, abs=0.001)
    assert first.record.behaviour == {"note": "nothing serves yet: no live model to compare with"}
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    dry, said = run(local_settings, repo, package=retrained)
    assert dry.result is Result.DRY_RUN
    live = first.record.model_sha256[:12]
    assert f"(live {live}…)" in said
    assert "hold-out accuracy: 0.8832 (live: 0.8856)" in said
    assert (
        "golden requests: 2 of 200 sessions change decision at threshold 0.5 (1.0 %: 0 newly "
        "flagged, 2 cleared)" in said
    )
    markdown = (dry.bundle / "plan.md").read_text(encoding="utf-8")
    assert "### Model" in markdown and "- hold-out ROC AUC: 0.8980 (live: 0.8980)" in markdown
    second, _ = run(local_settings, repo, execute=True, package=retrained)
    assert second.record is not None
    behaviour = second.record.behaviour
    assert (behaviour["flipped"], behaviour["sessions"]) == (2, 200)
    assert behaviour["live_sha256"] == first.record.model_sha256
    assert second.record.model_metrics["accuracy"] == pytest.approx(0.8832)
    records = ledger_of(local_settings, local_settings.environment("local")).records()
    assert records[0].behaviour == behaviour  # as the ledger keeps it
    assert not (dry.bundle.parent / "replay").exists()  # the extracted archives are gone


def test_a_deploy_below_the_gate_is_refused_with_its_metrics_and_nothing_changes(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.001\n")
    deploys = repo / "build" / "deploys" / "local"
    folders = sorted(deploys.iterdir())
    message = refused(aws, lambda: run(local_settings, repo, execute=True, package=weak))
    assert message.startswith(
        "the model is below the quality gate: hold-out accuracy 0.8392 < min_accuracy 0.85 "
        "(config/model.toml [gate])"
    )
    assert sorted(deploys.iterdir()) == folders  # no half-made deploy folder


def test_a_candidate_flipping_more_than_the_bound_is_refused_and_nothing_changes(
    aws: str, repo: Path
) -> None:
    strict = settings_with(aws, max_flip_percent=0)
    run(strict, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    message = refused(aws, lambda: run(strict, repo, package=retrained))
    assert message == (
        "the candidate changes the decision on 2 of 200 golden sessions (1.0 %) at threshold "
        "0.5, above local's policy.max_flip_percent 0; review the change, or raise the bound "
        "in a reviewed commit"
    )


def test_a_rollback_is_shown_but_neither_gated_nor_bounded(aws: str, repo: Path) -> None:
    strict = settings_with(aws, max_flip_percent=0)
    first, _ = run(settings_with(aws), repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    second, _ = run(settings_with(aws), repo, execute=True, package=retrained)
    assert first.record is not None and second.record is not None
    set_gate(repo, min_roc_auc=0.99)  # the model a rollback puts back no longer passes
    back, said = roll(strict, repo, execute=True)
    assert back.record is not None and back.record.model_sha256 == first.record.model_sha256
    assert "hold-out accuracy: 0.8856 (live: 0.8832)" in said
    assert "golden requests: 2 of 200 sessions change decision" in said
    assert back.record.model_metrics == first.record.model_metrics
    # A deploy of the same working tree is gated by the new threshold.
    message = refused(aws, lambda: run(strict, repo, execute=True))
    assert "hold-out ROC AUC 0.8980 < min_roc_auc 0.99" in message


def test_the_same_model_is_not_replayed(aws: str, local_settings: Settings, repo: Path) -> None:
    run(local_settings, repo, execute=True)
    commit(repo, "docs.txt", "a docs change\n")
    _, said = run(local_settings, repo)
    assert "golden requests: the same model serves now: its answers do not change" in said


def test_the_model_config_is_validated_whole(tmp_path: Path) -> None:
    """load() (training only) still refuses a bad [gate]: the file is checked whole."""
    root = tmp_path
    (root / "config").mkdir()
    text = MODEL_TOML.read_text(encoding="utf-8").replace("[behaviour]", "[behavior]")
    (root / "config" / "model.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="behaviour"):
        load(root)
    assert load_config(PROJECT_ROOT).gate == Gate(min_accuracy=0.85, min_roc_auc=0.85)


def test_a_truncated_archive_cannot_be_replayed(tmp_path: Path) -> None:
    packaged = package_model(tmp_path / "model", load(PROJECT_ROOT))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(packaged.path.read_bytes()[:200])
    with pytest.raises(CannotReplay, match=r"^broken\.tar\.gz cannot be extracted"):
        extract(broken, tmp_path / "x")
    assert tarfile.is_tarfile(packaged.path)


# --- captured requests (--replay-captured N) -----------------------------------------------------


def capture_line(body: str, content_type: str, encoding: str) -> str:
    """One data-capture record as SageMaker writes it (input only)."""
    data = base64.b64encode(body.encode()).decode() if encoding == "BASE64" else body
    captured = {"observedContentType": content_type, "mode": "INPUT", "data": data}
    return json.dumps(
        {
            "captureData": {"endpointInput": {**captured, "encoding": encoding}},
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-12-06T10:00:00Z"},
            "eventVersion": "0",
        }
    )


def test_a_captured_record_is_read_in_each_encoding() -> None:
    rows = '{"instances": [[1, 2.5, 2, 0, 12.0]]}'
    assert captured_request(capture_line(rows, JSON_TYPE, "JSON")) == Request(
        JSON_TYPE, rows.encode()
    )
    assert captured_request(capture_line(rows, JSON_TYPE, "BASE64")) == Request(
        JSON_TYPE, rows.encode()
    )
    csv = captured_request(capture_line("1,2.5,2,0,12.0", "text/csv", "CSV"))
    assert csv == Request("text/csv", b"1,2.5,2,0,12.0")
    assert captured_request("not json") is None
    assert captured_request('{"captureData": {}}') is None


def replay(settings: Settings, repo: Path, captured: int, *, execute: bool = False) -> Any:
    output = io.StringIO()
    outcome = deploy(
        settings,
        DeployRequest(environment="local", execute=execute, replay_captured=captured),
        root=repo,
        environ=CONFIRM,
        out=Console(file=output, width=250),
        package=retrained,
    )
    return outcome, output.getvalue()


def test_captured_requests_are_replayed_beside_the_golden_ones(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    _, said = replay(local_settings, repo, 5)
    assert "captured requests: no captured requests in the bucket yet" in said
    sessions = [json.loads(r.body)["instances"] for r in load_golden(PROJECT_ROOT)[0:3]]
    lines = [
        capture_line(json.dumps({"instances": sessions[0]}), JSON_TYPE, "JSON"),
        capture_line(json.dumps({"instances": sessions[1]}), JSON_TYPE, "BASE64"),
        capture_line(",".join(map(str, sessions[2][0])), "text/csv", "CSV"),
    ]
    # SageMaker's layout under the capture URI: <endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
    folder = f"{data_capture_prefix('local')}{local_settings.project.name}-local/AllTraffic/"
    hour = datetime.now(UTC).strftime("%Y/%m/%d/%H")
    key = f"{folder}{hour}/capture.jsonl"
    client(aws, "s3").put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())
    outcome, said = replay(local_settings, repo, 2, execute=True)
    assert "captured requests: " in said and " of 11 sessions change decision" in said
    assert outcome.record is not None
    assert outcome.record.behaviour["captured"]["sessions"] == 11  # the newest two: 10 + 1 rows


def test_replay_captured_out_of_range_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--replay-captured -1: replay 0 to 10000 captured"):
        commands.deploy(
            tmp_path,
            "local",
            execute=False,
            upload_artifacts=True,
            timeout_minutes=1,
            replay_captured=-1,
        )


def test_captured_requests_the_role_may_not_read_are_said_not_refused(
    aws: str, local_settings: Settings, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(local_settings, repo, execute=True)
    commit(repo, "model-change.txt", "regularization = 0.05\n")

    def denied(*_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    monkeypatch.setattr(model_review, "captured_sample", denied)
    outcome, said = replay(local_settings, repo, 5)
    assert outcome.result is Result.DRY_RUN
    assert "captured requests: cannot read captured requests (AccessDenied)" in said


def broken(out: Path) -> PackagedModel:
    """A candidate whose handler no longer answers the requests the live model answers."""
    packaged = retrained(out)
    files = {"model.json": (out / "model.json").read_bytes()}
    files["code/inference.py"] = (
        b"def model_fn(d):\n    return None\n"
        b"def transform_fn(m, b, c, a):\n    return ('{\"error\": \"bad\"}', 'application/json')\n"
    )
    archive = build_archive(files)
    packaged.path.write_bytes(archive)
    return replace(packaged, sha256=hashlib.sha256(archive).hexdigest())


def test_a_candidate_failing_where_the_live_model_answers_is_refused_under_a_bound(
    aws: str, repo: Path
) -> None:
    strict = settings_with(aws, max_flip_percent=5)
    run(strict, repo, execute=True)
    commit(repo, "model-change.txt", "a broken handler\n")
    message = refused(aws, lambda: run(strict, repo, package=broken))
    assert message == (
        "the candidate fails on the golden requests: its answer to request 1 is not scores "
        '(not {"scores": [numbers]} or [numbers]); local\'s policy.max_flip_percent 5 cannot '
        "hold for answers it does not give"
    )
    # Without a bound it is shown, not refused.
    loose = settings_with(aws, max_flip_percent=100)
    outcome, said = run(loose, repo, package=broken)
    assert outcome.result is Result.DRY_RUN
    assert "golden requests: the candidate fails on the golden requests: its answer" in said
