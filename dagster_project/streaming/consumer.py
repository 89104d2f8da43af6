"""A long-running streaming consumer: micro-batches one after another in one process, so an event
reaches its outputs within a poll interval and its batch (a Dagster run per batch pays ~7 s of
start-up first). The consumer job (assets.py) runs it and reports each batch to Dagster; a sensor
keeps that job running.

Each batch is the engine's (engine.py): committed whole with its offsets, so a consumer killed at any
point and started again gives what an uninterrupted one would. The lake's parts are written every
`part_every_s` (each batch would make a file per output per second) and merged hourly (parts.py), and
DuckDB checkpoints its file while the consumer has nothing to do, not inside a batch's commit.
"""

from __future__ import annotations

import os
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import duckdb
from playground.io.bus import BusReader
from playground.io.lake import Lake

from dagster_project.streaming.clock import TimePolicy
from dagster_project.streaming.engine import BATCH_EVENTS, PART_EVERY_S, BatchResult, flush_parts, process_batch
from dagster_project.streaming.parts import COMPACT_AFTER, compact_parts

IDLE_CHECKPOINT_BYTES = 16 << 20  # DuckDB's own threshold: at that size of log, checkpoint while idle


@dataclass(frozen=True)
class ConsumerSettings:
    poll_s: float = 0.5                  # the longest an event waits before its batch starts
    part_every_s: float = PART_EVERY_S   # how often the outputs' new rows go to the lake's parts
    max_events: int = BATCH_EVENTS
    compact_every_s: float = 60.0        # how often it looks whether an output's parts are due to be merged
    compact_after_s: float = COMPACT_AFTER.total_seconds()  # parts are merged once their oldest rows are this old


def consume(con: duckdb.DuckDBPyConnection, log: BusReader, lake: Lake, time: TimePolicy,
            report: Callable[[BatchResult], None], stopped: Callable[[float], bool],
            settings: ConsumerSettings = ConsumerSettings(),
            compacted: Callable[[dict[str, int]], None] = lambda merged: None) -> int:
    """Batches until `stopped(seconds)` (it waits up to that long) says so; each batch that took events is
    reported after its commit, each compaction that merged parts (parts merged per output) after it ran.
    Returns the number of batches."""
    wal = _wal_path(con)
    batches = 0
    next_compaction = time_module.monotonic()
    try:
        while True:
            began = time_module.monotonic()
            result = process_batch(con, log, lake, time, part_every_s=settings.part_every_s,
                                   max_events=settings.max_events)
            if result.events:
                batches += 1
                report(result)
            if time_module.monotonic() >= next_compaction:
                if merged := compact_parts(con, lake, after=timedelta(seconds=settings.compact_after_s)):
                    compacted(merged)
                next_compaction = time_module.monotonic() + settings.compact_every_s
            spare = settings.poll_s - (time_module.monotonic() - began)
            if spare > 0 and wal and os.path.exists(wal) and os.path.getsize(wal) > IDLE_CHECKPOINT_BYTES:
                con.execute("CHECKPOINT")
                spare = settings.poll_s - (time_module.monotonic() - began)
            if stopped(max(spare, 0.0)):
                return batches
    finally:  # stopped, or interrupted (the batch in flight rolled back): what is committed goes to the lake
        flush_parts(con, lake)


def _wal_path(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return f"{row[0]}.wal" if row and row[0] else None
