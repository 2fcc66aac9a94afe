"""Shared fixtures: the project's settings and one synth of every environment per run."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Through the infra package, which points jsii at the bundled Node.js before aws_cdk loads;
# test modules may import aws_cdk directly because pytest imports this file first.
from {{ cookiecutter.package_name }}.config import Settings, config_path, load, parse
from {{ cookiecutter.package_name }}.images import serving_image
from {{ cookiecutter.package_name }}.infra.app import synthesize_into
from {{ cookiecutter.package_name }}.infra.assembly import SynthesizedStack

from .github_standin import GitHubStandIn

# The project under test: the folder holding these tests (never the package's __file__).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = config_path(PROJECT_ROOT)
# A model digest that is not the placeholder, so tests see it flow into the templates.
MODEL_SHA256 = "ab" * 32
_COMMITTED = load(PROJECT_ROOT).environments
ENVIRONMENTS = list(_COMMITTED)
# Those served by instances (endpoint.serving; a bake can make dev serverless), and those
# with Model Monitor (not a serverless one).
INSTANCE_ENVIRONMENTS = [name for name, env in _COMMITTED.items() if not env.endpoint.serverless]
MONITORED_ENVIRONMENTS = [name for name, env in _COMMITTED.items() if env.monitoring is not None]

if TYPE_CHECKING:
    from aws_cdk.assertions import Template


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load(PROJECT_ROOT)


@pytest.fixture(scope="session")
def synthesized(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> list[SynthesizedStack]:
    """Every environment, synthesized once (cdk-nag on) for all tests that read templates."""
    outdir = tmp_path_factory.mktemp("synth") / "cdk.out"
    return synthesize_into(outdir, settings, settings.select(None), MODEL_SHA256)


@pytest.fixture(scope="session")
def template_json(synthesized: list[SynthesizedStack]) -> dict[str, dict[str, Any]]:
    """Template JSON by artifact id, e.g. template_json["prod-serving"]."""
    return {
        stack.artifact_id: json.loads(Path(stack.template_path).read_text(encoding="utf-8"))
        for stack in synthesized
    }


@pytest.fixture(scope="session")
def templates(template_json: dict[str, dict[str, Any]]) -> dict[str, Template]:
    """CDK assertion templates by artifact id."""
    from aws_cdk.assertions import Template

    return {artifact: Template.from_json(body) for artifact, body in template_json.items()}


def python_output(script: str) -> str:
    """stdout of `python -c script` in a fresh interpreter with this project's src on the path
    (what a new process has imported is then the script's doing alone)."""
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """Logical id -> resource for every resource of one type."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = list(resources_of_type(template, resource_type).values())
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    resource: dict[str, Any] = found[0]
    return resource


# --- one build cache per worker -------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def shared_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test project's build cache (caching.py) is one per worker: a model or a set of
    templates packaged or synthesized once is reused by every later deploy of the same
    inputs. The keys cover every input, so a test that changes one gets its own entry; a
    test about the cache itself points it back at its project."""
    from {{ cookiecutter.package_name }} import caching

    folder = tmp_path_factory.mktemp("build-cache")
    patch = pytest.MonkeyPatch()
    patch.setattr(caching, "cache_dir", lambda root: folder)
    yield folder
    patch.undo()


# --- AWS on loopback: one moto server per run, reset before each test that uses it ---------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """The strict local AWS (moto behind CloudFormation's real rules) on 127.0.0.1."""
    from {{ cookiecutter.package_name }}.release.strict.server import StrictAws

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = StrictAws().start()
    yield server.url
    server.stop()


@cache
def aws_client(url: str, service: str, attempts: int | None = None) -> Any:
    """A boto3 client of the local AWS at url, made once per worker and (service, attempts):
    a client from a new session re-reads botocore's service models, which took a third of
    the CPU of the tests that snapshot the account between steps."""
    from botocore.config import Config

    retries = None if attempts is None else {"mode": "standard", "max_attempts": attempts}
    return _local_session().client(service, endpoint_url=url, config=Config(retries=retries))


@cache
def _local_session() -> Any:
    import boto3

    from {{ cookiecutter.package_name }}.release.aws import LOCAL_ACCESS_KEY

    return boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=LOCAL_ACCESS_KEY,
        aws_secret_access_key=LOCAL_ACCESS_KEY,
    )


@pytest.fixture
def aws(moto_url: str) -> str:
    """The moto server, emptied: every test starts from an account with nothing in it."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    return moto_url


def framework_image(region: str = "us-east-1") -> str:
    """The image [model] serves a built (or artifact) model with, in a region."""
    serving = load(PROJECT_ROOT).serving
    return serving_image(serving.framework, serving.version, region)


def local_document(url: str) -> dict[str, Any]:
    """environments.toml as data, with `local` pointed at the test's moto server."""
    document = tomllib.loads(CONFIG_PATH.read_text(encoding="utf-8"))
    document["environments"]["local"]["endpoint_url"] = url
    return document


@pytest.fixture
def local_settings(aws: str) -> Settings:
    return parse(local_document(aws), CONFIG_PATH)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with one commit on main, as a deploy's root (build/ ignored), holding
    this project's config/."""
    for variable in ("GITHUB_REF", "GITHUB_ACTOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(variable, raising=False)
    root = tmp_path / "project"
    root.mkdir()
    (root / ".gitignore").write_text("build/\n", encoding="utf-8")
    (root / "README.md").write_text("a project\n", encoding="utf-8")
    # A project's committed lock: a deploy records its sha256, promotion compares it.
    (root / "uv.lock").write_text("version = 1\n# the pins of the project\n", encoding="utf-8")
    # The project's config, as a baked project has it: a deploy reads config/model.toml from
    # its root (the settings under test are passed in, pointed at the test's local AWS).
    shutil.copytree(PROJECT_ROOT / "config", root / "config")
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        [
            "git",
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-qm",
            "one",
        ],
    ):
        subprocess.run(command, cwd=root, check=True)
    return root


# --- GitHub on loopback: a REST stand-in per test ---------------------------------------------


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    """A GitHub REST stand-in with an empty repository; give code `github_api.environ()`.

    It has no rate limits, so the clients it serves skip GitHub's pacing of writes.
    """
    from {{ cookiecutter.package_name }}.release import github

    monkeypatch.setattr(github, "SECONDS_BETWEEN_WRITES", None)
    with GitHubStandIn() as standin:
        yield standin


@pytest.fixture
def origin(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare repository as `origin`, with main pushed; git knows who tags."""
    for variable in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(variable, "Release Bot")
    for variable in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(variable, "release@example.com")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    for command in (["remote", "add", "origin", str(bare)], ["push", "-q", "-u", "origin", "main"]):
        subprocess.run(["git", *command], cwd=repo, check=True, capture_output=True)
    return bare


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After a run that included test_docs.py: what the documented commands amount to."""
    reports = [r for reports in terminalreporter.stats.values() for r in reports]
    if any(getattr(r, "nodeid", "").startswith("tests/test_docs.py") for r in reports):
        from .test_docs import documented_counts_table

        terminalreporter.write_line("")
        for line in documented_counts_table():
            terminalreporter.write_line(line)
