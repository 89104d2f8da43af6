"""The local streaming engine: every scenario of scenarios.py over micro-batches of the event bus.

A run reads each partition from its committed sequence number to the end it sees when it
starts, places every event in time (clock.py: per-partition clocks, as Stream Analytics keeps
them), computes every output for those events (outputs.py) with the state the scenarios keep (open
windows, each user's current ISFIRST interval; the join reads the pageviews and stars kept), writes
the outputs' Parquet parts, then commits outputs, state and offsets in one DuckDB transaction. A
run killed at any point leaves the last commit; the re-run recomputes the same batch number and
overwrites its parts.

A window (start, end] is emitted when end < watermark, an ISFIRST candidate when its time <
watermark, a correlation pair when its second event arrives. No later event can
be earlier than the watermark, so batch boundaries change when a row appears, never which rows.
"""

from __future__ import annotations

import re
import time as time_module
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa
from playground.catalog import EVENT_SOURCES, FILE_SOURCES, TOPIC_TYPES, USERS_FILE, VIP_FILE
from playground.errors import PlaygroundError
from playground.io.bus import BusReader
from playground.io.bus.embedded import EMPTY_EVENTS
from playground.io.lake import Lake

from dagster_project.bronze.decode import create_decoded
from dagster_project.bronze.lines import Lines, file_pieces
from dagster_project.bronze.store import one_row, transaction
from dagster_project.publish import write_parquet
from dagster_project.streaming.clock import STATE as CLOCK_STATE
from dagster_project.streaming.clock import (
    TOPICS,
    TimePolicy,
    advance,
    as_datetime,
    load_clock,
    place_in_time,
    with_arrivals,
)
from dagster_project.streaming.outputs import (
    FIRST_PENDING,
    PAGEVIEWS,
    REFERENCE_USERS,
    TABLE_QUERIES,
    VIEWS,
    stateful_outputs,
)
from dagster_project.streaming.parts import part_name, parts_written
from dagster_project.streaming.scenarios import ENRICHING_USER_FIELDS, OUTPUT_NAMES, OUTPUTS

CHECKPOINT_THRESHOLD = "256MB"
BATCH_EVENTS = 200_000  # a batch's most events: a backlog is taken in steps of this
PART_EVERY_S = 10.0  # a long-running consumer writes the lake's parts this often
USER_COLUMNS = {"id": "BIGINT", **{name: "VARCHAR" for name in ENRICHING_USER_FIELDS}}
REFERENCE_CHUNK_BYTES = 32 << 20  # a reference file is read this much at a time, as bronze reads a file
# Time fields of the events (the catalog's): one that is no ISO-8601 time is quarantined, as bronze does.
EVENT_TIMES = tuple(dict.fromkeys(name for source in EVENT_SOURCES.values() for name in source.times))


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
    batches: int = 1  # batches summed in this result (a consumer reports several as one)

    def plus(self, later: BatchResult) -> BatchResult:
        """This batch and the later one as one: counts summed, positions (offsets, watermark, totals) the later's."""
        def summed(a: dict, b: dict) -> dict:
            return {key: a.get(key, 0) + b.get(key, 0) for key in {*a, *b}}

        return BatchResult(
            later.batch, self.offsets_from, later.offsets_to, self.events + later.events,
            self.quarantined + later.quarantined, self.early + later.early, self.late + later.late,
            self.out_of_order + later.out_of_order, self.adjusted + later.adjusted, self.dropped + later.dropped,
            later.watermark or self.watermark, summed(self.rows, later.rows), later.totals,
            summed(self.seconds, later.seconds), self.batches + later.batches)


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
CREATE TABLE IF NOT EXISTS streaming._first_emitted (user_id BIGINT, interval_end BIGINT);
CREATE TABLE IF NOT EXISTS streaming._reference (name VARCHAR, stamp VARCHAR);
CREATE TABLE IF NOT EXISTS streaming._ref_vip (id BIGINT);
CREATE TABLE IF NOT EXISTS streaming._ref_users ({users});
CREATE TABLE IF NOT EXISTS streaming._parts (through_batch BIGINT, written_at DOUBLE);
CREATE TABLE IF NOT EXISTS streaming._totals (output VARCHAR, total BIGINT);
CREATE TABLE IF NOT EXISTS streaming._version (version INTEGER);
""".format(users=", ".join(f"{c} {t}" for c, t in USER_COLUMNS.items())) + CLOCK_STATE
# Every table the engine keeps: when all are there, a batch runs no DDL on them (a statement costs ~1 ms; the
# users' temp copy is one `IF NOT EXISTS`, 0.3 ms, once it is made).
STATE_TABLES = (*re.findall(r"streaming\.(\w+) \(", STATE), FIRST_PENDING, *TABLE_QUERIES)

# The layout of the state above, stamped in streaming._version: a file kept by another layout (or by an engine
# from before the stamp) means other things by its tables, and this engine cannot go on from it.
STATE_VERSION = 1
# The layout of a file kept before the stamp came, when it holds every table of that layout: the stamp came
# with no change of layout, so such a file goes on (and is stamped); one missing a table is an older engine's.
UNSTAMPED_LAYOUT = 1


def state_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every table of the engine is there, stamped with this layout (then the batch runs no DDL)."""
    # An event_time without a zone is UTC, as in Stream Analytics. DuckDB checkpoints a file whenever its
    # log passes 16 MB, 0.2-0.9 s within a commit every few micro-batches: the consumer checkpoints while idle.
    con.execute(f"SET TimeZone = 'UTC'; SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    kept = one_row(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'streaming' "
        "AND list_contains(?, table_name)", [list(STATE_TABLES)]))[0]
    if kept != len(STATE_TABLES):
        return False
    # Every table is there, the stamp's among them: one more statement a batch, not state_version's listing.
    return one_row(con.execute("SELECT max(version) FROM streaming._version"))[0] == STATE_VERSION


