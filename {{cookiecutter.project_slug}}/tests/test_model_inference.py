"""The SageMaker handler: JSON and CSV requests, every refusal's status and message, the smoke
helpers, and that the file stays standard-library-only Python 3.8 for the container."""

from __future__ import annotations

import ast
import inspect
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.model import inference
from {{ cookiecutter.package_name }}.model.data import FEATURES
from {{ cookiecutter.package_name }}.model.package import write_model_json
from {{ cookiecutter.package_name }}.model.settings import load
from {{ cookiecutter.package_name }}.model.train import FittedModel, fit

from .conftest import PROJECT_ROOT

ROWS = [[0, 2.5, 2, 0, 12.0], [3, 40.0, 9, 1, 300.0], [6, 180.0, 24, 1, 950.0]]
NAMES = ", ".join(FEATURES)


@pytest.fixture(scope="module")
def fitted() -> FittedModel:
    return fit(load(PROJECT_ROOT))


@pytest.fixture(scope="module")
def model(fitted: FittedModel, tmp_path_factory: pytest.TempPathFactory) -> inference.Model:
    model_dir = tmp_path_factory.mktemp("model")
    write_model_json(model_dir, fitted.parameters)
    return inference.model_fn(str(model_dir))


def invoke(
    model: inference.Model,
    body: bytes | str,
    content_type: str | None = "application/json",
    accept: str | None = "application/json",
) -> list[float]:
    """transform_fn's sequence: read_request, score, write_answer; returns the scores."""
    data = inference.read_request(body, content_type)
    answer, answer_type = inference.write_answer(inference.score(data, model), accept)
    assert answer_type == "application/json"
    scores: list[float] = json.loads(answer)["scores"]
    return scores


def as_json(instances: Any) -> bytes:
    return json.dumps({"instances": instances}).encode()


def test_scores_match_the_sklearn_pipeline(model: inference.Model, fitted: FittedModel) -> None:
    expected = fitted.pipeline.predict_proba(ROWS)[:, 1]
    assert invoke(model, as_json(ROWS)) == pytest.approx(list(expected), abs=1e-9)


def test_json_objects_csv_and_lists_score_the_same(model: inference.Model) -> None:
    by_list = invoke(model, as_json(ROWS))
    objects = [dict(zip(FEATURES, row, strict=True)) for row in ROWS]
    assert invoke(model, as_json(objects)) == by_list
    csv_body = "".join(",".join(str(value) for value in row) + "\r\n" for row in ROWS)
    assert invoke(model, csv_body.encode(), "text/csv") == by_list
    assert invoke(model, csv_body, "text/csv; charset=utf-8") == by_list, "str bodies too"
    assert by_list[0] < 0.1, "an ordinary session"
    assert by_list[2] > 0.9, "a suspicious session"


@pytest.mark.parametrize(
    "accept", [None, "", "*/*", "application/json; charset=utf-8", "text/html, application/*"]
)
def test_json_compatible_accepts_are_answered(model: inference.Model, accept: str | None) -> None:
    assert len(invoke(model, as_json(ROWS[:1]), accept=accept)) == 1


def test_a_missing_content_type_means_json(model: inference.Model) -> None:
    assert len(invoke(model, as_json(ROWS), content_type=None)) == 3


