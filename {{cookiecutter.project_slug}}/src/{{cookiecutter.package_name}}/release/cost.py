"""The estimated monthly cost of an environment's endpoint, from the price table in prices.json.

It is an estimate for a reviewer, not a bill: on-demand instance-hours of the endpoint
between the autoscaling minimum and maximum; storage, data transfer and Model Monitor jobs
are not included. An instance type or region missing from the table says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..config import Environment

PRICES = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class CostEstimate:
    instance_type: str
    region: str
    usd_per_hour: float | None
    min_instances: int
    max_instances: int
    hours_per_month: int

    @property
    def monthly_range(self) -> tuple[float, float] | None:
        if self.usd_per_hour is None:
            return None
        month = self.usd_per_hour * self.hours_per_month
        return month * self.min_instances, month * self.max_instances

    def describe(self) -> str:
        fleet = f"{self.min_instances}-{self.max_instances} x {self.instance_type}"
        if self.monthly_range is None:
            return (
                f"unknown: no price for {self.instance_type} in {self.region} "
                f"(add it to {PRICES.name})"
            )
        low, high = self.monthly_range
        amount = f"${low:,.0f}" if low == high else f"${low:,.0f}-${high:,.0f}"
        return (
            f"~{amount}/month for the endpoint ({fleet} at ${self.usd_per_hour:.4f}/h in "
            f"{self.region}; on-demand list price, an estimate)"
        )


@cache
def _table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(PRICES.read_text(encoding="utf-8"))
    return table


def estimate(environment: Environment) -> CostEstimate:
    table = _table()
    price = (
        table["usd_per_hour"].get(environment.region, {}).get(environment.endpoint.instance_type)
    )
    return CostEstimate(
        instance_type=environment.endpoint.instance_type,
        region=environment.region,
        usd_per_hour=price,
        min_instances=environment.autoscaling.min_capacity,
        max_instances=environment.autoscaling.max_capacity,
        hours_per_month=int(table["hours_per_month"]),
    )
