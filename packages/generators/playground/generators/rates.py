"""The rates and durations the generators take, bounded: each finite, above zero (a trickle's rates may be
zero: nothing of that kind), and below what a machine serves with bounded memory. Beyond these the
original loops grew without end (a negative rate), never ended (`--duration nan`), or held gigabytes and
ignored Ctrl-C for minutes (`--rate 1e12`)."""

from __future__ import annotations

import math

from playground.errors import PlaygroundError

# Events a second: 2.5 times the streaming goal (20,000/s, issue 40). Sessions last minutes, so the events
# waiting for their time grow with the rate: a stream's peak is 0.85 GB at 20,000/s, 1.2 GB at 50,000/s and
# 1.6 GB at 100,000/s (docs/BENCHMARKS.md), and the embedded log takes 35,000-45,000 a second here.
MAX_EVENTS_PER_S = 50_000
MAX_PRODUCTS_PER_S = 100  # a file each
MAX_ORDERS_PER_S = 100_000
MAX_DURATION_S = 366 * 86_400


def check_bounded(option: str, value: float | None, high: float, zero: bool = False) -> None:
    """`value` (None: the option's default) is finite, above zero (or zero, when `zero`) and at most `high`."""
    if value is None:
        return
    low_ok = value >= 0 if zero else value > 0
    if not (math.isfinite(value) and low_ok and value <= high):
        raise PlaygroundError(f"{option} must be a number {'from 0' if zero else 'above 0'} up to {high:,g}, "
                              f"got {value}")
