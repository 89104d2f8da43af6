"""Pageviews and stars from the event bus into bronze by committed offsets.

Each run reads every partition from its committed sequence number up to the end it sees when it
starts, parses the bodies, and appends rows, quarantined records and the new offsets in one
DuckDB transaction: a re-run after a crash starts from the offsets of the last commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from dagster_project.bronze.files import POLARS_TYPES, parse_record
from dagster_project.bronze.store import DUCKDB_TYPES, commit_batch, create_table
from generators.schema import PAGEVIEW_TYPES, PAGEVIEWS_TOPIC, STAR_TYPES, STARS_TOPIC
from generators.sinks.bus import BusReader

TOPIC_TYPES = {PAGEVIEWS_TOPIC: PAGEVIEW_TYPES, STARS_TOPIC: STAR_TYPES}
ENVELOPE_COLUMNS = {"_partition": "INTEGER", "_sequence_number": "BIGINT", "_offset": "BIGINT",
                    "_enqueued_time": "TIMESTAMP", "_ingested_at": "TIMESTAMP", "_batch_id": "VARCHAR"}
READ_BATCH = 50_000
READ_COLUMNS = ("sequence_number", "offset", "enqueued_ms", "body")


@dataclass(frozen=True)
class OffsetsResult:
    topic: str
    batch_id: str
    offsets_from: dict[int, int]
    offsets_to: dict[int, int]
    new_rows: int
    quarantined: int
    total_rows: int


def ensure_tables(con: duckdb.DuckDBPyConnection, topic: str) -> None:
    create_table(con, topic, {**{f: DUCKDB_TYPES[t] for f, t in TOPIC_TYPES[topic].items()}, **ENVELOPE_COLUMNS})
    con.execute("CREATE TABLE IF NOT EXISTS bronze._offsets (topic VARCHAR, partition INTEGER, "
                "next_sequence BIGINT, batch_id VARCHAR, ingested_at TIMESTAMP)")


def committed(con: duckdb.DuckDBPyConnection, topic: str) -> dict[int, int]:
    return dict(con.execute("SELECT partition, max(next_sequence) FROM bronze._offsets WHERE topic = ? "
                            "GROUP BY partition", [topic]).fetchall())


def ingest_events(con: duckdb.DuckDBPyConnection, log: BusReader, topic: str) -> OffsetsResult:
    ensure_tables(con, topic)
    types = TOPIC_TYPES[topic]
    start = committed(con, topic)
    end = log.end_sequences(topic)  # what exists now; later events are the next run's
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    good: list[dict] = []
    quarantine = []
    for partition, stop in sorted(end.items()):
        position = start.get(partition, 0)
        while position < stop:
            chunk = log.read_table(topic, partition, position, min(position + READ_BATCH, stop))
            for sequence, offset, enqueued, body in zip(*(chunk[c].to_pylist() for c in READ_COLUMNS), strict=True):
                parsed, reason = parse_record(body, types, "event_id")
                if parsed is None:
                    quarantine.append((topic, f"{topic}/{partition}", sequence, reason,
                                       body.decode("utf-8", "replace"), batch_id, now))
                else:
                    parsed.update(_partition=partition, _sequence_number=sequence, _offset=offset,
                                  _enqueued_time=enqueued)
                    good.append(parsed)
            position = min(position + READ_BATCH, stop)  # a Kafka range may hold fewer (compacted) records
    schema = {**{f: POLARS_TYPES[t] for f, t in types.items()}, "_partition": pl.Int32, "_sequence_number": pl.Int64,
              "_offset": pl.Int64, "_enqueued_time": pl.Int64}
    rows = pl.DataFrame(good, schema=schema, orient="row").with_columns(
        pl.from_epoch("_enqueued_time", "ms"), _ingested_at=pl.lit(now), _batch_id=pl.lit(batch_id))
    moved = [(topic, p, n, batch_id, now) for p, n in end.items() if n > start.get(p, 0)]
    commit_batch(con, {topic: rows, "_quarantine": quarantine, "_offsets": moved})
    total = con.execute(f"SELECT count(*) FROM bronze.{topic}").fetchone()[0]
    return OffsetsResult(topic, batch_id, start, {**start, **end}, rows.height, len(quarantine), total)
