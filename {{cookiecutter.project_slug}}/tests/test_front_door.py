"""The front door: the project is the folder of the tasks.py invoke loaded, and an expected
failure of AWS (unreachable, no credentials, expired credentials) is one line and exit 1 from
every task that calls AWS, never a traceback."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from invoke.context import MockContext
from invoke.exceptions import Exit

from {{ cookiecutter.package_name }}.config import load

from .conftest import PROJECT_ROOT

GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]


def project(where: Path) -> Path:
    """Another project: this one's tasks.py, app.py and config/, committed and pushed to a
    bare origin on main."""
    root = where / "other-project"
    root.mkdir()
    for name in ("tasks.py", "app.py", "cdk.json"):
        shutil.copyfile(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    (root / ".gitignore").write_text("build/\ncdk.out/\n__pycache__/\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", "--bare", str(where / "origin.git")], check=True)
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "remote", "add", "origin", str(where / "origin.git")],
    ):
        subprocess.run(command, cwd=root, check=True)
    commit(root, "another project")
    return root


def commit(root: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", message, "--allow-empty"], cwd=root, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=root, check=True)


def edit_config(root: Path, pattern: str, replacement: str) -> None:
    path = root / "config" / "environments.toml"
    text, count = re.subn(
        pattern, replacement, path.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    assert count == 1, pattern
    path.write_text(text, encoding="utf-8")


def point_local_at(root: Path, url: str) -> None:
    edit_config(
        root,
        r'(^\[environments\.local\]\n(?:(?!^\[).*\n)*?endpoint_url = )"[^"]*"',
        rf'\g<1>"{url}"',
    )


def tasks_of(root: Path) -> ModuleType:
    """root/tasks.py, loaded as invoke loads it from its working directory."""
    spec = importlib.util.spec_from_file_location(f"tasks_{root.name}", root / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_project_is_the_folder_of_the_tasks_file(tmp_path: Path) -> None:
    other = project(tmp_path)
    edit_config(other, r"^latency_p99_ms = 1000$", "latency_p99_ms = 4321")
    tasks_of(other).synth(MockContext(), env=["local"], outdir=str(tmp_path / "out"))
    alarms = [
        resource["Properties"]
        for template in (tmp_path / "out").glob("*.template.json")
        for resource in json.loads(template.read_text(encoding="utf-8"))["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    ]
    thresholds = {alarm.get("Threshold") for alarm in alarms}
    assert 4321 * 1000 in thresholds  # ModelLatency is in microseconds
    assert load(PROJECT_ROOT).environment("local").alarms.latency_p99_ms == 1000


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# Every task that calls AWS, as a user types it; `env` is filled in per case.
AWS_TASKS: dict[str, Callable[[ModuleType, str], None]] = {
    "deploy": lambda tasks, env: tasks.deploy(MockContext(), env=env),
    "rollback": lambda tasks, env: tasks.rollback(MockContext(), env=env),
    "history": lambda tasks, env: tasks.history(MockContext(), env=env),
    "tag": lambda tasks, env: tasks.tag(MockContext()),
    "note": lambda tasks, env: tasks.note(
        MockContext(), env=env, deploy="20261201T101502123Z-1a2b3c4-9f0e", text="a note"
    ),
}


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "GITHUB_TOKEN",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def one_line_exit(action: Callable[[], None]) -> str:
    with pytest.raises(Exit) as raised:
        action()
    message = str(raised.value.message)
    assert raised.value.code == 1, message
    assert message.startswith("error: ") and "\n" not in message, message
    assert "Traceback" not in message
    return message


def expire_every_call(url: str) -> None:
    fault = {"action": "*", "error": "ExpiredToken", "times": 10_000}
    request = urllib.request.Request(
        f"{url}/strict-api/faults", data=json.dumps(fault).encode(), method="POST"
    )
    urllib.request.urlopen(request).close()


@pytest.mark.parametrize("condition", ["unreachable", "expired", "no credentials"])
def test_every_aws_task_fails_in_one_line(
    condition: str, tmp_path: Path, aws: str, no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = project(tmp_path)
    env = "dev" if condition == "no credentials" else "local"
    if condition == "unreachable":
        point_local_at(other, f"http://127.0.0.1:{closed_port()}")
    elif condition == "expired":
        point_local_at(other, aws)
        expire_every_call(aws)
    if env == "local":  # tag certifies against the release environment
        edit_config(other, r'^(\[release\]\n(?:.*\n)*?environment = )"prod"', r'\g<1>"local"')
    commit(other, f"aws {condition}")
    monkeypatch.chdir(other)
    tasks = tasks_of(other)
    expected = {
        "unreachable": "Could not connect to the endpoint URL",
        "expired": "The security token included in the request is expired",
        "no credentials": "Unable to locate credentials",
    }[condition]
    for name, call in AWS_TASKS.items():
        message = one_line_exit(lambda: call(tasks, env))  # noqa: B023 (called at once)
        assert expected in message, f"{name}: {message}"
