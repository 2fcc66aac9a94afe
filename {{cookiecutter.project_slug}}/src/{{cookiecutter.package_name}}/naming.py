"""Names of the stacks of an environment: one place, read by the CDK app and the deploy engine.

The deploy engine needs the names before it synthesizes (to refuse a deploy while a stack
is busy), so they come from the configuration alone, not from a synthesized assembly.
"""

from __future__ import annotations

from .config import Environment, Project

# The tag on the Model, EndpointConfig and Endpoint naming the artifact's sha256; the deploy
# verifies the live endpoint by it.
MODEL_SHA256_TAG = "model-sha256"

ARTIFACTS = "artifacts"
SERVING = "serving"
MONITORING = "monitoring"


def stack_parts(environment: Environment) -> list[str]:
    """The parts of an environment in deploy order (the bucket first)."""
    parts = [ARTIFACTS, SERVING]
    if environment.monitoring is not None:
        parts.append(MONITORING)
    return parts


def stack_name(project: Project, environment: Environment, part: str) -> str:
    return f"{project.name}-{environment.name}-{part}"


def stack_names(project: Project, environment: Environment) -> list[str]:
    return [stack_name(project, environment, part) for part in stack_parts(environment)]
