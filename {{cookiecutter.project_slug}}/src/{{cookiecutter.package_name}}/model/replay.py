"""Replay requests through a packaged model's own handler, locally, and compare two models' answers.

A model.tar.gz whose code/inference.py follows the SageMaker inference toolkit's contract
(model_fn, and transform_fn or input_fn/predict_fn/output_fn; "Use a custom inference
script", https://sagemaker.readthedocs.io/en/stable/frameworks/sklearn/using_sklearn.html)
and needs nothing beyond the standard library can be run here: each archive is extracted into
its own folder and its handler runs in a separate, isolated Python process (`python -I`), so
the live model is judged by the code it serves with, not by this checkout's. A handler that
cannot run here (another library, another image) is reported as such, never guessed at.

`compare` is pure: two lists of scores and a threshold in, the shift and the flips out.
"""

from __future__ import annotations

import base64
import json
import math
import os
import resource
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .inference import JSON
from .packaged import HANDLER

GOLDEN_REQUESTS = Path("config") / "golden-requests.jsonl"
TIMEOUT_SECONDS = 120.0


class CannotReplay(Exception):
    """A model's handler cannot be judged here; str() is one line saying why."""


class CannotRunHere(CannotReplay):
    """The handler needs what this machine does not have (a library its container ships)."""


@dataclass(frozen=True)
class Request:
    content_type: str
    body: bytes


def load_golden(root: Path) -> list[Request]:
    """config/golden-requests.jsonl: one JSON request body per line (blank lines skipped)."""
    path = root / GOLDEN_REQUESTS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(
            f"{GOLDEN_REQUESTS.as_posix()}: cannot read the golden requests ({error.strerror})"
        ) from None
    requests = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except ValueError as error:
            raise ConfigError(
                f"{GOLDEN_REQUESTS.as_posix()}:{number}: not a JSON request body ({error})"
            ) from None
        requests.append(Request(JSON, line.encode("utf-8")))
    if not requests:
        raise ConfigError(f"{GOLDEN_REQUESTS.as_posix()}: has no requests; add one per line")
    return requests


def captured_request(line: str) -> Request | None:
    """The request of one data-capture record (a JSON line SageMaker writes under the
    endpoint's capture prefix: captureData.endpointInput with observedContentType, data and
    its encoding, CSV, JSON or BASE64); None when the line is not one."""
    try:
        record = json.loads(line)
        captured = record["captureData"]["endpointInput"]
        data, encoding = str(captured["data"]), str(captured.get("encoding", "")).upper()
        body = base64.b64decode(data) if encoding == "BASE64" else data.encode("utf-8")
        return Request(str(captured.get("observedContentType") or JSON), body)
    except (ValueError, KeyError, TypeError):
        return None


# Runs in the child process: the archive's handler, one answer per request, as JSON on stdout.
_RUNNER = """
import base64, importlib.util, json, os, sys
answers_out, sys.stdout = sys.stdout, sys.stderr  # what the handler prints is not an answer
model_dir = sys.argv[1]
code = os.path.join(model_dir, "code")
sys.path.insert(0, code)
spec = importlib.util.spec_from_file_location("inference", os.path.join(code, "inference.py"))
handler = sys.modules["inference"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(handler)
model = handler.model_fn(model_dir)
answers = []
for item in json.load(sys.stdin):
    body, content_type = base64.b64decode(item["body"]), item["content_type"]
    if hasattr(handler, "transform_fn"):
        answer = handler.transform_fn(model, body, content_type, "application/json")
    else:
        data = handler.input_fn(body, content_type)
        answer = handler.output_fn(handler.predict_fn(data, model), "application/json")
    status = getattr(answer, "status", 200)
    if hasattr(answer, "response"):
        answer = answer.response
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and isinstance(answer[1], str):
        answer = answer[0]
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8")
    if not isinstance(answer, str):
        answer = json.dumps(answer)
    answers.append({"status": status, "body": answer})
json.dump(answers, answers_out)
"""
# What the child may use: no credentials or tokens from this process's environment (a CI
# deploy's AWS and GitHub secrets), no site-packages (-S: the standard library only, as the
# example's handler needs), a home and working folder of its own, and CPU and memory limits.
_CHILD_LIMITS = ((resource.RLIMIT_CPU, 60), (resource.RLIMIT_AS, 2 * 1024**3))


def _limit() -> None:
    for limit, value in _CHILD_LIMITS:
        resource.setrlimit(limit, (value, value))


