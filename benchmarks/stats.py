"""Medians, ratios and the Markdown tables the benchmark prints: pure, so they are tested."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured thing: wall seconds of each run, and a note on how it was measured."""

    name: str
    samples: tuple[float, ...]
    note: str = ""

    @property
    def median(self) -> float:
        if not self.samples:
            raise ValueError(f"{self.name}: no runs were measured")
        return statistics.median(self.samples)


@dataclass(frozen=True)
class Target:
    """A target from the issue: `figure` compared with `limit` (both as the table shows them),
    beside the figure measured before the change that set it, and, for a miss, where the time
    goes (from the run's own breakdown)."""

    name: str
    figure: float
    limit: float
    unit: str  # "x" for a ratio, "s" for seconds
    before: str = ""
    why: str = ""

    @property
    def met(self) -> bool:
        return self.figure <= self.limit

    def row(self) -> list[str]:
        def shown(value: float) -> str:
            return f"{value:.2f}x" if self.unit == "x" else f"{value:.1f} s"

        return [
            self.name,
            self.before or "-",
            shown(self.figure),
            f"<= {shown(self.limit)}",
            _met(self.met),
            "" if self.met else self.why,
        ]


def _met(met: bool) -> str:
    return "met" if met else "**missed**"


def ratio(numerator: Figure, denominator: Figure) -> float:
    """numerator's median over denominator's; a zero denominator is a measurement error."""
    if denominator.median <= 0:
        raise ValueError(f"{denominator.name}: a median of 0 s cannot be compared")
    return numerator.median / denominator.median


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table, columns padded so it also reads as plain text."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def figures_table(figures: Sequence[Figure]) -> str:
    rows = [
        [
            figure.name,
            f"{figure.median:.1f} s",
            " / ".join(f"{s:.1f}" for s in figure.samples),
            figure.note,
        ]
        for figure in figures
    ]
    return markdown_table(["measure", "median", "runs (s)", "how"], rows)


def targets_table(targets: Sequence[Target]) -> str:
    return markdown_table(
        ["target", "before", "now", "limit", "", "where the time goes (misses)"],
        [t.row() for t in targets],
    )
