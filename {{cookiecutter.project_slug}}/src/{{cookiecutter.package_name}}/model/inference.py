"""The SageMaker scikit-learn container's serving functions for the threat-scoring model.

This file is copied alone into model.tar.gz as code/inference.py, so it uses the standard
library only (no numpy, no scikit-learn, nothing from this package) and stays Python 3.8
compatible for the container's interpreter. It scores a session as
sigmoid(intercept + sum(coefficient * (value - mean) / scale)) with the numbers in model.json.

Requests: `application/json` as {"instances": [[f1, ..., f5], ...]} or
{"instances": [{"failed_logins": 3, ...}, ...]}, or `text/csv` with one row per session and no
header. The answer is application/json {"scores": [...]}, one probability per row.

A bad request raises a HandlerError whose `status_code` is the HTTP status it deserves (400
bad payload, 415 unsupported content type, 406 unsupported accept) and whose message says
exactly what is wrong. The container calls `model_fn` and `transform_fn`; `transform_fn`
answers a refusal with that status and a JSON error body, so a bad caller counts as
Invocation4XXErrors, not as Invocation5XXErrors, which page people and roll deployments
back (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). The
container's framework returns a Response that transform_fn returns as it is, where an
exception from a handler function becomes a 500 (aws/sagemaker-containers,
`_transformer.py` `transform` and `_functions.error_wrapper`); the scikit-learn container
refuses a module with transform_fn next to input_fn, predict_fn or output_fn
(sagemaker_sklearn_container/serving.py), so those are `read_request`, `score` and
`write_answer` here.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "model.json"
MODEL_FORMAT = "threat-score-logistic/1"
JSON = "application/json"
CSV = "text/csv"
SAMPLE_CONTENT_TYPE = JSON

# Two sessions for smoke tests: an ordinary daytime login and a suspicious one.
_SAMPLE_ROWS = ([0, 2.5, 2, 0, 12.0], [6, 180.0, 24, 1, 950.0])


class HandlerError(Exception):
    """A request the handler refuses; `status_code` is the HTTP status to answer with."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadPayload(HandlerError):
    """The body cannot be read as rows of feature values."""

    status_code = 400


class UnsupportedContentType(HandlerError):
    status_code = 415


class UnsupportedAccept(HandlerError):
    status_code = 406


@dataclass(frozen=True)
class Model:
    """model.json's numbers: a standard scaler followed by a logistic regression."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float

    @classmethod
    def from_document(cls, document: Any) -> Model:
        """Check a parsed model.json; a malformed one is a packaging bug (ValueError)."""
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise ValueError(f"{MODEL_FILE} is not a {MODEL_FORMAT} model")
        features = tuple(str(name) for name in document["features"])
        vectors = {}
        for key in ("means", "scales", "coefficients"):
            vectors[key] = tuple(float(value) for value in document[key])
            if len(vectors[key]) != len(features):
                raise ValueError(f"{MODEL_FILE}: {key} does not have one value per feature")
        if 0.0 in vectors["scales"]:
            raise ValueError(f"{MODEL_FILE}: a scale is 0")
        return cls(
            features=features,
            means=vectors["means"],
            scales=vectors["scales"],
            coefficients=vectors["coefficients"],
            intercept=float(document["intercept"]),
        )

    def score(self, row: list[float]) -> float:
        """The probability that the session in `row` (values in feature order) is malicious."""
        log_odds = self.intercept
        for index, value in enumerate(row):
            scaled = (value - self.means[index]) / self.scales[index]
            log_odds += self.coefficients[index] * scaled
        return _sigmoid(log_odds)


def _sigmoid(x: float) -> float:
    # Two branches so math.exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    exp_x = math.exp(x)
    return exp_x / (1.0 + exp_x)


# --- the functions the container calls, and the steps of transform_fn ----------------------


def model_fn(model_dir: str) -> Model:
    """Load model.json from the extracted model.tar.gz."""
    return Model.from_document(json.loads(Path(model_dir, MODEL_FILE).read_text(encoding="utf-8")))


def read_request(request_body: bytes | str, request_content_type: str | None) -> Instances:
    """Read the rows of a JSON or CSV body (score checks them against the model)."""
    media_type = _media_type(request_content_type or JSON)
    if media_type not in (JSON, CSV):
        raise UnsupportedContentType(
            f"content type {request_content_type!r} is not supported; send {JSON} or {CSV}"
        )
    text = _text(request_body)
    if not text.strip():
        raise BadPayload(
            'the request body is empty; send {"instances": [[...], ...]} or CSV rows'
            if media_type == JSON
            else "the request body is empty; send one CSV row of feature values per session"
        )
    if media_type == JSON:
        return _json_rows(text)
    return _csv_rows(text)


def score(input_data: Instances, model: Model) -> list[float]:
    """Score every row; rows are lists in feature order or objects keyed by feature name."""
    rows = [input_data.values(index, model.features) for index in range(len(input_data.rows))]
    return [model.score(row) for row in rows]


def write_answer(prediction: list[float], accept: str | None) -> tuple[str, str]:
    """{"scores": [...]} as application/json, whatever JSON-compatible Accept asked for it."""
    if not _accepts_json(accept):
        raise UnsupportedAccept(f"cannot answer in {accept!r}; this model answers {JSON}")
    return json.dumps({"scores": prediction}), JSON


def transform_fn(
    model: Model, request_body: bytes | str, content_type: str | None, accept: str | None
) -> Any:
    """One invocation: (body, content type) when scored, else an error Response with the
    refusal's 4xx status and {"error": "..."}."""
    try:
        return write_answer(score(read_request(request_body, content_type), model), accept)
    except HandlerError as refusal:
        return error_response(refusal)