def state_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The layout the file's state was kept in: its stamp; for a file from before the stamp, UNSTAMPED_LAYOUT
    when it holds every table of it, else 0 (an older engine's); None for a new file."""
    tables = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'streaming'").fetchall()}
    if "_version" in tables and (stamp := one_row(con.execute("SELECT max(version) FROM streaming._version"))[0]):
        return stamp
    if not tables - {"_version"}:
        return None
    return UNSTAMPED_LAYOUT if set(STATE_TABLES) - {"_version"} <= tables else 0


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    if con.execute("SELECT current_database()").fetchall()[0][0] == "streaming":
        raise PlaygroundError("the streaming database file must not be named streaming.duckdb: DuckDB could not "
                              "tell its schema `streaming` from the file's catalog. Choose another "
                              "PLAYGROUND_STREAMING (default data/streams.duckdb)")
    found = state_version(con)
    if found not in (None, STATE_VERSION):
        path = one_row(con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"))[0]
        kept_by = f"layout {found}" if found else "an engine from before the layout was stamped"
        raise PlaygroundError(f"the streaming state in {path or 'memory'} was kept by {kept_by}; this engine keeps "
                              f"layout {STATE_VERSION}: delete it (PLAYGROUND_STREAMING) and the lake's "
                              "*/streaming/ folders to start over from the beginning of the bus")
    con.execute(STATE)
    if not one_row(con.execute("SELECT count(*) FROM streaming._version"))[0]:  # a new file, or one from before
        con.execute("INSERT INTO streaming._version VALUES (?)", [STATE_VERSION])


def committed_offsets(con: duckdb.DuckDBPyConnection) -> dict[str, dict[int, int]]:
    offsets: dict[str, dict[int, int]] = {t: {} for t in TOPICS}
    for topic, partition, sequence in con.execute("SELECT topic, partition, next_sequence FROM streaming._offsets"
                                                  ).fetchall():
        offsets[topic][partition] = sequence
    return offsets


def read_new_events(log: BusReader, start: dict[str, dict[int, int]], max_events: int | None = None
                    ) -> tuple[pa.Table, dict[str, dict[int, int]]]:
    """Every event from the committed offsets to the end the log has now, and where it stopped. With
    `max_events`, at most an equal share a partition, cut at one time: the events of every partition up to
    the earliest time a partition was cut at (the running maximum of its enqueued times, its arrival). A
    partition read further in time than another would raise the floor under the other's next events
    (clock.py), so the batches of a backlog give the arrivals one batch would."""
    log_end = end = {topic: log.end_sequences(topic) for topic in TOPICS}
    if max_events:
        share = max(1, max_events // max(1, sum(len(e) for e in end.values())))
        end = {t: {p: min(stop, start[t].get(p, 0) + share) for p, stop in e.items()} for t, e in end.items()}
    pieces = {(topic, p): log.read_table(topic, p, start[topic].get(p, 0), stop)
              for topic in TOPICS for p, stop in sorted(end[topic].items()) if stop > start[topic].get(p, 0)}
    if max_events:
        pieces = _cut_at_one_time(pieces, log_end, end)
    table = (pa.concat_tables(pieces.values()).combine_chunks() if pieces  # DuckDB scans one chunk fastest
             else EMPTY_EVENTS)
    return table.rename_columns([("byte_offset" if c == "offset" else c) for c in table.column_names]), end


def _cut_at_one_time(pieces: dict[tuple[str, int], pa.Table], log_end: dict[str, dict[int, int]],
                     end: dict[str, dict[int, int]]) -> dict[tuple[str, int], pa.Table]:
    """`pieces` (a partition's events each, in sequence order, read up to `end`) up to the earliest arrival
    at which a partition was cut short of the log's end; `end` moved back to the first event left out."""
    arrivals = {key: np.maximum.accumulate(piece["enqueued_ms"].to_numpy()) for key, piece in pieces.items()}
    cut_short = [arrivals[(t, p)][-1] for (t, p) in pieces if end[t][p] < log_end[t][p]]
    if not cut_short:
        return pieces
    cut = min(cut_short)
    kept = {}
    for (topic, partition), piece in pieces.items():
        taken = int(np.searchsorted(arrivals[(topic, partition)], cut, side="right"))
        if taken < piece.num_rows:
            end[topic][partition] = piece["sequence_number"][taken].as_py()
        if taken:
            kept[(topic, partition)] = piece.slice(0, taken)
    return kept


REFERENCES = (("vip_users", VIP_FILE, "_ref_vip", {"id": "BIGINT"}), ("users", USERS_FILE, "_ref_users", USER_COLUMNS))


def stage_reference(con: duckdb.DuckDBPyConnection, lake: Lake) -> dict[str, str]:
    """The VIP list and users as of now, reloaded only when their landing file changed (ASA's reference data is
    a blob it re-reads when it changes), into a staging table each: {name: the file's stamp} of those staged.
    Each line is read as bronze reads it (bronze/lines.py: the same maximum length, the same decoding): a line
    bronze quarantines is not part of the reference.
    Outside the batch's transaction, a piece of the file a commit: DuckDB holds what a transaction appends
    in memory past its memory limit (10M users in one: 7.8 GB; a commit each: 0.8 GB)."""
    staged = {}
    for name, relative, table, columns in REFERENCES:
        folder, file = relative.rsplit("/", 1)
        stamp = lake.stamps(folder).get(file)
        known = con.execute("SELECT stamp FROM streaming._reference WHERE name = ?", [name]).fetchone()
        if stamp is None or (known and known[0] == stamp):
            continue
        con.execute(f"CREATE OR REPLACE TABLE streaming._staged_{name} AS SELECT {', '.join(columns)}, "
                    f"0::BIGINT AS line FROM streaming.{table} LIMIT 0")
        source = FILE_SOURCES[name]
        for piece in file_pieces(relative, 0, lake.read_chunks(relative, REFERENCE_CHUNK_BYTES)):
            con.register("reference_lines", Lines([piece]).numbered())
            create_decoded(con, "reference_lines", {name: source.types}, source.key)  # clean lines parsed once
            con.unregister("reference_lines")
            con.execute(f"""INSERT INTO streaming._staged_{name} SELECT {", ".join(columns)}, line
                FROM decoded WHERE reason IS NULL AND oversize IS NULL""")
        staged[name] = stamp
    return staged


def swap_reference(con: duckdb.DuckDBPyConnection, staged: dict[str, str]) -> None:
    """The staged reference tables in place of the old, in the batch's transaction; the first line of an id
    wins, as in silver: by a join, not a window (a window holds every row in memory at once)."""
    for name, _, table, columns in REFERENCES:
        if name not in staged:
            continue
        con.execute(f"DELETE FROM streaming.{table}")
        con.execute(f"""INSERT INTO streaming.{table} SELECT {", ".join(columns)} FROM streaming._staged_{name}
            SEMI JOIN (SELECT min(line) AS line FROM streaming._staged_{name} GROUP BY id) USING (line)""")
        con.execute(f"DROP TABLE streaming._staged_{name}")
        con.execute("DELETE FROM streaming._reference WHERE name = ?", [name])
        con.execute("INSERT INTO streaming._reference VALUES (?, ?)", [name, staged[name]])


def process_batch(con: duckdb.DuckDBPyConnection, log: BusReader, lake: Lake, time: TimePolicy,
                  processed_at: datetime | None = None, part_every_s: float = 0.0,
                  max_events: int | None = None) -> BatchResult:
    """One micro-batch: everything new on the bus (or up to `max_events`) through every scenario,
    committed whole.
    The outputs' rows go to the lake's parts at once, or (`part_every_s`) once that long has passed
    since the last parts were written, as Stream Analytics batches what it writes to blobs."""
    watch = Stopwatch()
    ready = state_ready(con)
    if not ready:
        ensure_state(con)
    clock = load_clock(con, time)
    start = committed_offsets(con)
    incoming, end = read_new_events(log, start, max_events)
    watch.lap("read")
    processed_at = processed_at or datetime.now(UTC).replace(tzinfo=None)
    if incoming.num_rows == 0:  # nothing new: no batch; parts still due are written
        if ready and _parts_due(con, clock.batch, part_every_s):
            flush_parts(con, lake, processed_at)
        return BatchResult(clock.batch, start, start, 0, 0, 0, 0, 0, 0, 0, None, dict.fromkeys(OUTPUT_NAMES, 0),
                           output_totals(con) if ready else dict.fromkeys(OUTPUT_NAMES, 0), watch.seconds)
    batch = clock.batch + 1
    required = ("event_id", "user_id", "event_time") if time.mode == "event" else ("event_id", "user_id")

    staged = stage_reference(con, lake)
    watch.lap("reference")
    incoming = with_arrivals(con, incoming, clock, time)
    con.register("incoming", incoming)  # before other statements: DuckDB refuses it beside an unread result
    with transaction(con):  # outputs, state and offsets
        create_decoded(con, "incoming", TOPIC_TYPES, required, kind_column="topic", base64=True, times=EVENT_TIMES)
        con.unregister("incoming")
        watch.lap("decode")
        swap_reference(con, staged)
        con.execute(f"CREATE {'OR REPLACE TEMP TABLE' if 'users' in staged else 'TEMP TABLE IF NOT EXISTS'} "
                    f"{REFERENCE_USERS} AS SELECT * FROM streaming._ref_users")  # once a connection, or new
        watch.lap("reference")
        place_in_time(con, time)
        clock, watermark = advance(con, time, clock, {t: sorted(end[t]) for t in TOPICS})
        watch.lap("time")
        if not ready:  # the correlation reads the pageviews and stars kept
            create_outputs(con, (PAGEVIEWS, "raw_stars"))
        stateful_outputs(con, watermark, watch.lap, ready)
        if not ready:
            create_outputs(con, TABLE_QUERIES)
        # Stamped as the outputs are written: the rows become visible at the commit, a moment later.
        written = {}
        for table, query in TABLE_QUERIES.items():
            written[table] = one_row(con.execute(f"INSERT INTO streaming.{table} SELECT *, ?::TIMESTAMP, {batch} "
                                                 f"FROM ({query})", [processed_at]))[0]
            watch.lap(table)
        rows = output_rows(con, batch, written)
        watch.lap("views")
        quarantined = one_row(con.execute(f"""INSERT INTO streaming._quarantine
            SELECT topic, partition, sequence_number, reason, body, {batch} FROM decoded WHERE reason IS NOT NULL
            """))[0]
        early, late, out_of_order, beyond = one_row(con.execute("""
            SELECT count(*) FILTER (early), count(*) FILTER (late), count(*) FILTER (out_of_order),
                   count(*) FILTER (early OR late OR out_of_order) FROM timed"""))
        adjusted, dropped = (beyond, 0) if time.policy == "adjust" else (0, beyond)
        con.execute("DELETE FROM streaming._time")
        con.execute("INSERT INTO streaming._time VALUES (?, ?, ?)", [clock.batch, clock.newest_arrival, time.label])
        offsets = [(t, p, n) for t in TOPICS for p, n in {**start[t], **end[t]}.items()]
        con.execute("DELETE FROM streaming._offsets")
        con.execute("INSERT INTO streaming._offsets VALUES " + ", ".join(["(?, ?, ?)"] * len(offsets)),
                    [value for row in offsets for value in row])
        totals = add_to_totals(con, rows)
        watch.lap("bookkeeping")
        if _parts_due(con, batch, part_every_s):
            write_parts(con, lake, batch, processed_at, watch)
    watch.lap("commit")
    return BatchResult(batch, start, {t: {**start[t], **end[t]} for t in TOPICS}, incoming.num_rows, quarantined,
                       early, late, out_of_order, adjusted, dropped, as_datetime(watermark), rows, totals,
                       watch.seconds)


def process_backlog(con: duckdb.DuckDBPyConnection, log: BusReader, lake: Lake, time: TimePolicy,
                    max_events: int = BATCH_EVENTS) -> BatchResult:
    """What the bus holds now, in batches of at most `max_events` each committed, reported as one: memory
    stays that of one batch however long the backlog (1M events in one batch took 2.5 GiB)."""
    end = {topic: log.end_sequences(topic) for topic in TOPICS}
    result = process_batch(con, log, lake, time, max_events=max_events)
    while result.events and any(result.offsets_to[t].get(p, 0) < stop for t, ends in end.items()
                                for p, stop in ends.items()):
        result = result.plus(process_batch(con, log, lake, time, max_events=max_events))
    return result


def create_outputs(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> None:
    """Each of `tables` (its columns are its query's), the views over them, and every output's total."""
    for table in tables:
        query = TABLE_QUERIES[table]
        con.execute(f"CREATE TABLE IF NOT EXISTS streaming.{table} AS SELECT *, NULL::TIMESTAMP AS "
                    f"processed_time, 0::BIGINT AS _batch FROM ({query}) WHERE false")
    for view, (table, columns, condition) in VIEWS.items():
        con.execute(f"CREATE VIEW IF NOT EXISTS streaming.{view} AS SELECT {columns}, processed_time, _batch "
                    f"FROM streaming.{table} WHERE {condition}")
    if not one_row(con.execute("SELECT count(*) FROM streaming._totals"))[0]:
        con.executemany("INSERT INTO streaming._totals VALUES (?, 0)", [[name] for name in OUTPUT_NAMES])


def output_rows(con: duckdb.DuckDBPyConnection, batch: int, written: dict[str, int]) -> dict[str, int]:
    """Each output's rows of `batch`, from the rows written to each table; the views over the pageviews
    counted in one pass over the batch's (the table's last rows)."""
    over_pageviews = [view for view, (table, _, _) in VIEWS.items() if table == PAGEVIEWS]
    counts = one_row(con.execute("SELECT " + ", ".join(f"count(*) FILTER ({VIEWS[view][2]})" for view in over_pageviews)
                                 + f" FROM streaming.{PAGEVIEWS} WHERE _batch = {batch}"))
    rows = written | dict(zip(over_pageviews, counts, strict=True))
    return {name: rows[name] if name in rows else rows[VIEWS[name][0]] for name in OUTPUT_NAMES}  # else: parsed_stars


def add_to_totals(con: duckdb.DuckDBPyConnection, rows: dict[str, int]) -> dict[str, int]:
    """Every output's rows in all, after adding this batch's (a view's rows are counted as they are written:
    counting a view over the pageviews would read them all)."""
    added = [(name, rows[name]) for name in OUTPUT_NAMES]
    return dict(con.execute(
        "UPDATE streaming._totals SET total = total + added.n FROM (VALUES " + ", ".join(["(?, ?)"] * len(added))
        + ") AS added(output, n) WHERE _totals.output = added.output RETURNING _totals.output, _totals.total",
        [value for pair in added for value in pair]).fetchall())


def output_totals(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every output in all."""
    return dict(con.execute("SELECT output, total FROM streaming._totals").fetchall())


def _parts_due(con: duckdb.DuckDBPyConnection, batch: int, every_s: float) -> bool:
    through, written_at = parts_written(con)
    if through >= batch:
        return False
    return every_s <= 0 or written_at is None or time_module.time() - written_at >= every_s


def flush_parts(con: duckdb.DuckDBPyConnection, lake: Lake, processed_at: datetime | None = None) -> None:
    """The committed rows not in the lake's parts yet, written now."""
    batch = one_row(con.execute("SELECT coalesce(max(batch), 0) FROM streaming._time"))[0]
    if parts_written(con)[0] < batch:
        with transaction(con):
            write_parts(con, lake, batch, processed_at or datetime.now(UTC).replace(tzinfo=None))


def write_parts(con: duckdb.DuckDBPyConnection, lake: Lake, batch: int, processed_at: datetime,
                watch: Stopwatch | None = None) -> None:
    """Each output's rows of the batches since the last parts, through `batch`, as
    <lake>/<tier>/streaming/<output>/part-<first batch>.parquet, before the commit."""
    first = parts_written(con)[0] + 1
    for output in OUTPUTS:
        # Named by the part's first batch: parts a killed run wrote are written again (or removed) by the
        # next parts of the same batches, whatever batches they end with.
        relative = f"{output.lake_folder}/{part_name(first)}"
        where = f"_batch BETWEEN {first} AND {batch}"
        if not one_row(con.execute(f"SELECT count(*) FROM streaming.{output.name} WHERE {where}"))[0]:
            lake.remove(relative)
            continue
        write_parquet(con, f"SELECT * EXCLUDE (_batch) FROM streaming.{output.name} WHERE {where}", lake, relative)
        if watch:
            watch.lap(f"part {output.name}")
    con.execute("DELETE FROM streaming._parts")
    con.execute("INSERT INTO streaming._parts VALUES (?, ?)", [batch, processed_at.replace(tzinfo=UTC).timestamp()])
