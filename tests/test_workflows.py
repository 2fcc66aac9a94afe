"""The baked project's GitHub workflows and repository settings, on every bake of the matrix.

zizmor (offline) and the GitHub workflow and Dependabot schemas find nothing; the structure
the release process relies on holds (job order, inputs, permissions, concurrency, GitHub
environments, SHA pins, no static AWS keys); and the shell of each dispatch workflow turns
its inputs into exactly the nox command the engine expects, run here with a stub `uvx`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import BAKES, Bakes

WORKFLOWS = ("ci", "deploy", "drift", "release", "rollback")
# The jobs that reach AWS (OIDC) and GitHub's deployment and check APIs.
AWS_JOBS = {("deploy", "deploy"), ("release", "tag"), ("rollback", "rollback")}
# The jobs that only read AWS, with an environment's read-only role (no GitHub API access).
READ_JOBS = {("drift", "drift")}
CONFIRMATION = "I_UNDERSTAND_THE_COST"
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+){0,2}$")
INPUT_EXPRESSION = re.compile(r"^\$\{\{ inputs\.(\w+) \}\}$")

Document = dict[str, Any]


@pytest.fixture(scope="module", params=list(BAKES))
def baked(request: pytest.FixtureRequest, bakes: Bakes) -> Path:
    """The matrix's bakes, shared with test_bakes.py (baked once per run)."""
    return bakes[request.param]


@pytest.fixture(scope="module")
def workflows(baked: Path) -> dict[str, Document]:
    return {name: load_yaml(workflow_path(baked, name)) for name in WORKFLOWS}


def workflow_path(project: Path, name: str) -> Path:
    return project / ".github" / "workflows" / f"{name}.yml"


def load_yaml(path: Path) -> Document:
    """A YAML mapping; `on` stays a key (YAML 1.1, which PyYAML reads, makes it True)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    if True in document:
        document["on"] = document.pop(True)
    return document


def triggers(workflow: Document) -> Document:
    value = workflow["on"]
    assert isinstance(value, dict)
    return value


def jobs(workflow: Document) -> dict[str, Document]:
    value = workflow["jobs"]
    assert isinstance(value, dict)
    return value


def steps(job: Document) -> list[Document]:
    value = job["steps"]
    assert isinstance(value, list)
    return value


def all_jobs(workflows: Mapping[str, Document]) -> Iterator[tuple[str, str, Document]]:
    for name, workflow in workflows.items():
        for job_id, job in jobs(workflow).items():
            yield name, job_id, job


def step_using(job: Document, action: str) -> Document:
    found = [step for step in steps(job) if str(step.get("uses", "")).startswith(f"{action}@")]
    assert len(found) == 1, f"{action} is used {len(found)} times"
    return found[0]


def nox_step(job: Document, session: str) -> Document:
    found = [step for step in steps(job) if f"nox -s {session}" in str(step.get("run", ""))]
    assert len(found) == 1, f"`nox -s {session}` is run {len(found)} times"
    return found[0]


def config_of(project: Path) -> Document:
    text = (project / "config" / "environments.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def tool(name: str) -> str:
    """A console script of the test environment (next to this python), else one on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed in the test environment (pyproject.toml: test)")
    return found


# --- linters -------------------------------------------------------------------------------


def zizmor(target: Path) -> subprocess.CompletedProcess[str]:
    """zizmor, offline, every severity, as JSON, on a project folder or one workflow."""
    return subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "json", str(target)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_zizmor_finds_nothing(baked: Path) -> None:
    """Workflows, dependabot.yml and .pre-commit-config.yaml, every severity, offline."""
    result = zizmor(baked)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []
    audited = {
        Path(line.split()[-1]).name for line in result.stderr.splitlines() if "completed" in line
    }
    assert {f"{name}.yml" for name in WORKFLOWS} | {"dependabot.yml"} <= audited


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        ("vendor.github-workflows", [f".github/workflows/{name}.yml" for name in WORKFLOWS]),
        ("vendor.dependabot", [".github/dependabot.yml"]),
    ],
)
def test_files_match_their_schema(baked: Path, schema: str, paths: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *paths],
        cwd=baked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- every workflow ------------------------------------------------------------------------