BAD_PAYLOADS: list[tuple[str, bytes, str, str]] = [
    ("empty body", b"", "application/json", "the request body is empty; send {"),
    ("blank body", b" \n ", "text/csv", "the request body is empty; send one CSV row"),
    ("not UTF-8", b"\xff\xfe", "application/json", "the request body is not UTF-8 text"),
    ("not JSON", b"{instances: 1}", "application/json", "the request body is not valid JSON: "),
    ("NaN", b'{"instances": [[NaN, 1, 1, 1, 1]]}', "application/json", "NaN is not a number"),
    ("missing instances", b'{"rows": []}', "application/json", 'with "instances": a list'),
    ("a list, not an object", b"[[1, 2, 3, 4, 5]]", "application/json", 'with "instances"'),
    ("no instances", b'{"instances": []}', "application/json", "must be a non-empty list"),
    (
        "wrong row length",
        as_json([ROWS[0], ROWS[1], [1, 2, 3, 4]]),
        "application/json",
        f"instance 2 has 4 values, expected 5 ({NAMES})",
    ),
    (
        "non-numeric value",
        as_json([[1, "lots", 3, 0, 5]]),
        "application/json",
        "instance 0, bytes_out_mb: 'lots' is not a finite number",
    ),
    (
        "boolean value",
        as_json([[1, 2, 3, True, 5]]),
        "application/json",
        "instance 0, off_hours: True is not a finite number",
    ),
    (
        "unknown feature name",
        as_json([{**dict(zip(FEATURES, ROWS[0], strict=True)), "shoe_size": 42}]),
        "application/json",
        f"instance 0 has unknown feature 'shoe_size'; features are {NAMES}",
    ),
    (
        "missing feature",
        as_json([{"failed_logins": 1}]),
        "application/json",
        "instance 0 is missing bytes_out_mb, distinct_ports, off_hours, geo_velocity_kmh",
    ),
    (
        "row of the wrong kind",
        as_json(["1,2,3,4,5"]),
        "application/json",
        "instance 0 must be a list of 5 numbers or an object keyed by feature name, got str",
    ),
    (
        "CSV row too short",
        b"1,2,3,4,5\n\n1,2,3,4\n",
        "text/csv",
        f"instance 1 (line 3) has 4 values, expected 5 ({NAMES})",
    ),
    (
        "CSV non-numeric",
        b"1,2,x,4,5\n",
        "text/csv",
        "instance 0 (line 1), distinct_ports: 'x' is not a finite number",
    ),
    (
        "CSV header",
        (",".join(FEATURES) + "\n1,2,3,4,5\n").encode(),
        "text/csv",
        "instance 0 (line 1) is a header row; send CSV rows without a header",
    ),
    ("CSV of blank cells", b" , ,\n", "text/csv", "has no CSV rows, only blank ones"),
    ("CSV unclosed quote", b'1,2,3,4,"5\n', "text/csv", "the request body is not valid CSV: "),
]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [case[1:] for case in BAD_PAYLOADS],
    ids=[case[0] for case in BAD_PAYLOADS],
)
def test_bad_payloads_are_400_saying_what_is_wrong(
    model: inference.Model, body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(inference.BadPayload) as raised:
        invoke(model, body, content_type)
    assert raised.value.status_code == 400
    assert message in str(raised.value)
    assert str(raised.value) == raised.value.message
    assert "\n" not in str(raised.value)


def test_an_unsupported_content_type_is_415(model: inference.Model) -> None:
    with pytest.raises(inference.UnsupportedContentType) as raised:
        invoke(model, b"\x93NUMPY", "application/x-npy")
    assert raised.value.status_code == 415
    assert str(raised.value) == (
        "content type 'application/x-npy' is not supported; send application/json or text/csv"
    )


def test_an_unsupported_accept_is_406(model: inference.Model) -> None:
    with pytest.raises(inference.UnsupportedAccept) as raised:
        invoke(model, as_json(ROWS), accept="text/csv")
    assert raised.value.status_code == 406
    assert str(raised.value) == "cannot answer in 'text/csv'; this model answers application/json"


def test_refusals_share_one_base_class() -> None:
    for error in (
        inference.BadPayload,
        inference.UnsupportedContentType,
        inference.UnsupportedAccept,
    ):
        assert issubclass(error, inference.HandlerError)


def test_a_malformed_model_json_fails_loading(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text('{"format": "pickle"}', encoding="utf-8")
    with pytest.raises(ValueError, match="is not a threat-score-logistic/1 model"):
        inference.model_fn(str(tmp_path))


# --- the smoke test's helpers ----------------------------------------------------------------


def test_the_sample_request_scores_through_check_response(model: inference.Model) -> None:
    data = inference.read_request(inference.sample_request(), inference.SAMPLE_CONTENT_TYPE)
    body, _ = inference.write_answer(inference.score(data, model), "application/json")
    scores = inference.check_response(body.encode(), rows=2)
    assert len(scores) == 2
    assert scores[0] < scores[1], "the second sample is the suspicious session"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>oops</html>", "the response is not JSON"),
        (b'{"predictions": [0.1, 0.2]}', 'the response is not {"scores": [...]}'),
        (b'{"scores": [0.1]}', "the response has 1 scores for 2 rows"),
        (b'{"scores": [0.1, "high"]}', "score 1 is 'high', not a number"),
        (b'{"scores": [0.1, true]}', "score 1 is True, not a number"),
        (b'{"scores": [0.1, 1.5]}', "score 1 is 1.5, outside 0..1"),
    ],
)
def test_check_response_refuses_anything_else(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("[", r"\[").replace("(", r"\(")):
        inference.check_response(body, rows=2)


