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


# Every part an environment can have, in deploy order.
STACK_PARTS = (ARTIFACTS, SERVING, MONITORING)


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


# The bootstrap (access/policies.py, infra/bootstrap_stack.py): one stack per environment,
# deployed once by an account admin, holding the roles CI and CloudFormation use.
BOOTSTRAP = "bootstrap"
DEPLOY_ROLE = "deploy"
EXECUTION_ROLE = "cfn-exec"
READ_ROLE = "read"


def bootstrap_stack_name(project: Project, environment: Environment) -> str:
    return stack_name(project, environment, BOOTSTRAP)


def bootstrap_role_name(project: str, environment: str, role: str) -> str:
    """deploy, cfn-exec or read: at most 32 + 1 + 12 + 1 + 8 characters, within IAM's 64."""
    return f"{project}-{environment}-{role}"


def boundary_policy_name(project: str, environment: str) -> str:
    return f"{project}-{environment}-boundary"


def role_path(project: str, environment: str) -> str:
    """The IAM path of every role the stacks create: the execution role may touch roles
    under it only (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-friendly-names)."""
    return f"/{project}/{environment}/"


def bootstrap_role_arn(project: str, environment: str, account: str, role: str) -> str:
    """A bootstrap role's ARN: its name is fixed, so it follows from config alone."""
    return f"arn:aws:iam::{account}:role/{bootstrap_role_name(project, environment, role)}"


# Where the workflows read the bootstrap's roles (deploy.yml, rollback.yml, release.yml,
# drift.yml): the deploy role in the GitHub environment's variable, the read role in the
# repository's variable of that environment.
DEPLOY_ROLE_VARIABLE = "AWS_DEPLOY_ROLE_ARN"


def read_role_variable(environment: str) -> str:
    return f"AWS_READ_ROLE_ARN_{environment.upper()}"


def alarm_names(endpoint: str) -> tuple[str, str]:
    """The endpoint's rollback alarms: 5XX errors, then p99 model latency. Fixed strings, so
    the deploy roles can name them before they exist."""
    return (f"{endpoint}-errors-5xx", f"{endpoint}-latency-p99")
