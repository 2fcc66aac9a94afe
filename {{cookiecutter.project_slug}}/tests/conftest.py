"""Shared fixtures: the project's settings and one synth of every environment per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Through the infra package, which points jsii at the bundled Node.js before aws_cdk loads;
# test modules may import aws_cdk directly because pytest imports this file first.
from {{ cookiecutter.package_name }}.config import Settings, load
from {{ cookiecutter.package_name }}.infra.app import SynthesizedStack, synthesize_into

# A model digest that is not the placeholder, so tests see it flow into the templates.
MODEL_SHA256 = "ab" * 32
ENVIRONMENTS = list(load().environments)

if TYPE_CHECKING:
    from aws_cdk.assertions import Template


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load()


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
