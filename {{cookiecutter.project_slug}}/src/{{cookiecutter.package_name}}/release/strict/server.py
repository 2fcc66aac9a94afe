"""The strict local AWS on loopback: moto's server, made strict, with faults on request.

`StrictAws` serves it from a thread (tests); `python -m <package>.release.strict` serves it in
the foreground (`invoke local-aws` starts that in the background). Clients speak the real
AWS protocols to it (boto3 with an endpoint URL). Besides moto's own `/moto-api/` it
answers:

- `POST /strict-api/faults` with a JSON fault (faults.py), `DELETE /strict-api/faults` to
  clear them; `/moto-api/reset` clears them too, with everything else.
- `GET /strict-api/schedules?account=...&region=...`: the Model Monitor schedules that exist
  (moto has no API for them).
- `POST /strict-api/calls` starts recording every AWS call (service, action, the caller's
  access key, its parameters), `GET /strict-api/calls` returns them, `DELETE` stops: what
  access/calls.py turns into IAM requests to evaluate against a role's policies.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import BaseWSGIServer, make_server

from .. import schemas
from . import cloudwatch, drift, resources
from .cloudformation import install
from .faults import ERRORS, FAULTS, CallFault, FaultError

StartResponse = Callable[..., Any]
_CONTROL = "/strict-api/"


def _rest_action(environ: dict[str, Any]) -> str:
    """The two REST calls faults are asked for: SageMaker Runtime's InvokeEndpoint
    (POST /endpoints/<name>/invocations) and S3's PutObject (PUT /<bucket>/<key>, path
    style, as boto3 addresses a loopback endpoint)."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if method == "POST" and path.startswith("/endpoints/") and path.endswith("/invocations"):
        return "InvokeEndpoint"
    if method == "PUT" and path.strip("/").count("/") >= 1 and not environ.get("QUERY_STRING"):
        return "PutObject"
    return ""


def _action(environ: dict[str, Any], body: bytes) -> tuple[str, bool]:
    """(the API action, whether the call is JSON protocol) of an AWS request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1], True
    rest = _rest_action(environ)
    if rest:
        return rest, rest == "InvokeEndpoint"
    if environ.get("REQUEST_METHOD") == "POST" and body:
        fields = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in fields:
            return fields["Action"][0], False
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return (query.get("Action", [""])[0], False)


def _error(fault: CallFault, json_protocol: bool) -> tuple[str, list[tuple[str, str]], bytes]:
    assert fault.error is not None
    status, query_code, json_code, message = ERRORS[fault.error]
    if json_protocol:
        body = json.dumps({"__type": json_code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1")]
    elif fault.action == "PutObject":  # S3's REST errors: a bare <Error> document
        body = (
            f"<Error><Code>{query_code}</Code><Message>{message}</Message>"
            "<RequestId>strict-local-aws</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml")]
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{query_code}</Code><Message>{message}</Message></Error>"
            "<RequestId>strict-local-aws</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    reason = {400: "Bad Request", 403: "Forbidden"}[status]
    return f"{status} {reason}", headers, body


_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/")
# The calls IAM authorizes by the resource's tags (access/policies.py): their record keeps
# the tags the resource had when the call was made, as IAM reads them then.
_TAGGED_READS = {"DescribeEndpointConfig": "EndpointConfigName", "DescribeModel": "ModelName"}


def _resource_tags(access_key: str, region: str, action: str, name: str) -> dict[str, str]:
    from moto.iam.models import get_account_id_from
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[get_account_id_from(access_key)][region]
    found: Any = (
        backend.endpoint_configs.get(name)
        if action == "DescribeEndpointConfig"
        else backend._models.get(name)
    )
    if found is None:
        return {}
    return {t["Key"]: t["Value"] for t in found.tags or []}


_CHANGE_SET_IDS = re.compile(rb"<(Id|StackId)>([^<]+)</")


def _call(environ: dict[str, Any], action: str, body: bytes, json_protocol: bool) -> dict[str, Any]:
    """One AWS call as recorded: who (the access key of its signature), which service (its
    signing name) and action, and its parameters (form, JSON, or the REST path and query)."""
    found = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    params: Any = {}
    if json_protocol and body:
        with contextlib.suppress(ValueError):
            params = json.loads(body)
    elif body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    access_key, region, service = found.groups() if found else ("", "", "")
    tags = {}
    if service == "sagemaker" and action in _TAGGED_READS and isinstance(params, dict):
        name = str(params.get(_TAGGED_READS[action], ""))
        tags = _resource_tags(access_key, region, action, name)
    return {
        "access_key": access_key,
        "service": service,
        "action": action,
        "method": environ.get("REQUEST_METHOD", ""),
        "path": environ.get("PATH_INFO", ""),
        "query": environ.get("QUERY_STRING", ""),
        "params": params,
        "answer": {},
        "resource_tags": tags,
    }


class Recorder:
    """The calls made while recording (None: not recording)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def add(self, call: dict[str, Any]) -> None:
        with self._lock:
            if self.calls is not None:
                self.calls.append(call)