def extract(archive: Path, folder: Path) -> Path:
    """The archive extracted into folder (created); tarfile's "data" filter refuses absolute
    paths, links out of the folder and special files."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter (Python 3.11.4+, which uv.lock's Python is) refuses absolute
            # paths, links out of the folder and special files.
            tar.extractall(folder, filter="data")
    except (OSError, EOFError, tarfile.TarError) as error:  # a truncated gzip is an EOFError
        raise CannotReplay(f"{archive.name} cannot be extracted ({error})") from None
    return folder


def _scores(body: str) -> list[float]:
    """The scores of one answer: {"scores": [...]} or a plain list of numbers."""
    document = json.loads(body)
    if isinstance(document, dict):
        document = document.get("scores")
    if not isinstance(document, list) or not all(
        isinstance(value, int | float) and not isinstance(value, bool) for value in document
    ):
        raise ValueError('not {"scores": [numbers]} or [numbers]')
    if not all(math.isfinite(value) and 0.0 <= value <= 1.0 for value in document):
        raise ValueError("a score is not a number from 0 to 1")
    return [float(value) for value in document]


def run_handler(model_dir: Path, requests: Sequence[Request]) -> list[float]:
    """Every score the model in model_dir (an extracted archive) gives the requests, in order;
    CannotReplay in one line when its handler cannot run here or does not answer with scores."""
    if not (model_dir / HANDLER).is_file():
        raise CannotReplay(f"the archive has no {HANDLER} to run")
    payload = json.dumps(
        [
            {"content_type": r.content_type, "body": base64.b64encode(r.body).decode("ascii")}
            for r in requests
        ]
    )
    home = model_dir.parent / f"{model_dir.name}-home"
    home.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _RUNNER, str(model_dir.resolve())],
            input=payload,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
            cwd=home,
            env={"PATH": os.defpath, "HOME": str(home.resolve()), "LANG": "C.UTF-8"},
            preexec_fn=_limit,
        )
    except subprocess.TimeoutExpired:
        raise CannotReplay(f"its handler did not answer within {TIMEOUT_SECONDS:.0f} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        last = lines[-1] if lines else f"exit status {done.returncode}"
        if last.startswith(("ModuleNotFoundError", "ImportError")):
            raise CannotRunHere(f"its handler needs what its container has: {last}")
        raise CannotReplay(f"its handler failed here: {last}")
    try:
        answers = json.loads(done.stdout)
    except ValueError:
        raise CannotReplay("its handler's process printed what is not its answers") from None
    scores: list[float] = []
    for number, answer in enumerate(answers, start=1):
        try:
            if answer["status"] >= 400:
                raise ValueError(f"status {answer['status']}: {answer['body'][:120]}")
            scores.extend(_scores(answer["body"]))
        except (ValueError, KeyError, TypeError) as error:
            raise CannotReplay(f"its answer to request {number} is not scores ({error})") from None
    return scores


@dataclass(frozen=True)
class BehaviourDiff:
    """How the candidate's scores differ from the live model's on the same sessions."""

    sessions: int
    threshold: float
    mean_shift: float  # candidate - live, averaged
    max_abs_shift: float
    newly_flagged: int  # below the threshold live, at or above it now
    newly_cleared: int  # at or above it live, below it now

    @property
    def flipped(self) -> int:
        return self.newly_flagged + self.newly_cleared

    @property
    def flip_percent(self) -> float:
        return 100.0 * self.flipped / self.sessions if self.sessions else 0.0

    def describe(self) -> str:
        """One line for the plan and the terminal."""
        return (
            f"{self.flipped} of {self.sessions} sessions change decision at threshold "
            f"{self.threshold:g} ({self.flip_percent:.1f} %: {self.newly_flagged} newly "
            f"flagged, {self.newly_cleared} cleared); score shift mean {self.mean_shift:+.4f}, "
            f"largest {self.max_abs_shift:.4f}"
        )


def compare(live: Sequence[float], candidate: Sequence[float], threshold: float) -> BehaviourDiff:
    """The shift and the flips between two models' scores of the same sessions; CannotReplay
    when the candidate does not score each session the live model scored."""
    if len(live) != len(candidate):
        raise CannotReplay(
            f"the candidate answers {len(candidate)} scores where the live model answers "
            f"{len(live)}, one per session"
        )
    shifts = [new - old for old, new in zip(live, candidate, strict=True)]
    return BehaviourDiff(
        sessions=len(shifts),
        threshold=threshold,
        mean_shift=sum(shifts) / len(shifts) if shifts else 0.0,
        max_abs_shift=max((abs(shift) for shift in shifts), default=0.0),
        newly_flagged=sum(old < threshold <= new for old, new in zip(live, candidate, strict=True)),
        newly_cleared=sum(new < threshold <= old for old, new in zip(live, candidate, strict=True)),
    )
