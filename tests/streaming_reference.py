"""Every streaming output computed over all events at once, in plain SQL: no batches, no state,
no carried clock. The micro-batch engine must produce the same rows however the events are split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
from duckdb.sqltypes import BIGINT
from playground.io.bus.embedded import EmbeddedLog

from dagster_project.streaming.clock import EARLY_ARRIVAL_S, TimePolicy
from dagster_project.streaming.scenarios import (
    CORRELATION_MINUTES,
    DLT_HIGH_LATENCY_MS,
    FIRST_EVENT_INTERVAL_MINUTES,
    HIGH_LATENCY_MS,
    HTTP_METHOD_WINDOW_MINUTES,
)

FIELDS = ("event_id", "event_time", "user_id", "http_method", "uri", "client_ip", "user_agent", "latency", "stars")
TOPICS = ("pageviews", "stars")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def event_us(text: object) -> int | None:
    """An ISO time as epoch microseconds, a time without a zone as UTC (Python's parser, not DuckDB's)."""
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def bus_records(log: EmbeddedLog) -> pa.Table:
    """Every record of the log, with its fields when it parses (decoded in Python, apart from the engine's
    SQL decoder): malformed ones too, as every record moves its partition's arrival clock."""
    rows = []
    for topic in TOPICS:
        for partition in log.partitions(topic):
            for r in log.read(topic, partition, 0, limit=10**9):
                try:
                    record = json.loads(r.body)
                except ValueError:
                    record = None
                rows.append({"topic": topic, "partition": partition, "sequence_number": r.sequence_number,
                             "byte_offset": r.offset, "enqueued_ms": r.enqueued_time, "good": record is not None,
                             **{f: (record or {}).get(f) for f in FIELDS},
                             "event_us": event_us((record or {}).get("event_time"))})
    schema = pa.schema([("topic", pa.string()), ("partition", pa.int32()), ("sequence_number", pa.int64()),
                        ("byte_offset", pa.int64()), ("enqueued_ms", pa.int64()), ("good", pa.bool_()),
                        ("event_id", pa.string()), ("event_time", pa.string()), ("user_id", pa.int64()),
                        ("http_method", pa.string()), ("uri", pa.string()), ("client_ip", pa.string()),
                        ("user_agent", pa.string()), ("latency", pa.float64()), ("stars", pa.int64()),
                        ("event_us", pa.int64())])
    return pa.Table.from_pylist(rows, schema=schema)