def test_only_the_five_workflows_exist(baked: Path) -> None:
    found = sorted(path.stem for path in (baked / ".github" / "workflows").iterdir())
    assert found == sorted(WORKFLOWS)


def test_top_level_permissions_are_read_only(workflows: dict[str, Document]) -> None:
    for name, workflow in workflows.items():
        assert workflow["permissions"] == {"contents": "read"}, name


def test_id_token_is_granted_only_to_the_aws_jobs(workflows: dict[str, Document]) -> None:
    granted = set()
    for name, job_id, job in all_jobs(workflows):
        if job.get("permissions", {}).get("id-token") == "write":
            granted.add((name, job_id))
    assert granted == AWS_JOBS | READ_JOBS
    for name, _, job in all_jobs(workflows):
        if name == "ci":
            assert "permissions" not in job  # the top level's contents: read


def test_no_expression_reaches_a_shell(workflows: dict[str, Document]) -> None:
    """Inputs and contexts reach `run:` only through `env:` (no template injection)."""
    for name, job_id, job in all_jobs(workflows):
        for step in steps(job):
            assert "${{" not in str(step.get("run", "")), f"{name}.{job_id}: {step['run']}"


def test_every_action_is_pinned_to_a_commit_with_its_version(baked: Path) -> None:
    for name in WORKFLOWS:
        lines = workflow_path(baked, name).read_text(encoding="utf-8").splitlines()
        uses = [line for line in lines if re.match(r"^\s*(?:- )?uses:", line)]
        assert uses, name
        for line in uses:
            assert PINNED.match(line), f"{name}.yml: {line.strip()}"


def test_no_static_aws_keys_anywhere(baked: Path) -> None:
    for path in (baked / ".github").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8").lower()
            for needle in ("aws-access-key-id", "aws-secret-access-key", "aws_secret_access_key"):
                assert needle not in text, f"{path.name}: {needle}"


# Jobs that only wait on a GitHub environment's approval: no checkout, no code, no token.
GATE_JOBS = {("deploy", "second_approval")}


def test_checkouts_keep_no_credentials(workflows: dict[str, Document]) -> None:
    for name, job_id, job in all_jobs(workflows):
        if (name, job_id) in GATE_JOBS:
            assert not any("uses" in step for step in steps(job)), f"{name}.{job_id}"
            continue
        checkout = step_using(job, "actions/checkout")
        assert checkout["with"]["persist-credentials"] is False, f"{name}.{job_id}"


def test_python_and_region_are_the_baked_answers(
    baked: Path, workflows: dict[str, Document]
) -> None:
    pyproject = tomllib.loads((baked / "pyproject.toml").read_text(encoding="utf-8"))
    python = pyproject["project"]["requires-python"].removeprefix(">=")
    region = config_of(baked)["environments"]["prod"]["region"]
    for name, job_id, job in all_jobs(workflows):
        if (name, job_id) in GATE_JOBS:
            continue
        setup = step_using(job, "actions/setup-python")
        assert setup["with"]["python-version"] == python, f"{name}.{job_id}"
        if (name, job_id) in AWS_JOBS:
            aws = step_using(job, "aws-actions/configure-aws-credentials")
            assert aws["with"]["aws-region"] == region
            # The release only reads the ledger: the read-only role `invoke bootstrap` made.
            role = "AWS_READ_ROLE_ARN_PROD" if name == "release" else "AWS_DEPLOY_ROLE_ARN"
            assert aws["with"]["role-to-assume"] == f"${{{{ vars.{role} }}}}"


# --- drift.yml -----------------------------------------------------------------------------


