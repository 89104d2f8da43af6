"""Deliberately dirty records for data-quality practice: off by default, always counted.

Which records are dirty, and how, is drawn from its own random stream, so a clean data set
is the same with or without dirt and the dirt is the same in any chunk size.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from playground.errors import PlaygroundError
from playground.generators.blocks import Draws, draw_range

MALFORMED, MISSING_FIELD, ORPHAN, DUPLICATE = "malformed", "missing_field", "orphan", "duplicate"
CLEAN = -1
# An orphan names one of the last thousand ids a 32-bit column holds: far outside any catalogue, so an id
# the trickle gives a new product (or user) later is never one the dirt already used.
ORPHAN_IDS = 2**31 - 1000


def orphan_id(position: np.ndarray | int) -> np.ndarray | int:
    return ORPHAN_IDS + position % 1000


def check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise PlaygroundError(f"--dirty-rate must be between 0 and 1, got {rate}")


def dirty_plan(seed: int, stream: str, start: int, stop: int, rate: float, kinds: Sequence[str]) -> np.ndarray:
    """Per record: index into `kinds` of its dirt, or CLEAN."""
    check_rate(rate)
    if rate == 0.0 or stop <= start:
        return np.full(stop - start, CLEAN, dtype=np.int8)

    def draw(rng: np.random.Generator, n: int) -> Draws:
        return {"u": rng.random(n), "kind": rng.integers(0, len(kinds), n, dtype=np.int8)}

    d = draw_range(draw, seed, f"{stream}/dirty", start, stop)
    return np.where(d["u"] < rate, d["kind"], CLEAN).astype(np.int8)


def spoil(record: dict, kind: str, position: int, orphan: Callable[[dict], None] | None,
          key: str = "id") -> list[str]:
    """The line(s) a dirty record is written as; a missing field is never the record's key."""
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if kind == MALFORMED:
        return [line[: len(line) // 2]]  # a strict prefix of a JSON object never parses
    if kind == MISSING_FIELD:
        droppable = [k for k in record if k != key] or list(record)
        del record[droppable[position % len(droppable)]]
        return [json.dumps(record, ensure_ascii=False, separators=(",", ":"))]
    if kind == ORPHAN:
        assert orphan is not None, "orphan dirt needs a source-specific orphan rule"
        orphan(record)
        return [json.dumps(record, ensure_ascii=False, separators=(",", ":"))]
    if kind == DUPLICATE:
        return [line, line]
    raise ValueError(kind)


def render_json_lines(frame: pl.DataFrame, plan: np.ndarray, kinds: Sequence[str], start: int,
                      orphan: Callable[[dict], None] | None = None) -> tuple[bytes, Counter]:
    """JSON lines for `frame` (records start..), with the planned dirt applied; and the dirt's counts."""
    buffer = io.BytesIO()
    frame.write_ndjson(buffer)
    text = buffer.getvalue()
    counts: Counter = Counter()
    dirty_rows = np.flatnonzero(plan != CLEAN)
    if len(dirty_rows) == 0:
        return text, counts
    lines = text.split(b"\n")[:-1]
    out: list[bytes] = []
    prev = 0
    records = frame[dirty_rows].to_dicts()
    for row, record in zip(dirty_rows.tolist(), records, strict=True):
        kind = kinds[plan[row]]
        out.extend(lines[prev:row])
        out.extend(line.encode() for line in spoil(record, kind, start + row, orphan))
        counts[kind] += 1
        prev = row + 1
    out.extend(lines[prev:])
    return b"\n".join(out) + b"\n", counts
