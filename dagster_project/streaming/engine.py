"""The local streaming engine: every scenario of scenarios.py over micro-batches of the event bus.

A run reads each partition from its committed sequence number to the end it sees when it
starts, places every event in time (clock.py: per-partition clocks, as Stream Analytics keeps
them), computes every output for those events (outputs.py) with the state the scenarios keep (open
windows, the last 15 minutes of both streams for the join, each user's current ISFIRST interval), writes
the outputs' Parquet parts, then commits outputs, state and offsets in one DuckDB transaction. A
run killed at any point leaves the last commit; the re-run recomputes the same batch number and
overwrites its parts.

A window (start, end] is emitted when end < watermark, an ISFIRST candidate when its time <
watermark; join state older than the watermark minus 15 minutes is dropped. No later event can
be earlier than the watermark, so batch boundaries change when a row appears, never which rows.
"""

from __future__ import annotations

import os
import tempfile
import time as time_module
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from dagster_project.bronze.decode import create_decoded
from dagster_project.bronze.store import transaction
from dagster_project.publish import write_parquet
from dagster_project.streaming.clock import (
    TOPICS,
    TimePolicy,
    advance,
    as_datetime,
    load_clock,
    place_in_time,
    with_arrivals,
)
from dagster_project.streaming.outputs import KAFKA_COLUMNS, KAFKA_VIEWS, OUTPUT_QUERIES, stateful_outputs
from dagster_project.streaming.scenarios import ENRICHING_USER_FIELDS, OUTPUT_NAMES, OUTPUTS
from generators.errors import PlaygroundError
from generators.schema import PAGEVIEWS_TOPIC, STARS_TOPIC, TOPIC_TYPES, USERS_FILE, VIP_FILE
from generators.sinks.bus import BusReader
from generators.sinks.bus.embedded import EMPTY_EVENTS
from generators.sinks.lake import Lake

USER_COLUMNS = {"id": "BIGINT", **{name: "VARCHAR" for name in ENRICHING_USER_FIELDS}}


@dataclass
class BatchResult:
    batch: int
    offsets_from: dict[str, dict[int, int]]
    offsets_to: dict[str, dict[int, int]]
    events: int
    quarantined: int
    early: int
    late: int
    out_of_order: int
    adjusted: int
    dropped: int
    watermark: datetime | None
    rows: dict[str, int] = field(default_factory=dict)   # output -> rows this batch
    totals: dict[str, int] = field(default_factory=dict)  # output -> rows in all
    seconds: dict[str, float] = field(default_factory=dict)  # stage (or output) -> time taken


class Stopwatch:
    """Seconds per stage of a batch: what the benchmark divides events by, and run metadata."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time_module.perf_counter()

    def lap(self, stage: str) -> None:
        now = time_module.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now


STATE = """
CREATE SCHEMA IF NOT EXISTS streaming;
CREATE TABLE IF NOT EXISTS streaming._offsets (topic VARCHAR, partition INTEGER, next_sequence BIGINT);
CREATE TABLE IF NOT EXISTS streaming._quarantine (topic VARCHAR, partition INTEGER, sequence_number BIGINT,
    reason VARCHAR, raw BLOB, _batch BIGINT);
CREATE TABLE IF NOT EXISTS streaming._windows (window_end BIGINT, http_method VARCHAR, pageviews BIGINT);
CREATE TABLE IF NOT EXISTS streaming._join_pageviews (user_id BIGINT, event_id VARCHAR, t BIGINT,
    http_method VARCHAR, uri VARCHAR);