def error_response(refusal: HandlerError) -> Any:
    """The container's Response class (a Flask Response) when there is one, else a plain
    stand-in with the same fields (tests, a local server)."""
    body = json.dumps({"error": refusal.message})
    try:
        worker = importlib.import_module("sagemaker_containers._worker")
    except ImportError:
        return Answer(response=body, status=refusal.status_code, mimetype=JSON)
    return worker.Response(response=body, status=refusal.status_code, mimetype=JSON)


@dataclass(frozen=True)
class Answer:
    """What error_response gives outside the container: the Response's three fields."""

    response: str
    status: int
    mimetype: str


# --- request parsing ------------------------------------------------------------------------


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _accepts_json(accept: str | None) -> bool:
    if not accept or not accept.strip():
        return True
    offered = {_media_type(part) for part in accept.split(",")}
    return bool(offered & {JSON, "application/*", "*/*"})


def _text(body: bytes | bytearray | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise BadPayload("the request body is not UTF-8 text") from None


def _reject_constant(name: str) -> float:
    raise BadPayload(f"{name} is not a number; send finite numbers only")


def _json_rows(text: str) -> Instances:
    try:
        # NaN and Infinity are not JSON, though Python's parser accepts them by default.
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise BadPayload(f"the request body is not valid JSON: {error}") from None
    if not isinstance(document, dict) or "instances" not in document:
        raise BadPayload('expected a JSON object with "instances": a list of rows')
    instances = document["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadPayload('"instances" must be a non-empty list of rows')
    return Instances(rows=tuple(instances))


def _csv_rows(text: str) -> Instances:
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):  # skip blank lines, e.g. a trailing newline
                rows.append(cells)
                lines.append(reader.line_num)
    except csv.Error as error:
        raise BadPayload(f"the request body is not valid CSV: {error}") from None
    if not rows:
        raise BadPayload("the request body has no CSV rows, only blank ones")
    return Instances(rows=tuple(rows), csv_lines=tuple(lines))


@dataclass(frozen=True)
class Instances:
    """The rows of a request as sent; `csv_lines` numbers CSV rows for messages."""

    rows: tuple[Any, ...]
    csv_lines: tuple[int, ...] | None = None

    def values(self, index: int, features: tuple[str, ...]) -> list[float]:
        """Row `index` as floats in feature order, or BadPayload saying what is wrong."""
        where = f"instance {index}"
        if self.csv_lines is not None:
            where += f" (line {self.csv_lines[index]})"
        row = self.rows[index]
        if self.csv_lines is not None and [cell.strip() for cell in row] == list(features):
            raise BadPayload(f"{where} is a header row; send CSV rows without a header")
        return _row(where, row, features)


def _row(where: str, values: Any, features: tuple[str, ...]) -> list[float]:
    expected = f"{len(features)} ({', '.join(features)})"
    if isinstance(values, dict):
        unknown = sorted(str(name) for name in values if name not in features)
        if unknown:
            raise BadPayload(
                f"{where} has unknown feature {unknown[0]!r}; features are {', '.join(features)}"
            )
        missing = [name for name in features if name not in values]
        if missing:
            raise BadPayload(f"{where} is missing {', '.join(missing)}; expected {expected}")
        return [_number(where, name, values[name]) for name in features]
    if not isinstance(values, list):
        raise BadPayload(
            f"{where} must be a list of {len(features)} numbers or an object keyed by "
            f"feature name, got {type(values).__name__}"
        )
    if len(values) != len(features):
        raise BadPayload(f"{where} has {len(values)} values, expected {expected}")
    # No zip(strict=...): this file must run on the container's Python 3.8.
    return [_number(where, features[index], values[index]) for index in range(len(features))]


def _number(where: str, name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = math.nan
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    else:
        number = math.nan
    if not math.isfinite(number):
        raise BadPayload(f"{where}, {name}: {value!r} is not a finite number")
    return number


# --- helpers for the deploy's smoke test ------------------------------------------------------


def sample_request() -> bytes:
    """A request body (SAMPLE_CONTENT_TYPE) with two sessions to score."""
    return json.dumps({"instances": [list(row) for row in _SAMPLE_ROWS]}).encode("utf-8")


def check_response(body: bytes, rows: int) -> list[float]:
    """The scores in a response body; ValueError unless it is {"scores": [rows floats in 0..1]}."""
    try:
        document = json.loads(body.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValueError(f"the response is not JSON: {error}") from None
    scores = document.get("scores") if isinstance(document, dict) else None
    if not isinstance(scores, list):
        raise ValueError('the response is not {"scores": [...]}: ' + _preview(body))
    if len(scores) != rows:
        raise ValueError(f"the response has {len(scores)} scores for {rows} rows")
    for index, score in enumerate(scores):
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise ValueError(f"score {index} is {score!r}, not a number")
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score {index} is {score!r}, outside 0..1")
    return [float(score) for score in scores]


def _preview(body: bytes) -> str:
    text = body[:120].decode("utf-8", errors="replace")
    return text + ("…" if len(body) > 120 else "")