def reference_outputs(log: EmbeddedLog, time: TimePolicy, vip: set[int], users: dict[int, dict]
                      ) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    con.register("records", bus_records(log))
    con.execute("CREATE TABLE vip (id BIGINT)")
    con.executemany("INSERT INTO vip VALUES (?)", [(i,) for i in vip])
    con.execute("CREATE TABLE users (id BIGINT, name VARCHAR, user_name VARCHAR, city VARCHAR, "
                "street_address VARCHAR, phone_number VARCHAR)")
    con.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                    [(i, u.get("name"), u.get("user_name"), u.get("city"), u.get("street_address"),
                      u.get("phone_number")) for i, u in users.items()])
    # Arrival: the newest enqueued time of the event's partition so far (in its order).
    con.execute("""CREATE TABLE ev AS SELECT *, max(enqueued_ms * 1000) OVER (PARTITION BY topic, partition
                   ORDER BY sequence_number ROWS UNBOUNDED PRECEDING) AS arrival FROM records""")
    late, disorder, early = time.late_arrival_s * 10**6, time.out_of_order_s * 10**6, EARLY_ARRIVAL_S * 10**6
    drop = time.policy == "drop"
    if time.mode == "arrival":
        con.execute("CREATE TABLE placed AS SELECT *, arrival AS t1, arrival AS t, false AS dropped FROM ev WHERE good")
    else:
        con.execute(f"""
            CREATE TABLE placed AS
            WITH timed AS (
                SELECT *, event_us NOT BETWEEN arrival - {late} AND arrival + {early} AS beyond,
                       least(greatest(event_us, arrival - {late}), arrival + {early}) AS t1
                FROM ev WHERE good
            ), kept AS (
                SELECT *, max(t1) OVER (PARTITION BY topic, partition ORDER BY sequence_number
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior
                FROM timed WHERE NOT (beyond AND {drop})
            )
            SELECT * EXCLUDE (beyond, prior), greatest(t1, prior - {disorder}) AS t,
                   {drop} AND coalesce(t1 < prior - {disorder}, false) AS dropped
            FROM kept""")
    # Watermark: per partition of each topic, the earliest time its next event can have; the minimum of them.
    newest = con.execute("SELECT max(arrival) FROM ev").fetchall()[0][0]
    lag = late if time.mode == "event" else 0
    if newest is None:
        watermark = -(2**62)
    else:
        bounds = []
        for topic in TOPICS:
            for partition in log.partitions(topic) or [None]:
                arrival, latest = con.execute(
                    "SELECT (SELECT max(arrival) FROM ev WHERE topic = $1 AND partition = $2), "
                    "(SELECT max(t1) FROM placed WHERE topic = $1 AND partition = $2)", [topic, partition]
                ).fetchall()[0]
                bound = newest - late - lag
                if arrival is not None:
                    bound = max(bound, arrival - lag)
                if latest is not None and time.mode == "event":
                    bound = max(bound, latest - disorder)
                bounds.append(bound)
        watermark = min(bounds)
    con.execute("CREATE VIEW pv AS SELECT * FROM placed WHERE topic = 'pageviews' AND NOT dropped")
    con.execute("CREATE VIEW st AS SELECT * FROM placed WHERE topic = 'stars' AND NOT dropped")
    # A window's or interval's end: the time rounded up to a multiple of its length (Python's integers).
    con.create_function("ceil_to", lambda t, step: -(-t // step) * step, [BIGINT, BIGINT], BIGINT)
    row = """event_id, event_time, user_id, http_method, uri, client_ip, user_agent, latency, make_timestamp(t),
             partition, sequence_number, byte_offset, epoch_ms(enqueued_ms)"""
    kafka = "topic, partition, byte_offset, epoch_ms(enqueued_ms)"
    window, interval, correlation = (HTTP_METHOD_WINDOW_MINUTES * 60 * 10**6, FIRST_EVENT_INTERVAL_MINUTES * 60 * 10**6,
                                     CORRELATION_MINUTES * 60 * 10**6)
    queries = {
        "raw_pageviews": f"SELECT {row} FROM pv",
        "raw_stars": """SELECT event_id, event_time, user_id, stars, make_timestamp(t), partition, sequence_number,
                        byte_offset, epoch_ms(enqueued_ms) FROM st""",
        "raw_vip_only": f"SELECT {row} FROM pv WHERE user_id IN (SELECT id FROM vip)",
        "pageviews_stars_correlation": f"""
            SELECT p.user_id, p.event_id, make_timestamp(p.t), p.http_method, p.uri, s.event_id, make_timestamp(s.t),
                   s.stars, (s.t - p.t) / 1e6
            FROM pv AS p, st AS s WHERE p.user_id = s.user_id AND s.t >= p.t AND s.t <= p.t + {correlation}""",
        "agg_http_method": f"""
            SELECT make_timestamp(window_end), http_method, count(*) FROM (
                SELECT ceil_to(t, {window}) AS window_end, http_method FROM pv)
            WHERE window_end < {watermark} GROUP BY 1, 2""",
        "alert_high_latency": f"SELECT {row} FROM pv WHERE latency > {HIGH_LATENCY_MS}",
        "alert_high_latency_enriched": f"""
            SELECT {row}, u.name, u.user_name, u.city, u.street_address, u.phone_number
            FROM pv LEFT JOIN users AS u ON u.id = pv.user_id WHERE latency > {HIGH_LATENCY_MS}""",
        "first_event_in_user_sequence": f"""
            SELECT {row}, make_timestamp(ceil_to(t, {interval})) FROM pv
            QUALIFY row_number() OVER (PARTITION BY user_id, ceil_to(t, {interval})
                                       ORDER BY t, arrival, partition, sequence_number) = 1
                AND t < {watermark}""",
        "parsed_pageviews": f"""SELECT {kafka}, event_id, event_time, user_id, http_method, uri, client_ip,
                                user_agent, latency FROM pv""",
        "parsed_stars": f"SELECT {kafka}, event_id, event_time, user_id, stars FROM st",
        "high_latency": f"""SELECT {kafka}, event_id, event_time, user_id, http_method, uri, client_ip, user_agent,
                            latency FROM pv WHERE latency > {DLT_HIGH_LATENCY_MS}""",
    }
    return {name: con.execute(query).fetchall() for name, query in queries.items()}
