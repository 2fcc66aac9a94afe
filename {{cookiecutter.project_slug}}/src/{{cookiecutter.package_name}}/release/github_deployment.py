"""The GitHub deployment of one executed deploy or rollback, when GITHUB_TOKEN is set.

GitHub shows it on the repository's environments page: created (and set in_progress)
before the first change set runs, then success or failure with the ledger record in its
description. Creating it is part of preflight's contract: if GitHub refuses, nothing has
changed yet and the deploy stops. The final status comes after the ledger record is
written; if GitHub fails then, the record stands and a one-line warning says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console

from ..errors import GitHubError
from .github import GitHub
from .ledger import DeployRecord, Outcome


def run_url(environ: Mapping[str, str]) -> str:
    """This GitHub Actions run's page, or "" outside Actions."""
    parts = [environ.get(key, "") for key in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY")]
    run_id = environ.get("GITHUB_RUN_ID", "")
    return f"{parts[0]}/{parts[1]}/actions/runs/{run_id}" if all(parts) and run_id else ""


@dataclass(frozen=True)
class Announcement:
    """What a GitHub deployment says about the execute it tracks."""

    environment: str
    production: bool
    kind: str
    commit: str
    deploy_id: str
    ledger_url: str
    approvers: tuple[str, ...] = ()  # who approved the plan it runs (approvals.py)


@dataclass(frozen=True)
class Deployment:
    github: GitHub
    deployment_id: int
    log_url: str

    @classmethod
    def start(cls, github: GitHub, what: Announcement, log_url: str) -> Deployment:
        """Create the deployment and mark it in_progress; GitHubError if GitHub refuses."""
        approved = f", approved by {', '.join(what.approvers)}" if what.approvers else ""
        deployment_id = github.start_deployment(
            what.environment,
            what.commit,
            f"{what.kind} {what.deploy_id}{approved}",
            {
                "deploy_id": what.deploy_id,
                "kind": what.kind,
                "ledger": what.ledger_url,
                "approved_by": list(what.approvers),
            },
            production_environment=what.production,
        )
        github.post_deployment_status(deployment_id, "in_progress", f"{what.kind} running", log_url)
        return cls(github, deployment_id, log_url)

    def finish(self, record: DeployRecord, out: Console) -> None:
        """success or failure, naming the record; never raises (the record is the truth)."""
        succeeded = record.outcome is Outcome.SUCCEEDED
        try:
            self.github.post_deployment_status(
                self.deployment_id,
                "success" if succeeded else "failure",
                f"{record.kind} {record.deploy_id} {record.outcome.value}",
                self.log_url,
            )
        except GitHubError as error:
            out.print(
                f"warning: the deploy is recorded, but GitHub deployment {self.deployment_id} "
                f"still says in_progress: {error}",
                markup=False,
            )