CREATE TABLE IF NOT EXISTS streaming._join_stars (user_id BIGINT, event_id VARCHAR, t BIGINT, stars BIGINT);
CREATE TABLE IF NOT EXISTS streaming._first_emitted (user_id BIGINT, interval_end BIGINT);
CREATE TABLE IF NOT EXISTS streaming._reference (name VARCHAR, stamp VARCHAR);
CREATE TABLE IF NOT EXISTS streaming._ref_vip (id BIGINT);
CREATE TABLE IF NOT EXISTS streaming._ref_users ({users});
""".format(users=", ".join(f"{c} {t}" for c, t in USER_COLUMNS.items()))

def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    if con.execute("SELECT current_database()").fetchall()[0][0] == "streaming":
        raise PlaygroundError("the streaming database file must not be named streaming.duckdb: DuckDB could not "
                              "tell its schema `streaming` from the file's catalog. Choose another "
                              "PLAYGROUND_STREAMING (default data/streams.duckdb)")
    if _exists(con, "_clock"):
        raise PlaygroundError("the streaming state was built by an earlier engine (one clock for every partition, "
                              "in milliseconds): delete the streaming database (PLAYGROUND_STREAMING) to start over "
                              "from the beginning of the bus")
    con.execute("SET TimeZone = 'UTC'")  # an event_time without a zone is UTC, as in Stream Analytics
    con.execute(STATE)


def committed_offsets(con: duckdb.DuckDBPyConnection) -> dict[str, dict[int, int]]:
    offsets: dict[str, dict[int, int]] = {t: {} for t in TOPICS}
    for topic, partition, sequence in con.execute("SELECT topic, partition, next_sequence FROM streaming._offsets"
                                                  ).fetchall():
        offsets[topic][partition] = sequence
    return offsets


def read_new_events(log: BusReader, start: dict[str, dict[int, int]]
                    ) -> tuple[pa.Table, dict[str, dict[int, int]]]:
    """Every event from the committed offsets to the end the log has now, and that end."""
    end = {topic: log.end_sequences(topic) for topic in TOPICS}
    pieces = [log.read_table(topic, p, start[topic].get(p, 0), stop)
              for topic in TOPICS for p, stop in sorted(end[topic].items()) if stop > start[topic].get(p, 0)]
    table = pa.concat_tables(pieces) if pieces else EMPTY_EVENTS
    return table.rename_columns([("byte_offset" if c == "offset" else c) for c in table.column_names]), end


def refresh_reference(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """The VIP list and users as of now, reloaded only when their landing file changed (ASA's
    reference data is a blob it re-reads when it changes)."""
    for name, relative, table, columns in (("vip_users", VIP_FILE, "_ref_vip", {"id": "BIGINT"}),
                                          ("users", USERS_FILE, "_ref_users", USER_COLUMNS)):
        folder, file = relative.rsplit("/", 1)
        stamp = lake.stamps(folder).get(file)
        known = con.execute("SELECT stamp FROM streaming._reference WHERE name = ?", [name]).fetchone()
        if stamp is None or (known and known[0] == stamp):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            path = lake.path(relative)
            if not lake.local:
                path = os.path.join(tmp, file)
                with open(path, "wb") as handle:
                    handle.write(lake.read_bytes(relative))
            spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
            con.execute(f"DELETE FROM streaming.{table}")
            # Bad lines are bronze's business (it quarantines them); a reference keeps the good ones.
            con.execute(f"""INSERT INTO streaming.{table} SELECT {", ".join(columns)} FROM read_json(?,
                format = 'newline_delimited', columns = {spec}, ignore_errors = true) WHERE id IS NOT NULL
                QUALIFY row_number() OVER (PARTITION BY id) = 1""", [path])
        con.execute("DELETE FROM streaming._reference WHERE name = ?", [name])
        con.execute("INSERT INTO streaming._reference VALUES (?, ?)", [name, stamp])


def process_batch(con: duckdb.DuckDBPyConnection, log: BusReader, lake: Lake, time: TimePolicy,
                  processed_at: datetime | None = None) -> BatchResult:
    """One micro-batch: everything new on the bus through every scenario, committed whole."""
    watch = Stopwatch()
    ensure_state(con)
    clock = load_clock(con, time)
    start = committed_offsets(con)
    incoming, end = read_new_events(log, start)
    watch.lap("read")
    if incoming.num_rows == 0:  # nothing new: no batch, nothing to commit
        return BatchResult(clock.batch, start, start, 0, 0, 0, 0, 0, 0, 0, None, dict.fromkeys(OUTPUT_NAMES, 0),
                           {o: con.execute(f"SELECT count(*) FROM streaming.{o}").fetchall()[0][0]
                            if _exists(con, o) else 0 for o in OUTPUT_NAMES}, watch.seconds)
    batch = clock.batch + 1
    required = ("event_id", "user_id", "event_time") if time.mode == "event" else ("event_id", "user_id")

    incoming = with_arrivals(con, incoming, clock, time)
    con.register("incoming", incoming)  # before other statements: DuckDB refuses it beside an unread result
    with transaction(con):  # outputs, state and offsets
        create_decoded(con, "incoming", TOPIC_TYPES, required, kind_column="topic", base64=True)
        con.unregister("incoming")
        watch.lap("decode")
        refresh_reference(con, lake)
        watch.lap("reference")
        place_in_time(con, time)
        clock, watermark = advance(con, time, clock, {t: sorted(end[t]) for t in TOPICS})
        watch.lap("time")
        stateful_outputs(con, watermark, watch.lap)
        # Stamped as the outputs are written: the rows become visible at the commit, a moment later.
        processed_at = processed_at or datetime.now(UTC).replace(tzinfo=None)
        rows = {}
        for output, query in OUTPUT_QUERIES.items():
            con.execute(f"CREATE TABLE IF NOT EXISTS streaming.{output} AS SELECT *, NULL::TIMESTAMP AS "
                        f"processed_time, 0::BIGINT AS _batch FROM ({query}) WHERE false")
            rows[output] = con.execute(f"INSERT INTO streaming.{output} SELECT *, ?::TIMESTAMP, {batch} "
                                       f"FROM ({query})", [processed_at]).fetchone()[0]
            watch.lap(output)
        for view, (raw, columns) in KAFKA_VIEWS.items():
            topic = PAGEVIEWS_TOPIC if raw == "raw_pageviews" else STARS_TOPIC
            con.execute(f"CREATE VIEW IF NOT EXISTS streaming.{view} AS SELECT {KAFKA_COLUMNS.format(topic=topic)}, "
                        f"{columns}, processed_time, _batch FROM streaming.{raw}")
            rows[view] = rows[raw]
        quarantined = con.execute(f"""INSERT INTO streaming._quarantine
            SELECT topic, partition, sequence_number, reason, body, {batch} FROM decoded WHERE reason IS NOT NULL
            """).fetchone()[0]
        early, late, out_of_order, beyond = con.execute("""
            SELECT count(*) FILTER (early), count(*) FILTER (late), count(*) FILTER (out_of_order),
                   count(*) FILTER (early OR late OR out_of_order) FROM timed""").fetchone()
        adjusted, dropped = (beyond, 0) if time.policy == "adjust" else (0, beyond)
        con.execute("DELETE FROM streaming._time")
        con.execute("INSERT INTO streaming._time VALUES (?, ?, ?)", [clock.batch, clock.newest_arrival, time.label])
        con.execute("DELETE FROM streaming._offsets")
        con.executemany("INSERT INTO streaming._offsets VALUES (?, ?, ?)",
                        [(t, p, n) for t in TOPICS for p, n in {**start[t], **end[t]}.items()])
        totals = {o.name: con.execute(f"SELECT count(*) FROM streaming.{o.name}").fetchone()[0] for o in OUTPUTS}
        watch.lap("bookkeeping")
        write_parts(con, lake, batch, rows, watch)
    watch.lap("commit")
    return BatchResult(batch, start, {t: {**start[t], **end[t]} for t in TOPICS}, incoming.num_rows, quarantined,
                       early, late, out_of_order, adjusted, dropped, as_datetime(watermark), rows, totals,
                       watch.seconds)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'streaming' "
                            "AND table_name = ?", [table]).fetchall()[0][0])


def write_parts(con: duckdb.DuckDBPyConnection, lake: Lake, batch: int, rows: dict[str, int],
                watch: Stopwatch) -> None:
    """Each output's rows of this batch as <lake>/<tier>/streaming/<output>/part-<batch>.parquet, before
    the commit: a re-run of an uncommitted batch rewrites (or removes) the same parts."""
    for output in OUTPUTS:
        relative = f"{output.lake_folder}/part-{batch:08d}.parquet"
        if not rows[output.name]:
            lake.remove(relative)
            continue
        write_parquet(con, f"SELECT * EXCLUDE (_batch) FROM streaming.{output.name} WHERE _batch = {batch}", lake,
                      relative)
        watch.lap(f"part {output.name}")
