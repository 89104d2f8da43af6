"""Data-set sizes: named scales, explicit counts that override them, and how generation is paced.

Light on purpose: the CLI reads these defaults before it imports any generator."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from generators.errors import PlaygroundError

DEFAULT_CHUNK = 65_536  # records per chunk: memory is bounded by it
DEFAULT_WORKERS = os.cpu_count() or 2
DEFAULT_START = datetime(2022, 8, 13, tzinfo=UTC)  # event time of a generated (not live) stream


@dataclass(frozen=True)
class Sizes:
    users: int
    vip_users: int
    products: int
    orders: int
    pageviews: int

    def with_count(self, source: str, count: int | None) -> Sizes:
        if count is None:
            return self
        if count < 0:
            raise PlaygroundError(f"the count of {source} must be >= 0, got {count}")
        field = {"users": "users", "vip_users": "vip_users", "products": "products", "orders": "orders",
                 "pageviews": "pageviews"}.get(source)
        if field is None:
            raise PlaygroundError(f"--count applies to one source; got source {source!r}")
        return replace(self, **{field: count})


SCALES: dict[str, Sizes] = {
    "small": Sizes(users=10_000, vip_users=100, products=1_000, orders=100_000, pageviews=100_000),
    "medium": Sizes(users=1_000_000, vip_users=10_000, products=10_000, orders=10_000_000, pageviews=1_000_000),
    "large": Sizes(users=10_000_000, vip_users=100_000, products=100_000, orders=100_000_000,
                   pageviews=10_000_000),
}


def sizes_for(scale: str) -> Sizes:
    try:
        return SCALES[scale]
    except KeyError:
        raise PlaygroundError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}") from None
