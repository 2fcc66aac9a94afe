"""What a reviewer reads in the plan: each property that changes, before and after, in the
terminal, plan.md (the CI step summary) and plan.json; replacements marked; security-relevant
changes on their own. Against the strict local AWS, from a live stack's GetTemplate."""

from __future__ import annotations

import json
from pathlib import Path

from {{ cookiecutter.package_name }}.config import Settings, parse
from {{ cookiecutter.package_name }}.release.deploy import Result
from {{ cookiecutter.package_name }}.release.template_diff import template_sha256

from .conftest import CONFIG_PATH, local_document
from .test_release_deploy import SERVING, commit, retrained, run


def row(markdown: str, resource: str, path: str) -> list[str]:
    """The cells of plan.md's property row for resource (a logical id prefix) and path."""
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith(f"`{resource}") and cells[1] == f"`{path}`":
            return cells[2:]
    raise AssertionError(f"no row for {resource} {path} in plan.md:\n{markdown}")


def test_a_threshold_an_instance_count_and_a_model_show_before_and_after(
    aws: str, repo: Path
) -> None:
    document = local_document(aws)
    first, _ = run(parse(document, CONFIG_PATH), repo, execute=True)
    local = document["environments"]["local"]
    local["alarms"]["latency_p99_ms"] = 1200
    local["endpoint"]["instance_count"] = 2
    local["autoscaling"]["max_capacity"] = 2
    commit(repo, "model-change.txt", "regularization = 0.05\n")
    outcome, output = run(parse(document, CONFIG_PATH), repo, package=retrained)
    assert outcome.result is Result.DRY_RUN
    before, after = first.plan.model_sha256, outcome.plan.model_sha256
    markdown = (outcome.bundle / "plan.md").read_text(encoding="utf-8")

    # CloudWatch keeps the p99 threshold in microseconds (the alarm's unit).
    assert row(markdown, "AlarmsLatencyP99", "Threshold") == ["`1000000`", "`1200000`", ""]
    count = "ProductionVariants[VariantName=AllTraffic].InitialInstanceCount"
    assert row(markdown, "ModelConfig", count) == ["`1`", "`2`", "**REPLACES the resource**"]
    url = row(markdown, "Model2", "PrimaryContainer.ModelDataUrl")
    assert before in url[0] and after in url[1] and url[2] == "**REPLACES the resource**"
    assert row(markdown, "ModelEndpoint", "EndpointConfigName")[2] == (
        "refers to a replaced resource"
    )
    replaced = next(line for line in markdown.splitlines() if line.startswith("**Replaces"))
    assert "`Model2" in replaced and "`ModelConfig" in replaced
    assert "ModelEndpoint" not in replaced  # the endpoint is updated onto the new config

    # The terminal says the same, one line per property.
    assert "      Threshold: 1000000 -> 1200000" in output
    assert f"      {count}: 1 -> 2  (REPLACES the resource)" in output

    # plan.json: the same diff as data, and the live template it was computed against.
    plan = json.loads((outcome.bundle / "plan.json").read_text(encoding="utf-8"))
    stack = next(s for s in plan["stacks"] if s["stack_name"] == SERVING)
    deployed = json.loads(
        (first.bundle / "templates" / f"{SERVING}.template.json").read_text(encoding="utf-8")
    )
    assert stack["diff"]["live_template_sha256"] == template_sha256(deployed)
    # A stack without changes still names the live template the plan was computed against.
    (artifacts,) = [s for s in plan["stacks"] if s["stack_name"].endswith("-artifacts")]
    assert artifacts["changes"] == [] and artifacts["diff"]["resources"] == []
    deployed_artifacts = first.bundle / "templates" / f"{artifacts['stack_name']}.template.json"
    assert artifacts["diff"]["live_template_sha256"] == template_sha256(
        json.loads(deployed_artifacts.read_text(encoding="utf-8"))
    )
    changes = {
        (r["logical_id"][:12], c["path"]): (c["before"], c["after"])
        for r in stack["diff"]["resources"]
        for c in r["properties"]
    }
    assert changes[("AlarmsLatenc", "Threshold")] == (1000000, 1200000)
    assert changes[("ModelConfig0", count)] == (1, 2)


def test_a_first_deploy_adds_everything_and_lists_its_iam_for_review(
    aws: str, local_settings: Settings, repo: Path
) -> None:
    outcome, output = run(local_settings, repo)
    plan = json.loads((outcome.bundle / "plan.json").read_text(encoding="utf-8"))
    for stack in plan["stacks"]:
        assert stack["diff"]["live_template_sha256"] is None
        assert {r["action"] for r in stack["diff"]["resources"]} == {"Add"}
        assert len(stack["diff"]["resources"]) == len(stack["changes"])
    markdown = (outcome.bundle / "plan.md").read_text(encoding="utf-8")
    security = markdown.split("### Security-relevant changes", 1)[1]
    assert "`ModelExecutionRole" in security and "AssumeRolePolicyDocument" in security
    assert "Tags[" not in security and "`Description`" not in security  # not access
    assert "<details><summary>Properties of the" in markdown
    # The terminal keeps a first deploy short: one line per added resource that has them.
    section = output[output.index("security-relevant changes:") : output.index("estimated cost")]
    assert "ModelExecutionRoleB8BE4D0D (AWS::IAM::Role) added: " in section
    assert all(" added: " in line for line in section.splitlines()[1:])


def test_a_change_without_security_relevance_says_none(aws: str, repo: Path) -> None:
    document = local_document(aws)
    run(parse(document, CONFIG_PATH), repo, execute=True)
    document["environments"]["local"]["alarms"]["error_5xx_count"] = 7
    commit(repo, "alarm.txt", "5xx 7\n")
    outcome, output = run(parse(document, CONFIG_PATH), repo)
    markdown = (outcome.bundle / "plan.md").read_text(encoding="utf-8")
    assert row(markdown, "AlarmsErrors5xx", "Threshold") == ["`5`", "`7`", ""]
    assert "None: no IAM, resource policy, key, encryption or network setting changes." in markdown
    assert "security-relevant changes:" not in output
