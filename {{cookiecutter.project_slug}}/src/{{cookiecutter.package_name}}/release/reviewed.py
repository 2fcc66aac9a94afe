"""Plan identity: what decides a plan's outcome, its digest, and what changed since review.

A dry run's plan is reviewed (and, later, approved) by its digest; `--execute --plan <id>`
plans again from the same inputs and runs only when the new plan has the same digest. The
digest covers everything the outcome depends on: the environment, the commit, the model's
sha256, each stack's new template, the live template it was computed against (so a stack
changed by someone else since, or another deploy in between, shows), and the change set's
rows. Pure rules over plain data; the files and the ledger are read by the callers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from .plan import Plan

FACTS = "plan-facts.json"  # in the bundle, beside plan.json: what the digest is over


@dataclass(frozen=True)
class PlanFacts:
    environment: str
    commit: str
    model_sha256: str
    templates: Mapping[str, str]  # stack -> sha256 of the template the change set was made from
    live: Mapping[str, str | None]  # stack -> sha256 of its live template; None: no stack yet
    rows: Mapping[str, tuple[tuple[str, str, str, str], ...]]  # stack -> change set rows

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PlanFacts:
        data: dict[str, Any] = json.loads(text)
        return cls(
            environment=str(data["environment"]),
            commit=str(data["commit"]),
            model_sha256=str(data["model_sha256"]),
            templates={str(k): str(v) for k, v in data["templates"].items()},
            live={str(k): None if v is None else str(v) for k, v in data["live"].items()},
            rows={
                str(stack): tuple((str(a), str(b), str(c), str(d)) for a, b, c, d in rows)
                for stack, rows in data["rows"].items()
            },
        )


def facts_of(plan: Plan, commit: str, templates: Mapping[str, str]) -> PlanFacts:
    """templates: stack -> sha256 of each template file (the bundle's manifest)."""
    return PlanFacts(
        environment=plan.environment,
        commit=commit,
        model_sha256=plan.model_sha256,
        templates=dict(templates),
        live={stack.stack_name: stack.diff.live_template_sha256 for stack in plan.stacks},
        rows={
            stack.stack_name: tuple(
                sorted(
                    (c.action, c.logical_id, c.resource_type, c.replacement) for c in stack.changes
                )
            )
            for stack in plan.stacks
        },
    )


def plan_digest(facts: PlanFacts) -> str:
    canonical = json.dumps(asdict(facts), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _short(value: str | None) -> str:
    return "no stack" if value is None else value[:12]


def differences(reviewed: PlanFacts, now: PlanFacts) -> list[str]:
    """What changed between the reviewed plan's inputs and the plan made now, most telling
    first; [] when they are the same (then the digests are equal too)."""
    found = []
    if reviewed.environment != now.environment:
        found.append(f"it is a plan of {reviewed.environment}, not {now.environment}")
    if reviewed.commit != now.commit:
        found.append(f"the commit is {now.commit[:7]}, the plan was made at {reviewed.commit[:7]}")
    stacks = sorted(set(reviewed.live) | set(now.live))
    for stack in stacks:
        before, after = reviewed.live.get(stack), now.live.get(stack)
        if before != after:
            found.append(
                f"{stack} changed since the plan (live template {_short(before)} -> "
                f"{_short(after)}: someone else or another deploy changed it)"
            )
    if reviewed.model_sha256 != now.model_sha256:
        found.append(
            f"the model is {now.model_sha256[:12]}, the plan has {reviewed.model_sha256[:12]}"
        )
    for stack in stacks:
        if reviewed.templates.get(stack) != now.templates.get(stack):
            found.append(f"the template of {stack} differs from the planned one")
    if not found:
        changed = [stack for stack in stacks if reviewed.rows.get(stack) != now.rows.get(stack)]
        found += [f"CloudFormation now plans other changes for {stack}" for stack in changed]
    return found


def age_hours(deploy_id: str, now: datetime) -> float:
    """How long ago the plan with this deploy id was made, by the time the id starts with
    (its dry run's clock: a laptop an hour off moves a plan's expiry by that hour)."""
    stamp = deploy_id.split("Z", 1)[0]
    made = datetime.strptime(stamp[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return (now - made).total_seconds() / 3600
