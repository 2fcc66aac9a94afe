"""The estimated monthly cost of an environment's endpoint, from the price table in prices.json.

It is an estimate for a reviewer, not a bill: on-demand instance-hours of the endpoint
between the autoscaling minimum and maximum; storage, data transfer and Model Monitor jobs
are not included. A serverless endpoint is billed for the time it spends on requests, by the
memory configured ("billed by the millisecond", and "During times when there are no
requests, Serverless Inference scales your endpoint down to 0",
https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html): its estimate is
$0 idle, the price of a million requests that each take the p99 latency alarm's threshold,
and the most a month can cost, every one of max_concurrency busy all month. An instance type
or region missing from the table says so.
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


@dataclass(frozen=True)
class ServerlessEstimate:
    region: str
    usd_per_gb_second: float | None
    memory_size_mb: int
    max_concurrency: int
    request_ms: int  # what one request is assumed to take: the p99 latency alarm's threshold
    hours_per_month: int

    @property
    def usd_per_second(self) -> float | None:
        """What a second of one request costs at this memory size."""
        if self.usd_per_gb_second is None:
            return None
        return self.usd_per_gb_second * self.memory_size_mb / 1024

    @property
    def per_million_requests(self) -> float | None:
        if self.usd_per_second is None:
            return None
        return self.usd_per_second * self.request_ms / 1000 * 1_000_000

    @property
    def monthly_ceiling(self) -> float | None:
        if self.usd_per_second is None:
            return None
        return self.usd_per_second * self.max_concurrency * self.hours_per_month * 3600

    def describe(self) -> str:
        shape = f"serverless {self.memory_size_mb} MB, up to {self.max_concurrency} concurrent"
        if self.usd_per_second is None or self.per_million_requests is None:
            return (
                f"unknown: no serverless price in {self.region} ({shape}; add it to {PRICES.name})"
            )
        return (
            f"$0/month idle, ~${self.per_million_requests:,.2f} per million requests of "
            f"{self.request_ms} ms (the p99 latency alarm), at most ~${self.monthly_ceiling:,.0f}"
            f"/month if all {self.max_concurrency} concurrent invocations ran all month "
            f"(serverless {self.memory_size_mb} MB at ${self.usd_per_second:.7f}/s in "
            f"{self.region}, plus data processed; on-demand list price, an estimate)"
        )


@cache
def _table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(PRICES.read_text(encoding="utf-8"))
    return table


def estimate(environment: Environment) -> CostEstimate | ServerlessEstimate:
    table = _table()
    if environment.endpoint.serverless:
        return ServerlessEstimate(
            region=environment.region,
            usd_per_gb_second=table["serverless"]["usd_per_gb_second"].get(environment.region),
            memory_size_mb=environment.endpoint.memory_size_mb,
            max_concurrency=environment.endpoint.max_concurrency,
            request_ms=environment.alarms.latency_p99_ms,
            hours_per_month=int(table["hours_per_month"]),
        )
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
