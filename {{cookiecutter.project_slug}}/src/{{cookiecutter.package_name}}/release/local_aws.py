"""The embedded local AWS: the strict moto server on loopback, started in the background.

`invoke local-aws` starts it on the port of the environment's endpoint_url, `--status` says
whether it answers, `--stop` stops the process the pid file names (and only that one).
State lives in the server's memory: stopping it forgets every stack, object and record.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..config import Environment
from ..errors import LocalAwsError

_LOOPBACK = {"127.0.0.1", "localhost"}
_START_SECONDS = 30.0
# The strict layer in front of moto (release/strict): CloudFormation's rules, not moto's.
_STRICT = f"{__package__}.strict"


@dataclass(frozen=True)
class LocalAws:
    url: str
    host: str
    port: int
    folder: Path  # holds the pid file and the server's log

    @property
    def pid_file(self) -> Path:
        return self.folder / "moto.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "moto.log"


def local_aws(environment: Environment, folder: Path) -> LocalAws:
    url = environment.endpoint_url
    parts = urlsplit(url or "")
    if url is None or parts.hostname not in _LOOPBACK or parts.port is None:
        raise LocalAwsError(
            f"environment {environment.name!r} has no loopback endpoint_url with a port "
            "(e.g. http://127.0.0.1:5123); local AWS serves only such environments"
        )
    return LocalAws(url=url.rstrip("/"), host=parts.hostname, port=parts.port, folder=folder)


def answers(server: LocalAws, timeout: float = 1.0) -> bool:
    """True when a moto server answers on the URL (its own API, not an AWS call)."""
    try:
        with urllib.request.urlopen(f"{server.url}/moto-api/", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def read_pid(server: LocalAws) -> int | None:
    try:
        return int(server.pid_file.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(server: LocalAws) -> str:
    pid = read_pid(server)
    if pid is not None and alive(pid) and answers(server):
        return f"running at {server.url} (pid {pid})"
    if answers(server):
        return f"something answers at {server.url}, but not a server this project started"
    return f"not running (start it with `invoke local-aws`; it would serve {server.url})"


def start(server: LocalAws) -> int:
    """Start moto in the background and wait until it answers; returns its pid."""
    pid = read_pid(server)
    if pid is not None and alive(pid) and answers(server):
        return pid
    if answers(server):
        raise LocalAwsError(
            f"port {server.port} is taken by another server; stop it or change endpoint_url"
        )
    server.folder.mkdir(parents=True, exist_ok=True)
    with server.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", _STRICT, "-H", server.host, "-p", str(server.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives the invoke process, stops only by its pid
        )
    deadline = time.monotonic() + _START_SECONDS
    while not answers(server, timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise LocalAwsError(
                f"moto did not start on {server.url}; see {server.log_file} "
                "(is moto[server] installed? uv sync installs it)"
            )
        time.sleep(0.1)
    server.pid_file.write_text(f"{process.pid}\n", encoding="utf-8")
    return process.pid


def stop(server: LocalAws) -> int | None:
    """Stop the server the pid file names; None when none was running."""
    pid = read_pid(server)
    if pid is None or not alive(pid):
        server.pid_file.unlink(missing_ok=True)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    server.pid_file.unlink(missing_ok=True)
    return pid


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our child (tests start it in-process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
