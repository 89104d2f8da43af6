"""Time in the streaming engine, as Stream Analytics keeps it: per input partition, in UTC, in microseconds.

- Each partition of the bus has its own arrival clock: the newest enqueued time read from it (a
  partition is ordered; the bus's clocks across partitions are not). A partition waits for the others
  at most the late-arrival tolerance, as ASA's merge of partitions does: an event enqueued more than
  that before the newest arrival already processed counts as arriving at newest - tolerance.
- Arrival mode: an event's time is its arrival. Event mode: its `event_time` (a time without a zone is
  UTC), then, against its own arrival, early (more than 5 minutes ahead: ASA's fixed early-arrival
  window) or late (more than `late_arrival_s` behind) and, against the latest time before it in its
  partition, out of order (more than `out_of_order_s` behind): each adjusted to the bound or dropped.
- The watermark is the earliest time a later event can still have: the minimum over every partition
  of both topics (ASA merges partitions by time and waits for the slowest) of that partition's bound,
  its arrival (minus the late tolerance in event mode) and its latest time minus the out-of-order
  tolerance, never below what the wait limit guarantees.

So an event's time depends on its partition's history alone, and which rows exist does not depend
on how the events were split into micro-batches, as long as no partition lags another by more than
the late-arrival tolerance. Times are microseconds since the epoch, DuckDB's TIMESTAMP precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from playground.catalog import PAGEVIEWS_TOPIC, STARS_TOPIC, TOPICS
from playground.errors import PlaygroundError

from dagster_project.streaming.scenarios import LATE_ARRIVAL_S, OUT_OF_ORDER_S

SECOND_US = 1_000_000
EARLY_ARRIVAL_S = 300  # ASA's early-arrival window: fixed, not a setting

STATE = """
CREATE TABLE IF NOT EXISTS streaming._time (batch BIGINT, newest_arrival BIGINT, time_policy VARCHAR);
CREATE TABLE IF NOT EXISTS streaming._partition_time (topic VARCHAR, partition INTEGER, arrival BIGINT,
    latest_time BIGINT);
"""


@dataclass(frozen=True)
class TimePolicy:
    mode: str = "arrival"          # "arrival" (enqueued time) or "event" (the event's event_time)
    late_arrival_s: int = LATE_ARRIVAL_S
    out_of_order_s: int = OUT_OF_ORDER_S
    policy: str = "adjust"         # "adjust" or "drop" events beyond a tolerance

    def __post_init__(self) -> None:
        if self.mode not in ("arrival", "event"):
            raise PlaygroundError(f"streaming time mode {self.mode!r}: use 'arrival' or 'event'")
        if self.policy not in ("adjust", "drop"):
            raise PlaygroundError(f"streaming out-of-order policy {self.policy!r}: use 'adjust' or 'drop'")
        if self.late_arrival_s < 0 or self.out_of_order_s < 0:
            raise PlaygroundError("streaming tolerances must be zero or more seconds")

    @property
    def label(self) -> str:
        if self.mode == "arrival":
            return f"arrival late={self.late_arrival_s}s"
        return f"event late={self.late_arrival_s}s out_of_order={self.out_of_order_s}s policy={self.policy}"

    @property
    def late_us(self) -> int:
        return self.late_arrival_s * SECOND_US

    @property
    def lag_us(self) -> int:
        """How far before its arrival an accepted event's time can be."""
        return self.late_us if self.mode == "event" else 0


@dataclass(frozen=True)
class Clock:
    """The job's time after a batch; each partition's own is in streaming._partition_time."""
    batch: int = 0
    newest_arrival: int | None = None  # the newest arrival of every partition

    def floor(self, time: TimePolicy) -> int | None:
        """The earliest arrival a later event can have: no partition lags by more than the late tolerance."""
        return None if self.newest_arrival is None else self.newest_arrival - time.late_us


def load_clock(con: duckdb.DuckDBPyConnection, time: TimePolicy) -> Clock:
    rows = con.execute("SELECT batch, newest_arrival, time_policy FROM streaming._time").fetchall()
    if not rows:
        return Clock()
    batch, newest_arrival, label = rows[0]
    if label != time.label:
        raise PlaygroundError(f"the streaming state was built in time mode '{label}', not '{time.label}': "
                              "keep the setting, or delete the streaming database (PLAYGROUND_STREAMING) to start "
                              "over from the beginning of the bus")
    return Clock(batch, newest_arrival)


def with_arrivals(con: duckdb.DuckDBPyConnection, incoming: pa.Table, clock: Clock, time: TimePolicy) -> pa.Table:
    """`incoming` (read partition by partition, each in sequence order) with `arrival`: the running maximum of
    its partition's enqueued times in microseconds, from the partition's clock and the floor on."""
    known = {(t, p): a for t, p, a in con.execute(
        "SELECT topic, partition, arrival FROM streaming._partition_time").fetchall()}
    floor = clock.floor(time)
    enqueued = incoming["enqueued_ms"].to_numpy().astype(np.int64) * 1000
    arrival = np.empty_like(enqueued)
    encoded = incoming["topic"].combine_chunks().dictionary_encode()
    topics, names = encoded.indices.to_numpy(), encoded.dictionary.to_pylist()
    partitions = incoming["partition"].to_numpy()
    starts = np.flatnonzero(np.r_[True, (topics[1:] != topics[:-1]) | (partitions[1:] != partitions[:-1])])
    for start, stop in zip(starts, [*starts[1:], len(enqueued)], strict=True):  # one run per partition read
        key = (names[topics[start]], int(partitions[start]))
        lowest = max((v for v in (known.get(key), floor) if v is not None), default=np.iinfo(np.int64).min)
        arrival[start:stop] = np.maximum(np.maximum.accumulate(enqueued[start:stop]), lowest)
    return incoming.append_column("arrival", pa.array(arrival, pa.int64()))


