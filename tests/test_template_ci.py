"""The template repository's own CI workflow (.github/workflows/ci.yml): a pull request to the
template runs the README's two quickstart commands; actions pinned to the very commits the
baked workflows use; read-only; zizmor (offline) and the workflow schema find nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from bakery.bake import TEMPLATE_ROOT

from .test_workflows import Document, jobs, load_yaml, steps, triggers, zizmor

WORKFLOW = TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml"
BAKED_WORKFLOWS = TEMPLATE_ROOT / "{{cookiecutter.project_slug}}" / ".github" / "workflows"
USES = re.compile(r"^\s*(?:- )?uses: (\S+@[0-9a-f]{40}) # (v[\d.]+)$", re.MULTILINE)
README_COMMANDS = ["python3 run.py lint tests", "python3 run.py demo"]


def workflow() -> Document:
    return load_yaml(WORKFLOW)


def pins(text: str) -> set[tuple[str, str]]:
    return set(USES.findall(text))


def test_it_runs_the_readme_quickstart_on_pull_requests_and_main() -> None:
    document = workflow()
    assert set(triggers(document)) == {"pull_request", "push"}
    assert triggers(document)["push"] == {"branches": ["main"]}
    ran = [step["run"] for job in jobs(document).values() for step in steps(job) if "run" in step]
    assert ran == README_COMMANDS
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    quickstart = readme[readme.index("## Quickstart") : readme.index("## The questions")]
    for command in README_COMMANDS:
        assert command in quickstart
    ci_script = (TEMPLATE_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert README_COMMANDS[0] in ci_script


def test_every_action_is_pinned_to_a_commit_the_baked_workflows_use() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    used = pins(text)
    assert used and len(USES.findall(text)) == text.count("uses:")  # every one pinned
    baked = set().union(
        *(pins(path.read_text(encoding="utf-8")) for path in BAKED_WORKFLOWS.glob("*.yml"))
    )
    assert used <= baked, used - baked


def test_it_is_read_only_and_keeps_no_credentials() -> None:
    document = workflow()
    assert document["permissions"] == {"contents": "read"}
    for job_id, job in jobs(document).items():
        assert "permissions" not in job, job_id
        assert isinstance(job["timeout-minutes"], int), job_id
        checkout = next(s for s in steps(job) if s.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["persist-credentials"] is False, job_id
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8")


def test_zizmor_and_the_schema_find_nothing() -> None:
    audited = zizmor(WORKFLOW)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert json.loads(audited.stdout) == []
    schema = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_only_this_workflow_exists() -> None:
    assert sorted(path.name for path in WORKFLOW.parent.iterdir()) == [WORKFLOW.name]