def test_drift_runs_daily_for_each_cloud_environment_with_its_read_role(
    baked: Path, workflows: dict[str, Document]
) -> None:
    drift = workflows["drift"]
    assert set(triggers(drift)) == {"schedule", "workflow_dispatch"}
    job = jobs(drift)["drift"]
    assert "environment" not in job  # no approval gate on a read-only check
    assert job["strategy"]["fail-fast"] is False
    matrix = job["strategy"]["matrix"]["include"]
    clouds = [name for name in config_of(baked)["environments"] if name != "local"]
    assert [entry["environment"] for entry in matrix] == clouds
    for entry in matrix:
        assert entry["role_variable"] == f"AWS_READ_ROLE_ARN_{entry['environment'].upper()}"
    assert job["env"]["ROLE_ARN"] == "${{ vars[matrix.role_variable] }}"
    aws = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ env.ROLE_ARN }}"
    assert "AWS_DEPLOY_ROLE_ARN" not in json.dumps(drift)
    step = nox_step(job, "drift")
    assert step["run"] == 'uvx nox -s drift -- --env "$ENVIRONMENT"'
    assert step["env"] == {"ENVIRONMENT": "${{ matrix.environment }}"}
    # Without the variable every step but the notice is skipped: never a failed run.
    skipped = [s for s in steps(job) if s.get("if") == "env.ROLE_ARN != ''"]
    assert len(skipped) == len(steps(job)) - 1


# --- ci.yml --------------------------------------------------------------------------------


GATING_CI_JOBS = ["lint", "tests", "synth"]
INFORMATIONAL_CI_JOBS = ["template", "audit"]


def test_ci_runs_lint_then_tests_then_synth(baked: Path, workflows: dict[str, Document]) -> None:
    ci = workflows["ci"]
    assert set(triggers(ci)) == {"pull_request", "push"}
    assert triggers(ci)["push"] == {"branches": ["main"]}
    ci_jobs = jobs(ci)
    assert list(ci_jobs) == GATING_CI_JOBS + INFORMATIONAL_CI_JOBS
    assert "needs" not in ci_jobs["lint"]
    assert ci_jobs["tests"]["needs"] == "lint"
    assert ci_jobs["synth"]["needs"] == "tests"
    # The job names are the checks the deploy guardrail and branch protection require.
    assert [ci_jobs[job_id]["name"] for job_id in GATING_CI_JOBS] == config_of(baked)["github"][
        "required_checks"
    ]
    for job_id, job in ci_jobs.items():
        assert nox_step(job, job_id)["run"] == f"uvx nox -s {job_id}"
        assert step_using(job, "astral-sh/setup-uv")["with"]["enable-cache"] is True
    upload = step_using(ci_jobs["synth"], "actions/upload-artifact")
    assert upload["with"]["path"] == "cdk.out/"


@pytest.mark.parametrize(("job_id", "task"), [("template", "template-check"), ("audit", "audit")])
def test_ci_template_check_and_audit_are_informational(
    baked: Path, workflows: dict[str, Document], job_id: str, task: str
) -> None:
    """Out of date with the template, or a known vulnerability in a pin, is news, not a gate:
    the job may fail without failing the run, no check requires it, and it runs on its own
    (nothing waits for it)."""
    ci_jobs = jobs(workflows["ci"])
    job = ci_jobs[job_id]
    assert job["continue-on-error"] is True
    assert "needs" not in job
    assert not any(job.get("needs") == job_id for job in ci_jobs.values())
    assert job["name"] not in config_of(baked)["github"]["required_checks"]
    assert nox_step(job, job_id)["run"] == f"uvx nox -s {job_id}"
    # The session it runs exists and runs the task the docs describe.
    noxfile = (baked / "noxfile.py").read_text(encoding="utf-8")
    assert f"def {job_id}(session: nox.Session)" in noxfile
    assert f'"invoke", "{task}"' in noxfile


