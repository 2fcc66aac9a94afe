"""Rendering for people: the plan (terminal and Markdown) and the deploy history, in one place.

Pure functions from plain data to text or rich renderables; printing is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table

from .ledger import DeployRecord, Outcome
from .live import left_live
from .plan import Plan
from .registry import version_of


def plan_renderable(plan: Plan, cost: str) -> RenderableType:
    """One table per stack (action, logical id, type, replacement), then the cost."""
    parts: list[RenderableType] = [f"Plan for {plan.environment} (deploy {plan.deploy_id}):"]
    for stack in plan.stacks:
        if not stack.changes:
            parts.append(f"  {stack.stack_name}: no changes")
            continue
        table = Table(
            title=f"{stack.stack_name} ({stack.change_set_type.lower()})",
            title_justify="left",
            box=box.SIMPLE,
        )
        for column in ("action", "logical id", "type", "replacement"):
            table.add_column(column, no_wrap=True)
        for change in stack.changes:
            table.add_row(
                change.action, change.logical_id, change.resource_type, change.replacement or "-"
            )
        parts.append(table)
    parts.append(f"estimated cost: {cost}")
    return Group(*parts)


def plan_markdown(plan: Plan, cost: str) -> str:
    """The plan for a pull request comment or a CI step summary."""
    lines = [
        f"## Deploy plan: {plan.environment} ({plan.deploy_id})",
        "",
        f"Model sha256: `{plan.model_sha256}`",
        "",
    ]
    for stack in plan.stacks:
        lines.append(f"### {stack.stack_name} ({stack.change_set_type.lower()})")
        lines.append("")
        if not stack.changes:
            lines += ["No changes.", ""]
            continue
        lines += ["| action | logical id | type | replacement |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {c.action} | {c.logical_id} | {c.resource_type} | {c.replacement or '-'} |"
            for c in stack.changes
        ]
        lines.append("")
    lines += [f"Estimated cost: {cost}", ""]
    return "\n".join(lines)


def history_table(records: Sequence[DeployRecord], title: str, live: DeployRecord | None) -> Table:
    """Newest first; `left live` is the model each execute left serving (read from SageMaker
    when it ended), and the row marked "live" is the record matching the endpoint now.

    The first cell holds the deploy id, who ran it, and for a rollback the deploys it went
    from and to, one per line, so the table fits a 120-column log (ids never fold) with
    everything `--json` has but times and full hashes."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, leading=1)
    # Wide enough for an id marked live; only an e-mail longer than the spare width folds.
    table.add_column("deploy id / by / rollback", min_width=39, overflow="fold")
    for column in ("kind", "outcome", "ref", "model", "left live", "pkg", "secs"):
        table.add_column(column, no_wrap=column not in {"ref", "pkg"})
    for record in records:
        outcome = record.outcome.value
        ref = (record.ref or "-").removeprefix("refs/heads/").removeprefix("refs/tags/")
        state = left_live(record)
        left = (state.model_sha256[:12] or state.endpoint_config) if state else "?"
        marker = " (live)" if live is not None and live.deploy_id == record.deploy_id else ""
        lines = [record.deploy_id + marker, f"[dim]by\u00a0{record.actor}[/dim]"]
        if record.rollback:
            lines += [
                f"from {record.rollback.get('from', '?')}",
                f"to {record.rollback.get('to', '?')}",
            ]
        table.add_row(
            "\n".join(lines),
            record.kind,
            f"[green]{outcome}" if record.outcome is Outcome.SUCCEEDED else f"[red]{outcome}",
            ref,
            record.model_sha256[:12],
            left,
            str(version_of(record.model_package) or "-"),
            f"{record.duration_seconds:.1f}",
        )
    return table
