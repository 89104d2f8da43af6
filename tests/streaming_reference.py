"""Every streaming output computed over all events at once, in plain SQL: no batches, no state,
no carried clock. The micro-batch engine must produce the same rows however the events are split."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from dagster_project.streaming.engine import TimePolicy
from dagster_project.streaming.scenarios import (
    CORRELATION_MINUTES,
    DLT_HIGH_LATENCY_MS,
    FIRST_EVENT_INTERVAL_MINUTES,
    HIGH_LATENCY_MS,
    HTTP_METHOD_WINDOW_MINUTES,
)
from generators.sinks.bus.embedded import EmbeddedLog

FIELDS = ("event_id", "event_time", "user_id", "http_method", "uri", "client_ip", "user_agent", "latency", "stars")


def good_events(log: EmbeddedLog) -> pa.Table:
    """The log's events that parse (decoded in Python, apart from the engine's SQL decoder)."""
    rows = []
    for topic in ("pageviews", "stars"):
        for partition in log.partitions(topic):
            for r in log.read(topic, partition, 0, limit=10**9):
                try:
                    record = json.loads(r.body)
                except ValueError:
                    continue
                rows.append({"topic": topic, "partition": partition, "sequence_number": r.sequence_number,
                             "byte_offset": r.offset, "enqueued_ms": r.enqueued_time,
                             **{f: record.get(f) for f in FIELDS}})
    schema = pa.schema([("topic", pa.string()), ("partition", pa.int32()), ("sequence_number", pa.int64()),
                        ("byte_offset", pa.int64()), ("enqueued_ms", pa.int64()), ("event_id", pa.string()),
                        ("event_time", pa.string()), ("user_id", pa.int64()), ("http_method", pa.string()),
                        ("uri", pa.string()), ("client_ip", pa.string()), ("user_agent", pa.string()),
                        ("latency", pa.float64()), ("stars", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def reference_outputs(log: EmbeddedLog, time: TimePolicy, vip: set[int], users: dict[int, dict]
                      ) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    con.register("ev", good_events(log))
    con.execute("CREATE TABLE vip (id BIGINT)")
    con.executemany("INSERT INTO vip VALUES (?)", [(i,) for i in vip])
    con.execute("CREATE TABLE users (id BIGINT, name VARCHAR, user_name VARCHAR, city VARCHAR, "
                "street_address VARCHAR, phone_number VARCHAR)")
    con.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                    [(i, u.get("name"), u.get("user_name"), u.get("city"), u.get("street_address"),
                      u.get("phone_number")) for i, u in users.items()])
    late_ms, disorder_ms, drop = time.late_arrival_s * 1000, time.out_of_order_s * 1000, time.policy == "drop"
    if time.mode == "arrival":
        con.execute("CREATE TABLE placed AS SELECT *, enqueued_ms AS arrival, enqueued_ms AS t1, "
                    "enqueued_ms AS t, false AS dropped FROM ev")
    else:
        con.execute(f"""
            CREATE TABLE placed AS
            WITH timed AS (
                SELECT *, enqueued_ms AS arrival,
                       epoch_ms(event_time::TIMESTAMPTZ) < enqueued_ms - {late_ms} AS late,
                       greatest(epoch_ms(event_time::TIMESTAMPTZ), enqueued_ms - {late_ms}) AS t1
                FROM ev
            ), kept AS (
                SELECT *, max(t1) OVER (ORDER BY arrival RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior
                FROM timed WHERE NOT (late AND {drop})
            )
            SELECT * EXCLUDE (late, prior), greatest(t1, prior - {disorder_ms}) AS t,
                   {drop} AND coalesce(t1 < prior - {disorder_ms}, false) AS dropped
            FROM kept""")
    last = con.execute("SELECT max(enqueued_ms) FROM ev").fetchall()[0][0]
    if last is None:  # nothing but malformed events: no time has passed
        watermark = -(2**62)
    elif time.mode == "arrival":
        watermark = last
    else:
        before = con.execute("SELECT max(t1) FROM placed WHERE arrival < ?", [last]).fetchall()[0][0]
        watermark = max(last - late_ms, (before if before is not None else -(2**62)) - disorder_ms)
    con.execute("CREATE VIEW pv AS SELECT * FROM placed WHERE topic = 'pageviews' AND NOT dropped")
    con.execute("CREATE VIEW st AS SELECT * FROM placed WHERE topic = 'stars' AND NOT dropped")
    row = """event_id, event_time, user_id, http_method, uri, client_ip, user_agent, latency, epoch_ms(t),
             partition, sequence_number, byte_offset, epoch_ms(enqueued_ms)"""
    kafka = "topic, partition, byte_offset, epoch_ms(enqueued_ms)"
    window, interval, correlation = (HTTP_METHOD_WINDOW_MINUTES * 60_000, FIRST_EVENT_INTERVAL_MINUTES * 60_000,
                                     CORRELATION_MINUTES * 60_000)
    queries = {
        "raw_pageviews": f"SELECT {row} FROM pv",
        "raw_stars": """SELECT event_id, event_time, user_id, stars, epoch_ms(t), partition, sequence_number,
                        byte_offset, epoch_ms(enqueued_ms) FROM st""",
        "raw_vip_only": f"SELECT {row} FROM pv WHERE user_id IN (SELECT id FROM vip)",
        "pageviews_stars_correlation": f"""
            SELECT p.user_id, p.event_id, epoch_ms(p.t), p.http_method, p.uri, s.event_id, epoch_ms(s.t), s.stars,
                   (s.t - p.t) / 1000.0
            FROM pv AS p, st AS s WHERE p.user_id = s.user_id AND s.t >= p.t AND s.t <= p.t + {correlation}""",
        "agg_http_method": f"""
            SELECT epoch_ms(window_end), http_method, count(*) FROM (
                SELECT (ceil(t / {window}) * {window})::BIGINT AS window_end, http_method FROM pv)
            WHERE window_end < {watermark} GROUP BY 1, 2""",
        "alert_high_latency": f"SELECT {row} FROM pv WHERE latency > {HIGH_LATENCY_MS}",
        "alert_high_latency_enriched": f"""
            SELECT {row}, u.name, u.user_name, u.city, u.street_address, u.phone_number
            FROM pv LEFT JOIN users AS u ON u.id = pv.user_id WHERE latency > {HIGH_LATENCY_MS}""",
        "first_event_in_user_sequence": f"""
            SELECT {row}, epoch_ms((ceil(t / {interval}) * {interval})::BIGINT) FROM pv
            QUALIFY row_number() OVER (PARTITION BY user_id, ceil(t / {interval})
                                       ORDER BY t, arrival, partition, sequence_number) = 1
                AND t <= {watermark}""",
        "parsed_pageviews": f"""SELECT {kafka}, event_id, event_time, user_id, http_method, uri, client_ip,
                                user_agent, latency FROM pv""",
        "parsed_stars": f"SELECT {kafka}, event_id, event_time, user_id, stars FROM st",
        "high_latency": f"""SELECT {kafka}, event_id, event_time, user_id, http_method, uri, client_ip, user_agent,
                            latency FROM pv WHERE latency > {DLT_HIGH_LATENCY_MS}""",
    }
    return {name: con.execute(query).fetchall() for name, query in queries.items()}