def place_in_time(con: duckdb.DuckDBPyConnection, time: TimePolicy) -> None:
    """`timed`: each good event of `decoded` with its time `t` and what the policy did to it; then the
    views `pv` and `st` of the accepted pageviews and stars. Each view reads its table directly: a statement
    over a chain of views binds each level again (1.4 ms over four levels, 0.7 ms over one)."""
    if time.mode == "arrival":  # time is arrival: nothing is early, late or out of order; a view, as copying costs
        timed = """SELECT *, false AS early, false AS late, arrival AS t1, false AS out_of_order, arrival AS t
                   FROM decoded WHERE reason IS NULL"""
    else:
        good = "SELECT * EXCLUDE (body, raw_text, reason) FROM decoded WHERE reason IS NULL"
        early_us, late_us = EARLY_ARRIVAL_S * SECOND_US, time.late_us
        disorder_us, drop = time.out_of_order_s * SECOND_US, time.policy == "drop"
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE placed AS
            WITH judged AS (
                SELECT *, event_us > arrival + {early_us} AS early, event_us < arrival - {late_us} AS late,
                       greatest(least(event_us, arrival + {early_us}), arrival - {late_us}) AS t1
                FROM ({good})
            ), ordered AS (
                SELECT j.*, greatest(c.latest_time, max(j.t1) OVER (
                    PARTITION BY j.topic, j.partition ORDER BY j.sequence_number
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS latest_before
                FROM judged AS j LEFT JOIN streaming._partition_time AS c
                  ON c.topic = j.topic AND c.partition = j.partition
                WHERE NOT ((j.early OR j.late) AND {drop})
            )
            SELECT * EXCLUDE (latest_before), coalesce(t1 < latest_before - {disorder_us}, false) AS out_of_order,
                   greatest(t1, latest_before - {disorder_us}) AS t
            FROM ordered
            UNION ALL BY NAME
            SELECT *, false AS out_of_order, NULL::BIGINT AS t FROM judged WHERE (early OR late) AND {drop}
        """)
        timed = "SELECT * FROM placed WHERE true"
    accepted = f"{timed} AND NOT (early OR late OR out_of_order)" if time.policy == "drop" else timed
    con.execute(f"CREATE OR REPLACE TEMP VIEW timed AS {timed}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW pv AS {accepted} AND topic = '{PAGEVIEWS_TOPIC}'")
    con.execute(f"CREATE OR REPLACE TEMP VIEW st AS {accepted} AND topic = '{STARS_TOPIC}'")


def advance(con: duckdb.DuckDBPyConnection, time: TimePolicy, clock: Clock, partitions: dict[str, list[int]]
            ) -> tuple[Clock, int | None]:
    """Every partition's clock after this batch (in streaming._partition_time), the job's, and the
    watermark: the earliest time a later event can have. Every record read moves its partition's
    arrival clock, whatever its body (the bus stamped it); `partitions`: each topic's partitions."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE partition_time AS
        WITH batch AS (
            SELECT topic, partition, max(arrival) AS arrival, NULL::BIGINT AS latest_time FROM decoded GROUP BY ALL
            UNION ALL  -- a late or early event that was dropped moves no partition's time
            SELECT topic, partition, NULL, max(t1) FROM timed WHERE t IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT * FROM streaming._partition_time
        )
        SELECT topic, partition, max(arrival) AS arrival, max(latest_time) AS latest_time FROM batch GROUP BY ALL""")
    con.execute("DELETE FROM streaming._partition_time")
    con.execute("INSERT INTO streaming._partition_time SELECT * FROM partition_time")
    clocks = {(t, p): (a, m) for t, p, a, m in con.execute("SELECT * FROM partition_time").fetchall()}
    newest = max((a for a, _ in clocks.values() if a is not None), default=clock.newest_arrival)
    clock = Clock(clock.batch + 1, newest)
    return clock, watermark(time, clock, clocks, partitions)


def watermark(time: TimePolicy, clock: Clock, clocks: dict[tuple[str, int | None], tuple[int | None, int | None]],
              partitions: dict[str, list[int]]) -> int | None:
    """The minimum over every partition of the earliest time its next event can have. A topic with no
    partitions yet (nothing sent) counts as one partition that has waited its longest."""
    floor = clock.floor(time)
    if floor is None:
        return None
    bounds = []
    for topic in TOPICS:
        known: list[int | None] = list(partitions.get(topic) or [])
        for partition in known or [None]:  # None: no partition yet
            arrival, latest = clocks.get((topic, partition), (None, None))
            bound = floor - time.lag_us
            if arrival is not None:
                bound = max(bound, arrival - time.lag_us)
            if latest is not None and time.mode == "event":
                bound = max(bound, latest - time.out_of_order_s * SECOND_US)
            bounds.append(bound)
    return min(bounds)


def as_datetime(us: int | None) -> datetime | None:
    return None if us is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
