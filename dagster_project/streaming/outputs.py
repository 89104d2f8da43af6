"""Each streaming output's SQL over a batch's placed events (views `pv` and `st`, time `t` in
microseconds): the rows the stateless outputs select, and the stateful scenarios: the 15-minute join
(over the pageviews and stars kept), the tumbling windows and ISFIRST (with the state each keeps between
batches)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
from playground.catalog import PAGEVIEWS_TOPIC, STARS_TOPIC, TOPIC_TYPES

from dagster_project.bronze.store import one_row
from dagster_project.streaming.clock import SECOND_US
from dagster_project.streaming.scenarios import (
    CORRELATION_MINUTES,
    DLT_HIGH_LATENCY_MS,
    ENRICHING_USER_FIELDS,
    FIRST_EVENT_INTERVAL_MINUTES,
    HIGH_LATENCY_MS,
    HTTP_METHOD_WINDOW_MINUTES,
    OUTPUTS,
)

MINUTE_US = 60 * SECOND_US
WINDOW_US = HTTP_METHOD_WINDOW_MINUTES * MINUTE_US
INTERVAL_US = FIRST_EVENT_INTERVAL_MINUTES * MINUTE_US
CORRELATION_US = CORRELATION_MINUTES * MINUTE_US

# The pageview row every pageview output starts from (ASA's SELECT of the input, plus its envelope).
PAGEVIEW_ROW = """event_id, event_time, user_id, http_method, uri, client_ip, user_agent, latency,
    make_timestamp(t) AS event_timestamp, partition AS partition_id, sequence_number, byte_offset,
    epoch_ms(enqueued_ms) AS enqueued_time"""
STAR_ROW = """event_id, event_time, user_id, stars, make_timestamp(t) AS event_timestamp, partition AS partition_id,
    sequence_number, byte_offset, epoch_ms(enqueued_ms) AS enqueued_time"""
# The reference users in memory, a temp table (engine.py): an alert's user is fetched from it by id; from the
# file's compressed columns a fetch cost 0.3 ms a user, 0.4 s a batch with 10M users.
REFERENCE_USERS = "reference_users"
PAGEVIEWS = "_pageviews"  # every accepted pageview, once: the pageview outputs are views over it
USER_FIELDS = ", ".join(ENRICHING_USER_FIELDS)

# Each table's rows for this batch, over the batch's views: pv and st (accepted pageviews and stars,
# `t` their time in µs), correlation_pairs, closed_windows and first_events (computed below). A pageview
# is kept with what its outputs select it by, as of its batch: its user in the VIP list, and for an alert
# the user's record (reference data that changes; a view could not look it up later).
TABLE_QUERIES = {
    PAGEVIEWS: f"""
        SELECT {PAGEVIEW_ROW}, user_id IN (SELECT id FROM streaming._ref_vip) AS _vip,
               {", ".join(f"u.{name}" for name in ENRICHING_USER_FIELDS)}
        FROM pv LEFT JOIN (  -- the alerts' users picked first: a join would read every user's fields
            SELECT * FROM {REFERENCE_USERS} WHERE id IN (SELECT user_id FROM pv WHERE latency > {HIGH_LATENCY_MS})
        ) AS u ON u.id = pv.user_id AND latency > {HIGH_LATENCY_MS}""",
    "raw_stars": f"SELECT {STAR_ROW} FROM st",
    "pageviews_stars_correlation": "SELECT * FROM correlation_pairs",
    "agg_http_method": "SELECT * FROM closed_windows",
    "first_event_in_user_sequence": "SELECT * FROM first_events",
}
PAGEVIEW_COLUMNS = ", ".join(item.split(" AS ")[-1].strip() for item in PAGEVIEW_ROW.split(","))
KAFKA_COLUMNS = """'{topic}' AS kafka_topic, partition_id AS kafka_partition, byte_offset AS kafka_offset,
    enqueued_time AS kafka_timestamp"""
PAGEVIEW_FIELDS, STAR_FIELDS = (", ".join(TOPIC_TYPES[topic]) for topic in (PAGEVIEWS_TOPIC, STARS_TOPIC))
# The outputs that are views: the pageview outputs over the pageviews kept, and the Delta Live Tables'
# parsed tables, which hold the same events as the raw ones under Kafka's names (their lake parts are
# written all the same). Each with the condition a batch's rows of it meet.
VIEWS = {
    "raw_pageviews": (PAGEVIEWS, PAGEVIEW_COLUMNS, "true"),
    "raw_vip_only": (PAGEVIEWS, PAGEVIEW_COLUMNS, "_vip"),
    "alert_high_latency": (PAGEVIEWS, PAGEVIEW_COLUMNS, f"latency > {HIGH_LATENCY_MS}"),
    "alert_high_latency_enriched": (PAGEVIEWS, f"{PAGEVIEW_COLUMNS}, {USER_FIELDS}", f"latency > {HIGH_LATENCY_MS}"),
    "high_latency": (PAGEVIEWS, f"{KAFKA_COLUMNS.format(topic=PAGEVIEWS_TOPIC)}, {PAGEVIEW_FIELDS}",
                     f"latency > {DLT_HIGH_LATENCY_MS}"),
    "parsed_pageviews": (PAGEVIEWS, f"{KAFKA_COLUMNS.format(topic=PAGEVIEWS_TOPIC)}, {PAGEVIEW_FIELDS}", "true"),
    "parsed_stars": ("raw_stars", f"{KAFKA_COLUMNS.format(topic=STARS_TOPIC)}, {STAR_FIELDS}", "true"),
}
assert (set(TABLE_QUERIES) - {PAGEVIEWS}) | set(VIEWS) == {o.name for o in OUTPUTS}

FIRST_PENDING = "_first_pending"  # ISFIRST candidates not yet sure to win


def end_of(time: str, length: int) -> str:
    """The end of the (start, end] interval of `length` holding `time`: rounded up to a multiple of the
    length, before the epoch too (DuckDB's // truncates toward zero)."""
    return f"({time} - {time} % {length} + CASE WHEN {time} % {length} > 0 THEN {length} ELSE 0 END)"


def stateful_outputs(con: duckdb.DuckDBPyConnection, watermark: int | None, lap: Callable[[str], None],
                     ready: bool = False) -> None:
    """The views of the correlation, the closed windows and the first events, and the state after them
    (`ready`: the state tables exist)."""
    mark = "NULL::BIGINT" if watermark is None else str(watermark)
    # Correlation: a pair is emitted when its second event arrives, the first read from its output's table
    # (no copy kept as state): only those the batch's earliest star, or pageview, can still pair with.
    first_star, first_pageview = (str(t) if t is not None else "NULL" for t in one_row(con.execute(
        "SELECT (SELECT min(t) FROM st), (SELECT min(t) FROM pv)")))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE correlation_pairs AS
        WITH pageviews AS (
            SELECT user_id, event_id, t, http_method, uri, true AS new FROM pv
            UNION ALL SELECT user_id, event_id, epoch_us(event_timestamp), http_method, uri, false
            FROM streaming.{PAGEVIEWS} WHERE event_timestamp >= make_timestamp({first_star} - {CORRELATION_US})
        ), stars AS (
            SELECT user_id, event_id, t, stars, true AS new FROM st
            UNION ALL SELECT user_id, event_id, epoch_us(event_timestamp), stars, false
            FROM streaming.raw_stars WHERE event_timestamp >= make_timestamp({first_pageview})
        )
        SELECT p.user_id, p.event_id AS pageview_event_id, make_timestamp(p.t) AS pageview_time, p.http_method, p.uri,
               s.event_id AS star_event_id, make_timestamp(s.t) AS star_time, s.stars,
               (s.t - p.t) / 1e6 AS seconds_between
        FROM pageviews AS p JOIN stars AS s
          ON p.user_id = s.user_id AND s.t - p.t BETWEEN 0 AND {CORRELATION_US}
        WHERE p.new OR s.new
    """)
    lap("correlation pairs")

    # Tumbling windows (start, end]: an event at exactly `end` belongs to the window ending there.
    con.execute(f"""INSERT INTO streaming._windows
        SELECT {end_of('t', WINDOW_US)} AS window_end, http_method, count(*)
        FROM pv GROUP BY ALL""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE closed_windows AS
        SELECT make_timestamp(window_end) AS window_end, http_method, sum(pageviews)::BIGINT AS pageviews
        FROM streaming._windows WHERE window_end < {mark} GROUP BY ALL""")
    con.execute(f"DELETE FROM streaming._windows WHERE window_end < {mark}")
    lap("window state")

    # ISFIRST: per user and interval, the earliest event (ties: the first to arrive) once no later
    # event can be as early. An emitted winner is remembered by key until its interval has passed; a
    # candidate not yet sure of winning (event mode) is kept whole.
    if not ready:  # its columns are the pageviews'
        con.execute(f"""
            CREATE TABLE IF NOT EXISTS streaming.{FIRST_PENDING} AS
            SELECT {PAGEVIEW_ROW}, 0::BIGINT AS interval_end, t, arrival, partition FROM pv WHERE false""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE first_candidates AS
        WITH candidates AS (
            SELECT {PAGEVIEW_ROW}, {end_of('t', INTERVAL_US)} AS interval_end,
                   t, arrival, partition
            FROM pv
            UNION ALL SELECT * FROM streaming._first_pending
        )
        SELECT *, coalesce(t < {mark}, false) AS emit_now
        FROM candidates ANTI JOIN streaming._first_emitted USING (user_id, interval_end)
        QUALIFY row_number() OVER (PARTITION BY user_id, interval_end
                                   ORDER BY t, arrival, partition, sequence_number) = 1""")
    con.execute("""CREATE OR REPLACE TEMP TABLE first_events AS
        SELECT * EXCLUDE (interval_end, t, arrival, partition, emit_now), make_timestamp(interval_end) AS interval_end
        FROM first_candidates WHERE emit_now""")
    con.execute("INSERT INTO streaming._first_emitted SELECT user_id, interval_end FROM first_candidates "
                "WHERE emit_now")
    con.execute(f"DELETE FROM streaming._first_emitted WHERE interval_end < {mark}")
    con.execute("DELETE FROM streaming._first_pending")
    con.execute("INSERT INTO streaming._first_pending SELECT * EXCLUDE (emit_now) FROM first_candidates "
                "WHERE NOT emit_now")
    lap("first-event state")
