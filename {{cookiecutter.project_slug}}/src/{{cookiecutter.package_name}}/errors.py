"""The project's error types: one per domain, each carrying a one-line message for people.

Front doors (tasks.py, noxfile.py, app.py) print the message and exit non-zero; so do they
for AWS failing the ways it does in the field (expected_failure). Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class ProjectError(Exception):
    """A refusal or failure the user can act on; str(error) is one line."""


class ConfigError(ProjectError):
    """config/environments.toml (or a value derived from it) is wrong."""


class SynthError(ProjectError):
    """The CDK app could not be synthesized (including unacknowledged cdk-nag findings)."""


class Refusal(ProjectError):
    """A guardrail refused the operation before anything was created or changed."""


class DeployError(ProjectError):
    """A deploy ran and failed (the failure is recorded in the ledger where possible)."""


class AwsError(ProjectError):
    """AWS (or the local moto server) could not be reached or answered with an error."""


class LocalAwsError(ProjectError):
    """The embedded local AWS could not be started, stopped or found."""


class GitHubError(ProjectError):
    """GitHub could not be reached or answered with an error (the token is never shown)."""


class TemplateError(ProjectError):
    """.cruft.json, the record of the template this project was baked from, is missing or wrong."""


def expected_failure(error: BaseException) -> ProjectError | None:
    """The error as the one line a front door prints, or None for a bug (keep its traceback).

    Besides ProjectErrors, AWS failing the way it does in the field is expected wherever it
    surfaces: no credentials, expired ones, an endpoint that does not answer, a refused call.
    """
    if isinstance(error, ProjectError):
        return error
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    text = " ".join(str(error).split())
    if isinstance(error, NoCredentialsError):
        return AwsError(
            f"{text}: configure AWS credentials (aws configure sso, AWS_PROFILE, or OIDC in CI) "
            "and check them with aws sts get-caller-identity"
        )
    if isinstance(error, EndpointConnectionError):
        return AwsError(f"{text}; for the local AWS, start it with `invoke local-aws`")
    if isinstance(error, ClientError) and "ExpiredToken" in str(error.response.get("Error", {})):
        return AwsError(f"{text}; refresh your AWS credentials (aws sso login, or a new session)")
    if isinstance(error, ClientError | BotoCoreError | Boto3Error):
        return AwsError(f"AWS: {text}")
    return None