RECORDER = Recorder()


class StrictMiddleware:
    """Answers the control API, injects faults, and passes everything else to moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith(_CONTROL):
            return self._control(environ, path[len(_CONTROL) :], body, start_response)
        if path.startswith("/moto-api/reset"):
            FAULTS.clear()
            RECORDER.calls = None
            resources.reset()
            drift.reset()
            return self.app(environ, start_response)
        action, json_protocol = _action(environ, body)
        call = None
        if RECORDER.calls is not None:
            call = _call(environ, action, body, json_protocol)
            RECORDER.add(call)
        fault = FAULTS.take(action) if action else None
        if fault is None:
            if call is not None and action == "CreateChangeSet":  # later calls name its ids
                return self._recording_ids(environ, start_response, call)
            return self.app(environ, start_response)
        if fault.error is not None:
            status, headers, payload = _error(fault, json_protocol)
            start_response(status, [*headers, ("Content-Length", str(len(payload)))])
            return [payload]
        return self._override(environ, start_response, fault.override or {})

    def _override(
        self, environ: dict[str, Any], start_response: StartResponse, fields: dict[str, Any]
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        payload = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            answer = json.loads(payload or b"{}")
            answer.update(fields)
            payload = json.dumps(answer).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(payload)))])
        return [payload]

    def _recording_ids(
        self, environ: dict[str, Any], start_response: StartResponse, call: dict[str, Any]
    ) -> Iterable[bytes]:
        payload = b"".join(self.app(environ, start_response))
        call["answer"] = {k.decode(): v.decode() for k, v in _CHANGE_SET_IDS.findall(payload)}
        return [payload]

    def _control(
        self, environ: dict[str, Any], route: str, body: bytes, start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        answer: Any = {"ok": True}
        status = "200 OK"
        try:
            if route == "faults" and method == "POST":
                FAULTS.add(json.loads(body or b"{}"))
            elif route == "faults" and method == "DELETE":
                FAULTS.clear()
            elif route == "calls" and method == "POST":
                RECORDER.calls = []
            elif route == "calls" and method == "GET":
                answer = RECORDER.calls or []
            elif route == "calls" and method == "DELETE":
                RECORDER.calls = None
            elif route == "schedules" and method == "GET":
                query = parse_qs(environ.get("QUERY_STRING", ""))
                answer = resources.schedules(
                    query.get("account", ["123456789012"])[0],
                    query.get("region", ["us-east-1"])[0],
                )
            else:
                status, answer = "404 Not Found", {"error": f"no such route {method} {route}"}
        except (FaultError, ValueError) as error:
            status, answer = "400 Bad Request", {"error": str(error)}
        payload = json.dumps(answer).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]


def application() -> StrictMiddleware:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    install()
    cloudwatch.install()
    drift.install()
    schemas.preload()
    _answer_lookups_once()
    return StrictMiddleware(DomainDispatcherApplication(create_backend_app))


def _answer_lookups_once() -> None:
    """Two look-ups moto's server repeats for every request, answered once: which service
    packages moto has (its dispatcher lists moto's folder and stats each entry: a sixth of
    the server's time in a profile of the test suite) and which actions a response class
    has (inspect.getmembers, a thirtieth). Neither answer changes while the server runs."""
    from moto import backends
    from moto.core import responses

    moto_backends: Any = backends
    moto_responses: Any = responses
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules
    if not hasattr(moto_responses.method_names_from_class, "cache_info"):
        moto_responses.method_names_from_class = cache(moto_responses.method_names_from_class)


def _server(host: str, port: int) -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    return make_server(host, port, application(), True, request_handler=MotoRequestHandler)


class StrictAws:
    """The strict local AWS in a background thread; `url` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _server(host, port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://{host}:{self._server.server_port}"

    def start(self) -> StrictAws:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="The strict local AWS: moto on loopback with CloudFormation's real rules."
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("-p", "--port", type=int, default=5000, help="port to listen on")
    options = parser.parse_args(argv)
    server = _server(options.host, options.port)
    print(f"strict local AWS on http://{options.host}:{options.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