# --- the file as the container sees it -------------------------------------------------------


SOURCE = Path(inference.__file__).read_text(encoding="utf-8")


def test_the_handler_imports_only_the_standard_library() -> None:
    tree = ast.parse(SOURCE)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert all(node.level == 0 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom))
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def _newer_than_python38(node: ast.AST) -> bool:
    """Runtime idioms linters suggest that Python 3.8 cannot run."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "zip" and any(k.arg == "strict" for k in node.keywords):
            return True
        if node.func.id == "isinstance" and isinstance(node.args[1], ast.BinOp):
            return True
    return False


def test_the_handler_runs_on_the_containers_python_38() -> None:
    tree = ast.parse(SOURCE, feature_version=(3, 8))
    assert not [ast.unparse(node) for node in ast.walk(tree) if _newer_than_python38(node)]


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("model_fn", ["model_dir"]),
        ("transform_fn", ["model", "request_body", "content_type", "accept"]),
    ],
)
def test_the_containers_functions_are_there(name: str, arguments: list[str]) -> None:
    function: Callable[..., Any] = getattr(inference, name)
    assert list(inspect.signature(function).parameters) == arguments


def test_no_per_step_functions_beside_transform_fn() -> None:
    """The scikit-learn container refuses transform_fn next to input_fn, predict_fn or
    output_fn (sagemaker_sklearn_container/serving.py, _user_module_transformer)."""
    assert not {"input_fn", "predict_fn", "output_fn"} & set(vars(inference))


def test_transform_fn_scores_a_good_request(model: inference.Model) -> None:
    body, content_type = inference.transform_fn(
        model, inference.sample_request(), "application/json", "application/json"
    )
    assert content_type == "application/json"
    assert len(json.loads(body)["scores"]) == 2


@pytest.mark.parametrize(
    "case",
    [
        (b"{not json", "application/json", "application/json", 400),
        (b"\x93NUMPY", "application/x-npy", "application/json", 415),
        (as_json(ROWS), "application/json", "text/csv", 406),
    ],
    ids=["bad payload", "unsupported content type", "unsupported accept"],
)
def test_a_bad_request_is_answered_4xx_not_500(
    model: inference.Model,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[bytes, str, str, int],
) -> None:
    """Through the container's own Response class: a 4xx counts as Invocation4XXErrors,
    which no rollback alarm watches; an exception would be a 500 (Invocation5XXErrors)."""
    body, content_type, accept, status = case

    class Response:  # sagemaker_containers._worker.Response, as transform_fn calls it
        def __init__(
            self, response: Any = None, *, status: int = 200, mimetype: Any = None
        ) -> None:
            self.response, self.status, self.mimetype = response, status, mimetype

    worker = types.ModuleType("sagemaker_containers._worker")
    worker.Response = Response  # type: ignore[attr-defined]
    package = types.ModuleType("sagemaker_containers")
    monkeypatch.setitem(sys.modules, "sagemaker_containers", package)
    monkeypatch.setitem(sys.modules, "sagemaker_containers._worker", worker)
    answer = inference.transform_fn(model, body, content_type, accept)
    assert isinstance(answer, Response)
    assert answer.status == status and answer.mimetype == "application/json"
    assert json.loads(answer.response)["error"]


def test_outside_the_container_a_refusal_is_a_plain_answer(model: inference.Model) -> None:
    answer = inference.transform_fn(model, b"", "application/json", None)
    assert isinstance(answer, inference.Answer)
    assert answer.status == 400
    assert "empty" in json.loads(answer.response)["error"]
