"""Faults a test asks the strict local AWS for, and how each looks on the wire.

Three kinds, set over HTTP (`POST /strict-api/faults`, see server.py) so a test drives them
against the same server the code under test calls:

- an API error at a chosen call: `{"action": "DeleteChangeSet", "error": "ExpiredToken"}`
  answers that call with the error AWS sends (codes below), `times` times (default 1),
  after `skip` matching calls pass (default 0); action "*" matches every call (credentials
  that expired: every call fails from then on);
- a changed answer: `{"action": "DescribeEndpoint", "override": {"EndpointConfigName": "x"}}`
  merges fields into a JSON-protocol answer (SageMaker's endpoint quietly back on an older
  config after an alarm rollback, while CloudFormation reported success);
- a failing resource: `{"resource": "ModelEndpoint65D8CF31", "reason": "...",
  "rollback_fails": false}` makes CloudFormation fail that logical id (or every resource of
  a type: "AWS::SageMaker::Endpoint") when a change set touches it, then roll back
  (UPDATE_ROLLBACK_FAILED when rollback_fails).

A KeyboardInterrupt cannot travel over HTTP: `interrupt_at` raises it in the client, at the
moment the named call would be sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# The codes and messages AWS answers with. ExpiredToken: "The security token included in
# the request is expired" (STS and every Query-protocol service; JSON-protocol services say
# ExpiredTokenException), https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html.
# Throttling: "Rate exceeded" (CloudFormation), ThrottlingException (JSON services),
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html.
ERRORS: dict[str, tuple[int, str, str, str]] = {
    # name: (HTTP status, Query code, JSON code, message)
    "ExpiredToken": (
        400,
        "ExpiredToken",
        "ExpiredTokenException",
        "The security token included in the request is expired",
    ),
    "Throttling": (400, "Throttling", "ThrottlingException", "Rate exceeded"),
    "AccessDenied": (
        403,
        "AccessDenied",
        "AccessDeniedException",
        "User is not authorized to perform this operation",
    ),
}


class ResourceFailed(Exception):
    """A resource's create, update or delete failed; str() is the status reason."""


class FaultError(ValueError):
    """A fault request that cannot be honoured (unknown error, no action...)."""


@dataclass
class CallFault:
    action: str
    error: str | None = None
    override: dict[str, Any] | None = None
    times: int = 1
    skip: int = 0


@dataclass(frozen=True)
class ResourceFault:
    resource: str
    reason: str
    rollback_fails: bool = False


@dataclass
class Faults:
    """What is injected now; one per server, shared by its request threads."""

    calls: list[CallFault] = field(default_factory=list)
    resources: dict[str, ResourceFault] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: dict[str, Any]) -> None:
        if "resource" in request:
            self.resources[str(request["resource"])] = ResourceFault(
                resource=str(request["resource"]),
                reason=str(request.get("reason", "Resource handler returned message: injected")),
                rollback_fails=bool(request.get("rollback_fails", False)),
            )
            return
        action = request.get("action")
        error, override = request.get("error"), request.get("override")
        if not action or (error is None) == (override is None):
            raise FaultError('a call fault needs "action" and one of "error" or "override"')
        if error is not None and error not in ERRORS:
            raise FaultError(f"unknown error {error!r}; one of {', '.join(ERRORS)}")
        with self.lock:
            self.calls.append(
                CallFault(
                    action=str(action),
                    error=error,
                    override=override,
                    times=int(request.get("times", 1)),
                    skip=int(request.get("skip", 0)),
                )
            )

    def take(self, action: str) -> CallFault | None:
        """The fault for this call, if one is due (counting it)."""
        with self.lock:
            for fault in self.calls:
                if fault.action not in (action, "*") or fault.times <= 0:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self.resources.clear()


FAULTS = Faults()


@contextlib.contextmanager
def interrupt_at(operation: str) -> Iterator[None]:
    """Raise KeyboardInterrupt in this process when a boto3 client is about to call
    `operation` (e.g. "ExecuteChangeSet"), as a Ctrl-C at that moment would."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def interrupted(self: Any, operation_name: str, api_params: Any) -> Any:
        if operation_name == operation:
            raise KeyboardInterrupt
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = interrupted
    try:
        yield
    finally:
        BaseClient._make_api_call = original
