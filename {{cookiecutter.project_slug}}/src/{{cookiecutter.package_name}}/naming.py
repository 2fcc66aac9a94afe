"""Names of the stacks of an environment: one place, read by the CDK app and the deploy engine.

The deploy engine needs the names before it synthesizes (to refuse a deploy while a stack
is busy), so they come from the configuration alone, not from a synthesized assembly.
"""

from __future__ import annotations

from .config import Environment, Project

# The tag on the Model, EndpointConfig and Endpoint naming the artifact's sha256; the deploy
# verifies the live endpoint by it.
MODEL_SHA256_TAG = "model-sha256"
# Names that must change with the model (a create-only resource under a custom name) end in
# this many hex digits of its sha256, so a model rollback can re-point them.
MODEL_NAME_DIGITS = 12

# The endpoint's one production variant.
VARIANT_NAME = "AllTraffic"

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


def endpoint_name(project: Project, environment: Environment) -> str:
    """Fixed per environment: alarms and autoscaling must name the endpoint before it exists."""
    return f"{project.name}-{environment.name}"
