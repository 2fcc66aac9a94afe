"""The project's error types: one per domain, each carrying a one-line message for people.

Front doors (tasks.py, noxfile.py, app.py) print the message and exit non-zero; anything
that is not a ProjectError is a bug and keeps its traceback.
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