def test_ci_cancels_superseded_pull_request_runs_only(workflows: dict[str, Document]) -> None:
    concurrency = workflows["ci"]["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"


# --- deploy.yml, release.yml, rollback.yml -------------------------------------------------


def inputs_of(workflow: Document) -> dict[str, Document]:
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    value = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert isinstance(value, dict)
    return value


ENVIRONMENT_INPUT = {"type": "choice", "options": ["dev", "staging", "prod"], "default": "dev"}


def test_deploy_inputs(workflows: dict[str, Document]) -> None:
    inputs = inputs_of(workflows["deploy"])
    assert list(inputs) == [
        "environment",
        "upload_artifacts",
        "execute_deploy",
        "confirmation",
        "plan",
    ]
    assert ENVIRONMENT_INPUT.items() <= inputs["environment"].items()
    assert inputs["upload_artifacts"]["type"] == "boolean"
    assert inputs["upload_artifacts"]["default"] is True
    assert inputs["execute_deploy"]["type"] == "boolean"
    assert inputs["execute_deploy"]["default"] is False
    assert inputs["confirmation"]["type"] == "string"
    assert CONFIRMATION in inputs["confirmation"]["description"]
    assert (inputs["plan"]["type"], inputs["plan"]["default"]) == ("string", "")


def test_release_inputs(workflows: dict[str, Document]) -> None:
    inputs = inputs_of(workflows["release"])
    assert list(inputs) == ["bump", "execute"]
    assert inputs["bump"]["type"] == "choice"
    assert inputs["bump"]["options"] == ["", "patch", "minor", "major"]
    assert inputs["bump"]["default"] == ""
    assert inputs["execute"]["type"] == "boolean"
    assert inputs["execute"]["default"] is False


def test_rollback_inputs(workflows: dict[str, Document]) -> None:
    inputs = inputs_of(workflows["rollback"])
    assert list(inputs) == [
        "environment",
        "to",
        "to_model_package",
        "execute",
        "confirmation",
        "plan",
    ]
    assert ENVIRONMENT_INPUT.items() <= inputs["environment"].items()
    for optional in ("to", "to_model_package", "confirmation", "plan"):
        assert inputs[optional]["type"] == "string"
        assert inputs[optional]["required"] is False
    assert inputs["execute"]["type"] == "boolean"
    assert inputs["execute"]["default"] is False


def test_jobs_run_in_the_github_environment(workflows: dict[str, Document]) -> None:
    assert jobs(workflows["deploy"])["deploy"]["environment"] == "${{ inputs.environment }}"
    assert jobs(workflows["rollback"])["rollback"]["environment"] == "${{ inputs.environment }}"
    assert jobs(workflows["release"])["tag"]["environment"] == "prod"


def test_an_execute_waits_on_one_gate_per_approval_and_its_title_names_the_plan(
    baked: Path, workflows: dict[str, Document]
) -> None:
    """prod's plans need two people: a second job waits on prod-approval-2 before the deploy
    job (gated by prod) runs; the run's title names the plan, which binds both gates'
    approvals to it (the engine reads the title back)."""
    deploy = jobs(workflows["deploy"])
    gate = deploy["second_approval"]
    assert gate["environment"] == "${{ inputs.environment }}-approval-2"
    assert gate["if"] == (
        "inputs.execute_deploy && contains(fromJSON('[\"prod\"]'), inputs.environment)"
    )
    assert gate["permissions"] == {} and "id-token" not in json.dumps(gate)
    assert deploy["deploy"]["needs"] == "second_approval"
    assert deploy["deploy"]["if"] == (
        "${{ !cancelled() && needs.second_approval.result != 'failure' }}"
    )
    for name, execute in (("deploy", "execute_deploy"), ("rollback", "execute")):
        title = " ".join(workflows[name]["run-name"].split())
        assert "format('execute plan {0}', inputs.plan)" in title
        assert f"inputs.{execute} &&" in title
    with (baked / "config" / "environments.toml").open("rb") as handle:
        environments = tomllib.load(handle)["environments"]
    two = [name for name, env in environments.items() if env["policy"]["approvals_required"] >= 2]
    assert two == ["prod"]


def test_the_engine_can_read_the_approver_teams(workflows: dict[str, Document]) -> None:
    for name, job in (("deploy", "deploy"), ("rollback", "rollback")):
        step = nox_step(jobs(workflows[name])[job], name)
        assert step["env"]["GITHUB_ORG_TOKEN"] == "${{ secrets.ORG_READ_TOKEN }}"


def test_deploy_and_rollback_share_one_uncancelled_group_per_environment(
    workflows: dict[str, Document],
) -> None:
    deploy = jobs(workflows["deploy"])["deploy"]["concurrency"]
    rollback = jobs(workflows["rollback"])["rollback"]["concurrency"]
    assert deploy == rollback
    assert "${{ inputs.environment }}" in deploy["group"]
    assert deploy["cancel-in-progress"] is False
    release = jobs(workflows["release"])["tag"]["concurrency"]
    assert release["cancel-in-progress"] is False


def test_deploy_credentials_last_as_long_as_the_job(workflows: dict[str, Document]) -> None:
    """An OIDC session lasts 1 h unless asked for longer; a deploy may run the whole job."""
    for name in ("deploy", "rollback"):
        job = jobs(workflows[name])[name]
        aws = step_using(job, "aws-actions/configure-aws-credentials")
        assert int(aws["with"]["role-duration-seconds"]) >= int(job["timeout-minutes"]) * 60, name


def test_aws_jobs_get_github_api_access(workflows: dict[str, Document]) -> None:
    for name, job_id in AWS_JOBS:
        job = jobs(workflows[name])[job_id]
        permissions = job["permissions"]
        assert permissions["statuses"] == permissions["checks"] == "read"
        session = "tag" if name == "release" else name
        env = nox_step(job, session)["env"]
        assert env["GITHUB_TOKEN"] == "${{ github.token }}"
        assert step_using(job, "astral-sh/setup-uv")["with"]["enable-cache"] is False
    for name in ("deploy", "rollback"):
        permissions = jobs(workflows[name])[name]["permissions"]
        assert permissions["deployments"] == "write"
        # GET .../actions/runs/{run_id} and its /approvals: the gates' reviews of this run.
        assert permissions["actions"] == "read"
    assert jobs(workflows["release"])["tag"]["permissions"]["contents"] == "write"


def test_confirmation_reaches_the_engine_through_the_named_variable(
    baked: Path, workflows: dict[str, Document]
) -> None:
    variable = config_of(baked)["project"]["deploy_confirm_variable"]
    for name in ("deploy", "rollback"):
        env = nox_step(jobs(workflows[name])[name], name)["env"]
        assert env[variable] == "${{ inputs.confirmation }}", name


def test_bundles_are_kept_as_artifacts(workflows: dict[str, Document]) -> None:
    for name in ("deploy", "rollback"):
        upload = step_using(jobs(workflows[name])[name], "actions/upload-artifact")
        assert upload["if"] == "always()"
        assert upload["with"]["path"] == "build/deploys/"


def test_release_can_see_history_and_push_as_the_bot(workflows: dict[str, Document]) -> None:
    job = jobs(workflows["release"])["tag"]
    checkout = step_using(job, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0
    assert any("github-actions[bot]" in str(step.get("run", "")) for step in steps(job))
    env = nox_step(job, "tag")["env"]
    assert env["GIT_CONFIG_KEY_0"] == "credential.helper"
    assert "$GITHUB_TOKEN" in env["GIT_CONFIG_VALUE_0"]


def run_step(step: Document, inputs: Mapping[str, str], tmp_path: Path) -> list[str]:
    """Run a step's shell as GitHub would, with `uvx` stubbed; returns uvx's arguments."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    uvx = stubs / "uvx"
    uvx.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$UVX_ARGS"\n', encoding="utf-8")
    uvx.chmod(0o755)
    env = {"PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "UVX_ARGS": str(tmp_path / "a")}
    for key, value in step["env"].items():
        matched = INPUT_EXPRESSION.match(str(value))
        if matched:
            env[key] = inputs[matched.group(1)]
    subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        check=True,
    )
    return (tmp_path / "a").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("inputs", "flags"),
    [
        ({"environment": "dev", "execute_deploy": "false", "upload_artifacts": "true"}, []),
        (
            {"environment": "prod", "execute_deploy": "true", "upload_artifacts": "false"},
            ["--execute", "--no-upload-artifacts"],
        ),
        (
            {
                "environment": "prod",
                "execute_deploy": "true",
                "plan": "20261201T101502123Z-1a2b3c4-9f0e",
            },
            ["--execute", "--plan", "20261201T101502123Z-1a2b3c4-9f0e"],
        ),
    ],
)
def test_deploy_runs_the_nox_session_with_the_inputs(
    workflows: dict[str, Document], tmp_path: Path, inputs: dict[str, str], flags: list[str]
) -> None:
    step = nox_step(jobs(workflows["deploy"])["deploy"], "deploy")
    arguments = run_step(
        step, {"upload_artifacts": "true", "plan": "", **inputs, "confirmation": ""}, tmp_path
    )
    assert arguments == ["nox", "-s", "deploy", "--", "--env", inputs["environment"], *flags]


@pytest.mark.parametrize(
    ("inputs", "flags"),
    [
        ({"bump": "", "execute": "false"}, []),
        ({"bump": "minor", "execute": "true"}, ["--bump", "minor", "--execute"]),
    ],
)
def test_release_runs_the_nox_session_with_the_inputs(
    workflows: dict[str, Document], tmp_path: Path, inputs: dict[str, str], flags: list[str]
) -> None:
    step = nox_step(jobs(workflows["release"])["tag"], "tag")
    assert run_step(step, inputs, tmp_path) == ["nox", "-s", "tag", "--", *flags]


@pytest.mark.parametrize(
    ("inputs", "flags"),
    [
        ({"to": "", "to_model_package": "", "execute": "false"}, []),
        (
            {"to": "v1.2.0", "to_model_package": "", "execute": "true"},
            ["--to", "v1.2.0", "--execute"],
        ),
        ({"to": "", "to_model_package": "3", "execute": "false"}, ["--to-model-package", "3"]),
        (
            {"to": "", "to_model_package": "", "execute": "true", "plan": "20261201T1-a-b"},
            ["--execute", "--plan", "20261201T1-a-b"],
        ),
        # Whatever is typed stays one argument: the shell never evaluates an input.
        (
            {"to": "x; touch pwned $(id)", "to_model_package": "", "execute": "false"},
            ["--to", "x; touch pwned $(id)"],
        ),
    ],
)
def test_rollback_runs_the_nox_session_with_the_inputs(
    workflows: dict[str, Document], tmp_path: Path, inputs: dict[str, str], flags: list[str]
) -> None:
    step = nox_step(jobs(workflows["rollback"])["rollback"], "rollback")
    defaults = {"environment": "staging", "confirmation": "", "plan": ""}
    arguments = run_step(step, {**defaults, **inputs}, tmp_path)
    assert arguments == ["nox", "-s", "rollback", "--", "--env", "staging", *flags]
    assert not (tmp_path / "pwned").exists()


# --- governance files ----------------------------------------------------------------------


def test_codeowners_teams_are_the_prod_approvers(baked: Path) -> None:
    approvers = config_of(baked)["environments"]["prod"]["approvals"]["reviewers"]
    owners: dict[str, list[str]] = {}
    for line in (baked / ".github" / "CODEOWNERS").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *teams = line.split()
            owners[pattern] = [team.removeprefix("@") for team in teams]
    package = next((baked / "src").iterdir()).name
    assert owners["*"] == approvers[:1]
    for pattern in ("/config/", f"/src/{package}/release/", "/.github/"):
        assert owners[pattern] == approvers, pattern


def test_pull_request_template_asks_for_risk_blast_radius_and_rollback(baked: Path) -> None:
    text = (baked / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    for heading in ("Intended change", "Risk and mitigation", "Blast radius", "Rollback plan"):
        assert f"## {heading}" in text
    variable = config_of(baked)["project"]["deploy_confirm_variable"]
    assert f"{variable}={CONFIRMATION} invoke rollback --env <env> --execute" in text
    monitored = (baked / "tests" / "test_monitoring_stack.py").exists()
    assert ("Model Monitor" in text) is monitored
    assert "- [ ]" in text


def test_dependabot_updates_python_and_actions_weekly_in_groups(baked: Path) -> None:
    updates = load_yaml(baked / ".github" / "dependabot.yml")["updates"]
    assert [update["package-ecosystem"] for update in updates] == ["uv", "github-actions"]
    for update in updates:
        assert update["schedule"]["interval"] == "weekly"
        assert update["groups"]


def test_pre_commit_runs_the_same_checks_pinned(baked: Path) -> None:
    config = load_yaml(baked / ".pre-commit-config.yaml")
    hooks = {hook["id"]: repo["rev"] for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {
        "check-merge-conflict",
        "ruff-check",
        "ruff-format",
        "check-github-workflows",
        "check-dependabot",
        "zizmor",
    }
    for rev in hooks.values():
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", rev), rev
