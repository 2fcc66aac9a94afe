"""Rendering for people: the plan (terminal and Markdown) and the deploy history, in one place.

Pure functions from plain data to text or rich renderables; printing is the caller's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .drift import IN_SYNC, DriftReport, StackDrift, endpoint_line
from .ledger import DeployRecord, Note, Outcome
from .live import left_live
from .outcomes import describe as describe_metrics
from .plan import Plan, StackPlan
from .registry import version_of
from .template_diff import ADDED, CHANGED, FOLLOWS, REMOVED, ResourceDiff

if TYPE_CHECKING:
    from .model_review import ModelReview

# The hold-out metrics the plan compares, as (label, Metrics field), in the order shown.
SHOWN_METRICS = (("hold-out accuracy", "accuracy"), ("hold-out ROC AUC", "roc_auc"))

_TERMINAL_WIDTH = 60  # a value wider than this is cut in the terminal (plan.md has it whole)


@dataclass(frozen=True)
class _Row:
    """One property change, ready for a table cell by cell."""

    resource: str
    path: str
    before: str
    after: str
    note: str
    security: bool


_NOTES = {ADDED: "added", REMOVED: "removed", FOLLOWS: "refers to a replaced resource", CHANGED: ""}


def _rows(resource: ResourceDiff, width: int | None) -> list[_Row]:
    """Each property change of the resource; values cut to width (None: whole)."""
    rows = []
    for change in resource.properties:
        note = _NOTES[change.change]
        if change.replaces:
            note = ", ".join(filter(None, ["REPLACES the resource", note]))
        before = "" if change.change == ADDED else _json(change.before)
        after = "" if change.change == REMOVED else _json(change.after)
        rows.append(
            _Row(
                resource.logical_id,
                change.path,
                *_shown(before, after, width),
                note,
                change.security,
            )
        )
    return rows


def _json(value: object) -> str:
    """A template value as compact JSON: "ml.m5.large" keeps its quotes (a string, not a number)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _shown(before: str, after: str, width: int | None) -> tuple[str, str]:
    """Both values whole; or, where one is wider than width, both cut to width from a little
    before where they first differ, so a new digest at the end of a long S3 URI still shows."""
    if width is None or max(len(before), len(after)) <= width:
        return before, after
    pairs = zip(before, after, strict=False) if before and after else iter(())
    common = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(before), len(after)))
    start = max(0, common - width // 4)

    def cut(text: str) -> str:
        if not text:
            return text
        head = "…" if start else ""
        tail = "…" if start + width < len(text) else ""
        return head + text[start : start + width] + tail

    return cut(before), cut(after)


def _replaced(stack: StackPlan) -> list[str]:
    """Resources the plan replaces: by the change set's rows (the authority), and by the
    registry schemas where the rows do not say."""
    by_rows = {c.logical_id for c in stack.changes if c.replacement == "True"}
    by_schema = set(stack.diff.replaced)
    return [c.logical_id for c in stack.changes if c.logical_id in by_rows | by_schema]


def _security(plan: Plan) -> list[tuple[str, _Row]]:
    """Every security-relevant value the plan adds, changes or removes, whole (plan.md)."""
    return [
        (stack.stack_name, row)
        for stack in plan.stacks
        for resource in stack.diff.resources
        for row in _rows(resource, None)
        if row.security
    ]


def _metric(metrics: Mapping[str, object], key: str) -> str:
    value = metrics.get(key)
    return f"{value:.4f}" if isinstance(value, int | float) else "unknown"


def model_lines(review: ModelReview | None) -> list[str]:
    """The model part of a plan: the candidate's hold-out metrics beside the live model's,
    and how its answers to the golden requests differ (or why that is not shown)."""
    if review is None:
        return []
    live = f"live {review.live_sha256[:12]}…" if review.live_sha256 else "nothing live"
    lines = [f"candidate model {review.candidate_sha256[:12]}… ({live})"]
    origin = review.source
    if origin.get("kind") in {"artifact", "package"}:
        image = f", image {origin['image']}" if origin.get("image") else ""
        lines.append(f"  from {origin['kind']} {origin.get('package') or origin['uri']}{image}")
    for label, key in SHOWN_METRICS:
        candidate = _metric(review.candidate_metrics, key)
        before = _metric(review.live_metrics, key) if review.live_sha256 else "-"
        lines.append(f"  {label}: {candidate} (live: {before})")
    behaviour = review.behaviour
    if behaviour is None:
        lines.append(f"  golden requests: {review.note}")
    else:
        bound = review.max_flip_percent
        lines.append(f"  golden requests: {behaviour.describe()}; bound {bound} %")
        if review.captured is not None:
            said = review.captured.describe()
            lines.append(f"  captured requests: {said}; bound {bound} %")
        elif review.captured_note:
            lines.append(f"  captured requests: {review.captured_note}")
    return lines


def plan_renderable(
    plan: Plan, cost: str, review: ModelReview | None = None, notes: Sequence[str] = ()
) -> RenderableType:
    """The model's review and the plan's notes; per stack: the change set's rows (action,
    logical id, type, replacement), then what changes in each modified or removed resource,
    property by property; then every security-relevant change, and the cost."""
    parts: list[RenderableType] = [f"Plan for {plan.environment} (deploy {plan.deploy_id}):"]
    parts += [Text(f"  {line}") for line in model_lines(review)]
    parts += [Text(f"  note: {note}") for note in notes]
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
        parts += _what_changes(stack)
    security = _security_lines(plan)
    if security:
        parts.append(Text("security-relevant changes:", style="bold"))
        parts += security
    parts.append(f"estimated cost: {cost}")
    return Group(*parts)


def _security_lines(plan: Plan) -> list[RenderableType]:
    """Each security-relevant value a modified or removed resource changes, in full; an added
    resource in one line with its count (plan.md lists each value: a first deploy adds them
    all)."""
    lines: list[RenderableType] = []
    for stack in plan.stacks:
        for resource in stack.diff.resources:
            rows = [row for row in _rows(resource, _TERMINAL_WIDTH) if row.security]
            where = f"  {stack.stack_name} {resource.logical_id}"
            if resource.action == "Add" and (rows or resource.security):
                lines.append(
                    Text(
                        f"{where} ({resource.resource_type}) added: {len(rows)} value(s) that "
                        "decide access, each in plan.md"
                    )
                )
                continue
            lines += [Text(f"{where} {row.path}: {_before_after(row)}") for row in rows]
    return lines


def _what_changes(stack: StackPlan) -> list[RenderableType]:
    """cdk diff's shape, one line per property: `~ Id (Type)` then `path: before -> after`."""
    lines: list[RenderableType] = []
    replaced = _replaced(stack)
    if replaced:
        lines.append(Text(f"  replaces: {', '.join(replaced)}", style="bold red"))
    for resource in stack.diff.resources:
        if resource.action == "Add":
            if stack.change_set_type == "UPDATE":  # a first deploy adds everything: rows say so
                lines.append(Text(f"  + {resource.logical_id} ({resource.resource_type})"))
            continue
        sign = "-" if resource.action == "Remove" else "~"
        lines.append(Text(f"  {sign} {resource.logical_id} ({resource.resource_type})"))
        if resource.action == "Remove":
            continue
        for row in _rows(resource, _TERMINAL_WIDTH):
            line = Text(f"      {row.path}: {_before_after(row)}")
            if row.note:
                line.append(f"  ({row.note})", style="bold red" if "REPLACES" in row.note else "")
            lines.append(line)
    return lines


def _before_after(row: _Row) -> str:
    return f"{row.before or '(none)'} -> {row.after or '(none)'}"


def _cell(text: str) -> str:
    return f"`{text}`".replace("|", "\\|") if text else ""


def _markdown_rows(rows: Sequence[_Row]) -> list[str]:
    lines = ["| resource | property | before | after | |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        note = f"**{row.note}**" if "REPLACES" in row.note else row.note
        lines.append(
            f"| `{row.resource}` | `{row.path}` | {_cell(row.before)} | {_cell(row.after)} "
            f"| {note} |"
        )
    return lines


@dataclass(frozen=True)
class NextSteps:
    """How a dry run's kept plan goes on: who approves it and how to execute exactly it."""

    command: str  # what planned it, e.g. "invoke rollback --env prod --to v1.2.0"
    workflow: str  # the workflow that executes it in CI: "Deploy" or "Rollback"
    approvals: str  # what the environment needs (approvals.Rule.describe()); "" for none

    def lines(self, environment: str, plan_id: str) -> list[str]:
        """One line each (Markdown code spans, which read as plain text in a terminal too)."""
        said = []
        if self.approvals:
            said.append(
                f"Approve it ({environment} needs {self.approvals}): `invoke approve --env "
                f"{environment} --plan {plan_id}`, or at the gates of the {self.workflow} run "
                "that executes it."
            )
        said.append(
            f"Execute exactly this plan: `{self.command} --execute --plan {plan_id}`, or the "
            f"{self.workflow} workflow with `plan` = `{plan_id}`."
        )
        return said


def plan_markdown(
    plan: Plan,
    cost: str,
    digest: str,
    next_steps: NextSteps | None,
    *,
    review: ModelReview | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The plan for a pull request comment or a CI step summary: its digest (and, for a dry
    run, how it is approved and executed), the model's review, the rows, each property that
    changes with its value before and after (whole), the replacements, and the
    security-relevant changes."""
    lines = [
        f"## Deploy plan: {plan.environment} ({plan.deploy_id})",
        "",
        f"Model sha256: `{plan.model_sha256}`",
        "",
        f"Plan digest: `{digest}`",
        "",
    ]
    if next_steps is not None:
        for line in next_steps.lines(plan.environment, plan.deploy_id):
            lines += [line, ""]
    reviewed = model_lines(review)
    if reviewed:
        lines += ["### Model", "", *(f"- {line.strip()}" for line in reviewed), ""]
    if notes:
        lines += ["### Notes", "", *(f"- {note}" for note in notes), ""]
    for stack in plan.stacks:
        lines.append(f"### {stack.stack_name} ({stack.change_set_type.lower()})")
        lines.append("")
        if not stack.changes:
            lines += ["No changes.", ""]
            continue
        replaced = _replaced(stack)
        if replaced:
            names = ", ".join(f"`{name}`" for name in replaced)
            lines += [f"**Replaces {len(replaced)} resource(s): {names}**", ""]
        lines += ["| action | logical id | type | replacement |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {c.action} | {c.logical_id} | {c.resource_type} | {c.replacement or '-'} |"
            for c in stack.changes
        ]
        lines.append("")
        changed = [r for r in stack.diff.resources if r.action != "Add"]
        if changed:
            lines += ["What changes, property by property:", ""]
            lines += _markdown_rows([row for r in changed for row in _rows(r, None)])
            lines.append("")
        added = [r for r in stack.diff.resources if r.action == "Add"]
        if added:
            lines += [
                f"<details><summary>Properties of the {len(added)} added resource(s)</summary>",
                "",
                *_markdown_rows([row for r in added for row in _rows(r, None)]),
                "",
                "</details>",
                "",
            ]
    security = _security(plan)
    lines += ["### Security-relevant changes", ""]
    if security:
        lines += [
            "| stack | resource | property | before | after |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {stack_name} | `{row.resource}` | `{row.path}` | {_cell(row.before)} "
            f"| {_cell(row.after)} |"
            for stack_name, row in security
        ]
    else:
        lines.append("None: no IAM, resource policy, key, encryption or network setting changes.")
    lines += ["", f"Estimated cost: {cost}", ""]
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
        if record.approvals:
            who = ", ".join(approval.get("who", "?") for approval in record.approvals)
            lines.append(f"[dim]approved by {who}[/dim]")
        lines += [f"deleted {name}" for name in record.destroyed]
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


def outcome_lines(
    records: Sequence[DeployRecord], notes: Mapping[str, Sequence[Note]]
) -> list[str]:
    """Below the history table, newest first: each execute's rollout metrics and the notes
    on each record (who, when), unfolded (they are sentences, not cells)."""
    lines = []
    for record in records:
        said = [f"  rollout: {describe_metrics(record.metrics)}"] if record.metrics else []
        said += [
            f"  note {note.at[:16].replace('T', ' ')} UTC by {note.who}: {note.text}"
            for note in notes.get(record.deploy_id, ())
        ]
        if said:
            lines += [f"{record.deploy_id} ({record.kind}):", *said]
    return lines


def drift_table(report: DriftReport) -> Table:
    """One row per stack: its template against the ledger's, and CloudFormation's drift
    detection of its resources."""
    title = f"Drift of {report.environment} against its ledger"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("stack", "template (expected from)", "resources (CloudFormation)"):
        table.add_column(column, overflow="fold")
    for stack in report.stacks:
        template = (
            stack.template
            if stack.expected_from is None
            else (f"{stack.template} ({stack.expected_from})")
        )
        resources = stack.resources_said() or stack.detection.lower().replace("_", " ") or "-"
        drifted = stack.template not in {IN_SYNC, "unknown"}
        table.add_row(
            stack.stack,
            f"[red]{template}" if drifted else template,
            f"[red]{resources}" if stack.resources else resources,
        )
    return table


def drift_lines(report: DriftReport) -> list[str]:
    """Below the table: each difference, and the endpoint; the verdict last."""
    lines = []
    for stack in report.stacks:
        lines += _drift_details(stack)
    lines.append(endpoint_line(report.endpoint))
    if report.drifted:
        lines.append(f"DRIFTED: {report.summary()}")
    elif report.unchecked:
        lines.append(
            "cannot tell: CloudFormation could not check every resource of "
            f"{', '.join(report.unchecked)} (the credentials may lack read access to some)"
        )
    else:
        lines.append(f"in sync: {report.environment} runs what its ledger says")
    return lines


def _drift_details(stack: StackDrift) -> list[str]:
    lines = []
    for change in stack.template_changes:
        lines.append(
            f"{stack.stack} template: {change.status} {change.logical_id} ({change.resource_type})"
        )
        lines += [
            f"  {d.path}: {d.expected} -> {d.actual} (ledger -> live)" for d in change.differences
        ]
    for resource in stack.resources:
        lines.append(
            f"{stack.stack} resource {resource.logical_id} ({resource.resource_type}) "
            f"{resource.status}"
        )
        lines += [
            f"  {d.path}: expected {d.expected}, actual {d.actual}" for d in resource.differences
        ]
    return lines


def drift_markdown(report: DriftReport) -> str:
    """The report for the CI step summary."""
    verdict = "DRIFTED" if report.drifted else "in sync"
    lines = [
        f"## Drift of {report.environment}: {verdict}",
        "",
        "| stack | template (expected from) | resources (CloudFormation) |",
        "| --- | --- | --- |",
    ]
    for stack in report.stacks:
        resources = stack.resources_said() or stack.detection or "-"
        lines.append(
            f"| {stack.stack} | {stack.template} ({stack.expected_from or 'no record'}) "
            f"| {_cell(resources)} |"
        )
    details = [line for stack in report.stacks for line in _drift_details(stack)]
    lines += ["", endpoint_line(report.endpoint), ""]
    if details:
        lines += ["```text", *details, "```", ""]
    return "\n".join(lines)
