"""Pageviews and stars from the event bus into bronze by committed offsets.

Each run reads every partition from its committed sequence number up to the end it sees when it
starts, READ_BATCH events at a time: it decodes the bodies in SQL (bronze/decode.py) and appends
rows, quarantined records and the partition's new offset in one DuckDB transaction, so a re-run
after a crash starts from the offsets of the last commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from playground.catalog import EVENT_SOURCES, TOPIC_TYPES
from playground.io.bus import BusReader

from dagster_project.bronze.decode import create_decoded
from dagster_project.bronze.store import DUCKDB_TYPES, create_table, one_row, transaction

ENVELOPE_COLUMNS = {"_partition": "INTEGER", "_sequence_number": "BIGINT", "_offset": "BIGINT",
                    "_enqueued_time": "TIMESTAMP", "_ingested_at": "TIMESTAMP", "_batch_id": "VARCHAR"}
READ_BATCH = 200_000  # events decoded and inserted at a time


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


def _insert(con: duckdb.DuckDBPyConnection, topic: str, events: pa.Table, batch_id: str, now: datetime
            ) -> tuple[int, int]:
    """Decode and insert events: (rows, quarantined)."""
    types = TOPIC_TYPES[topic]
    con.register("events", events)
    create_decoded(con, "events", {topic: types}, ("event_id",), times=EVENT_SOURCES[topic].times)
    con.unregister("events")
    rows = one_row(con.execute(f"""INSERT INTO bronze.{topic} BY NAME
        SELECT {", ".join(types)}, partition AS _partition, sequence_number AS _sequence_number,
               "offset" AS _offset, make_timestamp(enqueued_ms * 1000) AS _enqueued_time,
               ?::TIMESTAMP AS _ingested_at, ? AS _batch_id
        FROM decoded WHERE reason IS NULL""", [now, batch_id]))[0]
    quarantined = one_row(con.execute("""INSERT INTO bronze._quarantine
        SELECT ?, topic || '/' || partition, sequence_number, reason, coalesce(raw_text, body::VARCHAR), ?,
               ?::TIMESTAMP
        FROM decoded WHERE reason IS NOT NULL""", [topic, batch_id, now]))[0]
    return rows, quarantined


def ingest_events(con: duckdb.DuckDBPyConnection, log: BusReader, topic: str) -> OffsetsResult:
    ensure_tables(con, topic)
    start = committed(con, topic)
    end = log.end_sequences(topic)  # what exists now; later events are the next run's
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    new_rows = quarantined = 0
    for partition, stop in sorted(end.items()):
        position = start.get(partition, 0)
        while position < stop:
            upto = min(position + READ_BATCH, stop)  # a Kafka range may hold fewer (compacted) records
            # Rows, quarantine and the partition's offset: all of them or none, a read batch at a time, so
            # memory stays bounded and a stopped run goes on from the last batch committed.
            with transaction(con):
                rows, bad = _insert(con, topic, log.read_table(topic, partition, position, upto), batch_id, now)
                con.execute("INSERT INTO bronze._offsets VALUES (?, ?, ?, ?, ?)",
                            [topic, partition, upto, batch_id, now])
            new_rows, quarantined, position = new_rows + rows, quarantined + bad, upto
    total = one_row(con.execute(f"SELECT count(*) FROM bronze.{topic}"))[0]
    return OffsetsResult(topic, batch_id, start, {**start, **end}, new_rows, quarantined, total)
