"""Where dry runs' plans and their approvals are kept: the ledger, or this checkout before it.

A dry run's bundle goes to the ledger under releases/<env>/plans/<deploy-id>/ once the
environment's artifact bucket exists; before its first deploy there is no bucket, and the
plan stays in build/deploys/<env>/<deploy-id>/ where the dry run ran. Approvals go beside
the plan they approve, one file per approver named by their AWS user id
(approvals/<aws:userid>.json, so an IAM policy can let each person write only their own),
in the ledger once it exists, else in this checkout (before the first deploy, where the
plan is). Reading takes the ledger's once it exists, never a file this checkout holds then,
and a file whose name is not its own approver's is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import Refusal
from .approvals import Approval
from .ledger import Ledger
from .reviewed import FACTS, PlanFacts

APPROVALS = "approvals/"
# An AWS user id as a file name: kept whole in S3 keys (AROA…:session, what ${aws:userid}
# is in a policy), with anything a file system may refuse replaced on disk.
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9._@+=,:-]")
_UNSAFE_FILE = re.compile(r"[^A-Za-z0-9._@+=,-]")


def approval_name(user_id: str, *, on_disk: bool) -> str:
    """approvals/<user id>.json, the one name an approver's approval may have."""
    unsafe = _UNSAFE_FILE if on_disk else _UNSAFE_KEY
    return f"{APPROVALS}{unsafe.sub('_', user_id)}.json"


@dataclass(frozen=True)
class KeptPlans:
    """The plans of one environment: this checkout's build/deploys/<env>/ and its ledger."""

    deploys: Path
    ledger: Ledger

    @property
    def environment(self) -> str:
        return self.ledger.environment

    def keep(self, deploy_id: str, bundle: Path) -> str:
        """Archive a dry run's bundle (its facts last); where it is now."""
        if self.ledger.exists():
            return self.ledger.write_plan(deploy_id, bundle, last=FACTS)
        return f"{bundle} (no ledger before the first deploy: execute from here)"

    def facts(self, deploy_id: str) -> PlanFacts:
        """The facts of a dry run's plan: from this checkout, else from the ledger; a Refusal
        when neither has it, or it cannot be read."""
        env = self.environment
        local = self.deploys / deploy_id / "bundle" / FACTS
        data = local.read_bytes() if local.is_file() else self.ledger.plan_file(deploy_id, FACTS)
        if data is None:
            others = sorted(
                p.parents[2].name for p in self.deploys.parent.glob(f"*/{deploy_id}/bundle/{FACTS}")
            )
            if others:
                raise Refusal(
                    f"{deploy_id} is a plan of {others[0]}, not {env}; pass a plan of {env}"
                )
            raise Refusal(
                f"no plan {deploy_id} for {env} in {self.deploys} or {self.ledger.url()}plans/ "
                f"(before {env}'s first deploy there is no ledger, and a plan stays where its "
                "dry run ran); run the dry run (without --execute) and pass the deploy id it "
                "prints"
            )
        try:
            return PlanFacts.from_json(data.decode())
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise Refusal(
                f"plan {deploy_id}'s {FACTS} is not readable ({error}); run a new dry run"
            ) from None

    def add_approval(self, approval: Approval) -> str:
        """Keep an approval beside its plan, one file per approver (a second approval by the
        same person replaces the first); where it went."""
        body = approval.to_json().encode()
        if self.ledger.exists():
            name = approval_name(approval.user_id, on_disk=False)
            return self.ledger.write_plan_file(approval.plan, name, body)
        path = self.deploys / approval.plan / approval_name(approval.user_id, on_disk=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return str(path)

    def approvals(self, deploy_id: str) -> list[Approval]:
        """Every approval kept for a plan: the ledger's once it exists, else this checkout's;
        an unreadable one, or one under another approver's name, is a Refusal naming it
        (never silently skipped, never believed)."""
        found: list[tuple[str, str, bytes]] = []  # where, its name, its bytes
        if self.ledger.exists():
            prefix = f"{self.ledger.url()}plans/{deploy_id}/{APPROVALS}"
            kept = self.ledger.plan_files(deploy_id, APPROVALS)
            found += [
                (f"{prefix}{name}", f"{APPROVALS}{name}", body) for name, body in kept.items()
            ]
            on_disk = False
        else:
            folder = self.deploys / deploy_id / APPROVALS
            files = sorted(folder.glob("*.json")) if folder.is_dir() else []
            found += [(str(p), f"{APPROVALS}{p.name}", p.read_bytes()) for p in files]
            on_disk = True
        approvals = []
        for where, name, body in found:
            try:
                approval = Approval.from_json(body.decode())
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise Refusal(
                    f"the approval {where} is not readable ({error}); remove it and approve again"
                ) from None
            if name != approval_name(approval.user_id, on_disk=on_disk):
                raise Refusal(
                    f"the approval {where} names the approver {approval.user_id!r}, whose "
                    "approval has another name: someone wrote it for them; remove it"
                )
            approvals.append(approval)
        return approvals
