"""The streaming scenarios: hand-made cases with expected values worked out by hand, and random
event sequences split into random micro-batches compared with a plain-SQL reference."""

from __future__ import annotations

import base64
import json
import time as time_module
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playground.errors import PlaygroundError
from playground.io.bus.embedded import EmbeddedLog
from playground.io.lake import Lake

from dagster_project.streaming.clock import TimePolicy
from dagster_project.streaming.engine import BatchResult, flush_parts, process_backlog, process_batch
from dagster_project.streaming.scenarios import OUTPUT_NAMES
from tests.helpers import examples
from tests.streaming_reference import reference_outputs

MINUTE = 60_000
BASE = int(datetime(2022, 8, 13, tzinfo=UTC).timestamp() * 1000)  # a whole hour: windows start here
PROCESSED = datetime(2030, 1, 1)
VIP = {1}
USERS = {0: {"name": "Ann", "user_name": "ann", "city": "Brno"}, 1: {"name": "Bob", "city": "Praha"}}


def at(ms: int) -> datetime:
    return datetime(2022, 8, 13) + timedelta(milliseconds=ms - BASE)


def iso(ms: int, micros: int = 0, zone: str = "Z") -> str:
    """The time as ISO text: `micros` past the millisecond; `zone` "Z", "" (none: UTC) or "+02:00"."""
    shift = timedelta(hours=2) if zone == "+02:00" else timedelta(0)
    return (at(ms) + shift + timedelta(microseconds=micros)).isoformat(timespec="microseconds") + zone


def pageview(event_id: str, user: int, event_time: int | str, latency: float = 100.0, method: str = "GET") -> bytes:
    """A pageview; `event_time` as epoch ms, or the text itself."""
    text = iso(event_time) if isinstance(event_time, int) else event_time
    return json.dumps({"event_id": event_id, "event_time": text, "user_id": user, "http_method": method,
                       "uri": "/", "client_ip": "10.0.0.1", "user_agent": "test", "latency": latency}).encode()


def star(event_id: str, user: int, event_time: int | str, stars: int = 5) -> bytes:
    text = iso(event_time) if isinstance(event_time, int) else event_time
    return json.dumps({"event_id": event_id, "event_time": text, "user_id": user, "stars": stars}).encode()


class Stream:
    """An embedded log, a lake with the reference files, a streaming database; events sent one by one
    with the enqueued time given, micro-batches run on demand."""

    def __init__(self, root: Path, time: TimePolicy | None = None, partitions: int = 2):
        self.log = EmbeddedLog(str(root / "events.db"), partitions=partitions)
        self.lake = Lake(str(root / "lake"))
        self.lake.write_bytes("landing/vipusers/vipusers.json", b"".join(b'{"id": %d}\n' % i for i in VIP))
        self.lake.write_bytes("landing/users/users.json", b"".join(
            json.dumps({"id": i, **u}).encode() + b"\n" for i, u in USERS.items()) + b"not json\n")
        self.con = duckdb.connect()
        self.time = time or TimePolicy()

    def send(self, topic: str, user: int, body: bytes, enqueued_ms: int) -> None:
        self.log.send(topic, [user], [body], enqueued_time=enqueued_ms)

    def run(self) -> BatchResult:
        return process_batch(self.con, self.log, self.lake, self.time, processed_at=PROCESSED)

    def rows(self, output: str, columns: str = "*") -> list[tuple]:
        return self.con.execute(f"SELECT {columns} FROM streaming.{output} ORDER BY ALL").fetchall()

    def outputs(self) -> dict[str, list[tuple]]:
        return {o: sorted(self.con.execute(f"SELECT * EXCLUDE (processed_time, _batch) FROM streaming.{o}")
                          .fetchall(), key=repr) for o in OUTPUT_NAMES}

    def close(self) -> None:
        self.con.close()
        self.log.close()


# No partition waits for another: a window closes as soon as a later event arrives on any partition, so
# these cases test bounds, not the wait (tested on its own below).
EAGER = TimePolicy(late_arrival_s=0)


@pytest.fixture
def stream(tmp_path: Path):
    s = Stream(tmp_path, EAGER)
    yield s
    s.close()


def test_tumbling_windows_are_start_exclusive_end_inclusive_and_emitted_once_closed(stream: Stream) -> None:
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)                     # window (-5 min, 0]
    stream.send("pageviews", 0, pageview("b", 0, 0), BASE + 1)                 # (0, 5 min]
    stream.send("pageviews", 1, pageview("c", 1, 0, method="POST"), BASE + 5 * MINUTE)      # (0, 5 min]
    stream.send("pageviews", 1, pageview("d", 1, 0, method="POST"), BASE + 5 * MINUTE + 1)  # (5, 10 min]
    stream.run()
    # The newest event is at 5 min + 1 ms: the windows ending at 0 and 5 min are closed, 10 min is not.
    assert stream.rows("agg_http_method", "window_end, http_method, pageviews") == [
        (at(BASE), "GET", 1), (at(BASE + 5 * MINUTE), "GET", 1), (at(BASE + 5 * MINUTE), "POST", 1)]
    stream.send("pageviews", 0, pageview("e", 0, 0), BASE + 10 * MINUTE)  # closes nothing new: 10 min is inclusive
    stream.run()
    assert len(stream.rows("agg_http_method")) == 3
    stream.send("pageviews", 0, pageview("f", 0, 0), BASE + 10 * MINUTE + 1)
    stream.run()
    assert stream.rows("agg_http_method", "window_end, http_method, pageviews")[3:] == [
        (at(BASE + 10 * MINUTE), "GET", 1), (at(BASE + 10 * MINUTE), "POST", 1)]


def test_the_correlation_includes_both_bounds_and_nothing_outside(stream: Stream) -> None:
    stream.send("pageviews", 0, pageview("p", 0, 0), BASE)
    stream.send("stars", 0, star("at-0", 0, 0), BASE)
    stream.send("stars", 1, star("other-user", 1, 0), BASE + MINUTE)
    stream.run()
    stream.send("stars", 0, star("at-15", 0, 0), BASE + 15 * MINUTE)
    stream.send("stars", 0, star("after-15", 0, 0), BASE + 15 * MINUTE + 1)
    stream.run()
    assert stream.rows("pageviews_stars_correlation", "pageview_event_id, star_event_id, seconds_between") == [
        ("p", "at-0", 0.0), ("p", "at-15", 900.0)]


def test_a_star_before_its_pageview_does_not_match(stream: Stream) -> None:
    stream.send("stars", 0, star("s", 0, 0), BASE)
    stream.send("pageviews", 0, pageview("p", 0, 0), BASE + 1)
    stream.run()
    assert stream.rows("pageviews_stars_correlation") == []


def test_isfirst_flags_the_first_pageview_per_user_per_aligned_hour(stream: Stream) -> None:
    hour = 60 * MINUTE
    stream.send("pageviews", 0, pageview("tie-1", 0, 0), BASE + 10)
    stream.send("pageviews", 0, pageview("tie-2", 0, 0), BASE + 10)  # same time: the first to arrive wins
    stream.send("pageviews", 1, pageview("other", 1, 0), BASE + 20)
    stream.run()
    stream.send("pageviews", 0, pageview("at-hour", 0, 0), BASE + hour)          # still the interval (0, 1 h]
    stream.send("pageviews", 0, pageview("next-hour", 0, 0), BASE + hour + 1)   # the next interval
    stream.run()
    # A first event is flagged once no later event can be as early: a later one at the same time could
    # come from another partition first to arrive.
    assert ("next-hour",) not in stream.rows("first_event_in_user_sequence", "event_id")
    stream.send("pageviews", 1, pageview("later", 1, 0), BASE + hour + 2)
    stream.run()
    assert stream.rows("first_event_in_user_sequence", "event_id, interval_end") == [
        ("next-hour", at(BASE + 2 * hour)), ("other", at(BASE + hour)), ("tie-1", at(BASE + hour))]


def test_reference_data_enriches_alerts_and_selects_vip_pageviews(stream: Stream) -> None:
    stream.send("pageviews", 0, pageview("slow", 0, 0, latency=2000.5), BASE)
    stream.send("pageviews", 1, pageview("vip", 1, 0, latency=2000.0), BASE)      # not above 2000
    stream.send("pageviews", 3, pageview("unknown", 3, 0, latency=4000.5), BASE)  # no such user yet
    stream.run()
    assert stream.rows("alert_high_latency_enriched", "event_id, name, user_name, city") == [
        ("slow", "Ann", "ann", "Brno"), ("unknown", None, None, None)]
    assert stream.rows("raw_vip_only", "event_id") == [("vip",)]
    assert stream.rows("high_latency", "event_id") == [("unknown",)]


def test_a_changed_users_file_is_staged_apart_and_swapped_in_with_the_batch_that_commits(
        stream: Stream, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_project.streaming import engine

    stream.send("pageviews", 0, pageview("before", 0, 0, latency=2000.5), BASE)
    stream.run()
    # The file changes, read in pieces of a few lines (a commit each, outside the batch): the first line of an
    # id wins across pieces, and a batch that fails after staging leaves the reference its outputs used.
    monkeypatch.setattr(engine, "REFERENCE_CHUNK_BYTES", 64)
    stream.lake.write_bytes("landing/users/users.json", b"".join(json.dumps(u).encode() + b"\n" for u in (
        {"id": 0, "name": "Bea", "user_name": "bea", "city": "Olomouc"}, {"id": 2, "name": "Cid", "city": "Zlin"},
        {"id": 0, "name": "Later", "user_name": "later", "city": "Brno"})))
    stream.send("pageviews", 0, pageview("after", 0, 0, latency=2000.5), BASE + 1)
    real_place_in_time = engine.place_in_time

    def fails(*args: object) -> None:
        raise RuntimeError("the batch fails after staging")

    monkeypatch.setattr(engine, "place_in_time", fails)
    with pytest.raises(RuntimeError):
        stream.run()
    assert stream.con.execute("SELECT count(*) FROM streaming._staged_users").fetchone() == (3,)
    assert stream.rows("_ref_users", "id, name") == [(0, "Ann"), (1, "Bob")]
    monkeypatch.setattr(engine, "place_in_time", real_place_in_time)
    stream.run()
    assert stream.rows("_ref_users", "id, name") == [(0, "Bea"), (2, "Cid")]
    assert stream.rows("alert_high_latency_enriched", "event_id, name, city") == [
        ("after", "Bea", "Olomouc"), ("before", "Ann", "Brno")]
    assert stream.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_staged%'").fetchone() \
        == (0,)


def test_malformed_events_are_quarantined_and_counted_and_base64_bodies_decoded(stream: Stream) -> None:
    stream.send("pageviews", 0, base64.b64encode(pageview("b64", 0, 0)), BASE)
    stream.send("pageviews", 0, b'{"event_id": "half', BASE)
    stream.send("pageviews", 0, b'{"user_id": 0}', BASE)
    stream.send("stars", 0, b'{"event_id": "s", "user_id": "zero"}', BASE)
    stream.send("stars", 0, b"\xff", BASE)
    result = stream.run()
    assert result.events == 5 and result.quarantined == 4
    assert stream.rows("parsed_pageviews", "event_id, kafka_topic, kafka_offset") == [("b64", "pageviews", 0)]
    assert [r[:3] for r in stream.con.execute(
        "SELECT topic, sequence_number, reason FROM streaming._quarantine ORDER BY ALL").fetchall()] == [
        ("pageviews", 1, "malformed JSON"), ("pageviews", 2, "no field 'event_id'"),
        ("stars", 0, "field 'user_id' is not int"), ("stars", 1, "not UTF-8 text")]


@pytest.mark.parametrize("policy", ["adjust", "drop"])
def test_event_time_late_and_out_of_order_events(tmp_path: Path, policy: str) -> None:
    stream = Stream(tmp_path, TimePolicy(mode="event", policy=policy))
    s = 1000
    stream.send("pageviews", 0, pageview("on-time", 0, BASE), BASE)
    stream.send("pageviews", 0, pageview("late", 0, BASE - 70 * s), BASE + 10 * s)   # 80 s behind arrival
    stream.send("pageviews", 0, pageview("just-in", 0, BASE - 50 * s), BASE + 10 * s)  # 60 s: not late
    stream.send("pageviews", 0, pageview("ahead", 0, BASE + 60 * s), BASE + 20 * s)
    stream.send("pageviews", 0, pageview("disorder", 0, BASE + 5 * s), BASE + 30 * s)  # 55 s behind "ahead"
    stream.send("pageviews", 0, pageview("edge", 0, BASE + 10 * s), BASE + 40 * s)     # 50 s behind: tolerated
    result = stream.run()
    times = dict(stream.rows("raw_pageviews", "event_id, event_timestamp"))
    assert (result.late, result.out_of_order) == (1, 1)
    if policy == "adjust":
        assert (result.adjusted, result.dropped) == (2, 0)
        assert times["late"] == at(BASE - 50 * s)       # arrival - 60 s
        assert times["disorder"] == at(BASE + 10 * s)   # latest so far - 50 s
    else:
        assert (result.adjusted, result.dropped) == (0, 2)
        assert "late" not in times and "disorder" not in times
    assert times["just-in"] == at(BASE - 50 * s) and times["edge"] == at(BASE + 10 * s)
    stream.close()


def test_events_more_than_five_minutes_ahead_of_their_arrival_are_early(tmp_path: Path) -> None:
    for policy in ("adjust", "drop"):
        stream = Stream(tmp_path / policy, TimePolicy(mode="event", policy=policy))
        stream.send("pageviews", 0, pageview("edge", 0, BASE + 5 * MINUTE), BASE)      # exactly 5 min: on time
        stream.send("pageviews", 0, pageview("early", 0, BASE + 5 * MINUTE + 1), BASE)
        result = stream.run()
        times = dict(stream.rows("raw_pageviews", "event_id, event_timestamp"))
        assert (result.early, result.late, result.out_of_order) == (1, 0, 0), policy
        assert times["edge"] == at(BASE + 5 * MINUTE)
        if policy == "adjust":
            assert times["early"] == at(BASE + 5 * MINUTE) and result.adjusted == 1  # arrival + 5 min
        else:
            assert "early" not in times and result.dropped == 1
        stream.close()


RACE = pytest.mark.parametrize("policy", [TimePolicy(), TimePolicy(mode="event"), TimePolicy(mode="event",
                                                                                                policy="drop")],
                               ids=lambda p: p.label)


def race(root: Path, policy: TimePolicy, behind_ms: int, split: bool, b_time_ms: int = BASE - 80_000) -> Stream:
    """A on partition 0 (event time T, enqueued T); then B on partition 1 (event time T - 80 s), enqueued
    `behind_ms` before A (written after A by a racing producer); in one micro-batch, or A's first."""
    stream = Stream(root, policy)
    stream.send("pageviews", 0, pageview("A", 0, BASE), BASE)
    if split:
        stream.run()
    stream.send("pageviews", 1, pageview("B", 1, b_time_ms), BASE - behind_ms)
    stream.run()
    return stream


@RACE
def test_racing_producers_give_the_same_rows_in_one_batch_or_two(tmp_path: Path, policy: TimePolicy) -> None:
    whole, split = race(tmp_path / "whole", policy, 50_000, False), race(tmp_path / "split", policy, 50_000, True)
    assert whole.outputs() == split.outputs()
    times = dict(split.rows("raw_pageviews", "event_id, event_timestamp"))
    # B is judged against its own partition's arrival (T - 50 s): 30 s behind it, neither late nor out of order.
    assert times["B"] == at(BASE - (80_000 if policy.mode == "event" else 50_000))
    whole.close()
    split.close()


@RACE
def test_a_partition_waits_for_the_others_at_most_the_late_tolerance(tmp_path: Path, policy: TimePolicy) -> None:
    """B (event time T - 140 s) enqueued 90 s before A, A already processed: B counts as arriving at T - 60 s,
    so it is late (not so against its own enqueued time)."""
    stream = race(tmp_path, policy, 90_000, True, BASE - 140_000)
    times = dict(stream.rows("raw_pageviews", "event_id, event_timestamp"))
    if policy.mode == "arrival":
        assert times["B"] == at(BASE - 60_000)
    elif policy.policy == "adjust":
        assert times["B"] == at(BASE - 120_000)  # late against T - 60 s: moved to its bound
    else:
        assert "B" not in times
    stream.close()


def test_a_window_closes_when_every_partition_has_passed_its_end_or_waited_long_enough(tmp_path: Path) -> None:
    stream = Stream(tmp_path)  # arrival time, partitions wait up to 60 s
    for topic, body in (("pageviews", pageview), ("stars", star)):
        for user in (0, 1):  # every partition of both topics has a clock at T
            stream.send(topic, user, body(f"{topic}{user}", user, 0), BASE)
    stream.send("pageviews", 0, pageview("in", 0, 0), BASE + 5 * MINUTE)  # window (T, T + 5 min]
    stream.send("pageviews", 0, pageview("p0", 0, 0), BASE + 5 * MINUTE + 30_000)
    stream.run()
    closed = "SELECT window_end FROM streaming.agg_http_method"
    assert stream.con.execute(closed).fetchall() == [(at(BASE),)]  # the others wait: T + 4:30 at the least
    stream.send("pageviews", 1, pageview("p1", 1, 0), BASE + 5 * MINUTE + 10_000)
    stream.run()
    assert len(stream.con.execute(closed).fetchall()) == 1  # the stars' partitions are still at T + 4:30
    stream.send("pageviews", 0, pageview("p0-later", 0, 0), BASE + 6 * MINUTE + 1)
    result = stream.run()
    assert result.watermark == at(BASE + 5 * MINUTE + 1).replace(tzinfo=UTC)  # newest - 60 s: waited long enough
    assert stream.con.execute(closed + " ORDER BY ALL").fetchall() == [(at(BASE),), (at(BASE + 5 * MINUTE),)]
    stream.close()


def test_a_time_without_a_zone_is_utc_on_any_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    try:
        stream = Stream(tmp_path, TimePolicy(mode="event"))
        assert stream.con.execute("SELECT current_setting('TimeZone')").fetchall() == [("America/New_York",)]
        stream.send("pageviews", 0, pageview("zoneless", 0, "2022-08-13T00:05:00.000"), BASE + 5 * MINUTE)
        stream.send("pageviews", 0, pageview("offset", 0, "2022-08-13T02:05:00.000+02:00"), BASE + 5 * MINUTE)
        stream.send("pageviews", 0, pageview("next", 0, "2022-08-13T00:05:01Z"), BASE + 5 * MINUTE + 1000)
        stream.send("pageviews", 1, pageview("ahead", 1, "2022-08-13T00:10:02"), BASE + 5 * MINUTE + 1000)
        result = stream.run()
        assert (result.early, result.late, result.out_of_order) == (1, 0, 0)  # only "ahead": 5 min 1 s early
        assert stream.rows("raw_pageviews", "event_id, event_timestamp") == [
            ("ahead", at(BASE + 10 * MINUTE + 1000)), ("next", at(BASE + 5 * MINUTE + 1000)),
            ("offset", at(BASE + 5 * MINUTE)), ("zoneless", at(BASE + 5 * MINUTE))]
        stream.close()
    finally:
        monkeypatch.undo()
        time_module.tzset()


def test_digits_past_the_millisecond_are_kept_for_window_bounds(tmp_path: Path) -> None:
    stream = Stream(tmp_path, TimePolicy(mode="event"))
    stream.send("pageviews", 0, pageview("after-10", 0, "2022-08-13T00:10:00.0004Z"), BASE + 10 * MINUTE + 1000)
    stream.send("pageviews", 0, pageview("later", 0, BASE + 20 * MINUTE), BASE + 20 * MINUTE)
    stream.run()
    assert stream.rows("raw_pageviews", "event_id, event_timestamp")[0] == (
        "after-10", datetime(2022, 8, 13, 0, 10, 0, 400))
    assert stream.rows("agg_http_method", "window_end, pageviews") == [(at(BASE + 15 * MINUTE), 1)]  # (10, 15 min]
    stream.close()


def test_a_stream_that_starts_at_the_epoch_keeps_its_clock(tmp_path: Path) -> None:
    """Times of exactly 0 (1970-01-01T00:00:00Z) are a clock like any other, not an absent one."""
    def run(root: Path, split: bool) -> Stream:
        stream = Stream(root, TimePolicy(mode="event"))
        stream.send("pageviews", 0, pageview("zero", 0, "1970-01-01T00:00:00Z"), 0)
        if split:
            stream.run()
        stream.send("pageviews", 0, pageview("behind", 0, "1969-12-31T23:59:05Z"), 0)  # 55 s behind "zero"
        stream.run()
        return stream

    whole, split = run(tmp_path / "whole", False), run(tmp_path / "split", True)
    assert whole.outputs() == split.outputs()
    assert dict(split.rows("raw_pageviews", "event_id, event_timestamp"))["behind"] == datetime(1969, 12, 31, 23, 59,
                                                                                                 10)
    assert split.rows("agg_http_method", "window_end") == []
    whole.close()
    split.close()


def test_changing_the_time_mode_of_a_running_stream_is_refused(stream: Stream) -> None:
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)
    stream.run()
    stream.time = TimePolicy(mode="event")
    with pytest.raises(PlaygroundError, match="built in time mode 'arrival late=0s'"):
        stream.run()


def test_parts_in_the_lake_hold_each_batch_of_each_output(stream: Stream, tmp_path: Path) -> None:
    stream.send("pageviews", 0, pageview("a", 0, 0, latency=3000), BASE)
    stream.run()
    stream.send("pageviews", 0, pageview("b", 0, 0), BASE + 1)
    stream.run()
    parts = sorted(p.relative_to(tmp_path / "lake").as_posix() for p in (tmp_path / "lake").rglob("part-*"))
    assert "bronze/streaming/raw_pageviews/part-00000002.parquet" in parts
    assert "silver/streaming/alert_high_latency/part-00000001.parquet" in parts
    assert "silver/streaming/alert_high_latency/part-00000002.parquet" not in parts  # no rows, no part
    read = duckdb.sql(f"SELECT event_id FROM '{tmp_path}/lake/bronze/streaming/raw_pageviews/*.parquet' "
                      "ORDER BY ALL").fetchall()
    assert read == [("a",), ("b",)]


def test_a_backlog_is_taken_in_batches_of_at_most_max_events_and_reported_as_one(tmp_path: Path) -> None:
    """The micro-batch asset's memory is that of one batch whatever the backlog (issue 40: 1M events, 2.5 GiB)."""
    stream = Stream(tmp_path, partitions=3)
    for i in range(50):
        stream.send("pageviews" if i % 3 else "stars", i % 4, pageview(f"e{i}", i % 4, BASE + i * 20_000)
                    if i % 3 else star(f"e{i}", i % 4, BASE + i * 20_000), BASE + i * 20_000)
    result = process_backlog(stream.con, stream.log, stream.lake, stream.time, max_events=30)
    # 30 events over 6 topic partitions: 5 a partition, cut at the earliest arrival of those that hold more
    assert result.events == 50 and result.batches > 2
    assert stream.con.execute("SELECT max(batch) FROM streaming._time").fetchall()[0][0] == result.batches
    expected = reference_outputs(stream.log, stream.time, VIP, USERS)
    got = stream.outputs()
    for output in OUTPUT_NAMES:
        assert got[output] == sorted(expected[output], key=repr), output
    assert process_backlog(stream.con, stream.log, stream.lake, stream.time).events == 0
    stream.close()


def test_a_consumer_writes_the_batches_since_its_last_parts_as_one_part(stream: Stream, tmp_path: Path) -> None:
    """Every 10 s, not every batch: one part per output holds the batches since the last, named by the
    first."""
    raw = tmp_path / "lake/bronze/streaming/raw_pageviews"
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)
    stream.run()  # parts at once
    for n, event in enumerate("bcd", start=1):
        stream.send("pageviews", 0, pageview(event, 0, 0), BASE + n)
        process_batch(stream.con, stream.log, stream.lake, stream.time, part_every_s=3600)
    assert sorted(p.name for p in raw.glob("part-*")) == ["part-00000001.parquet"]  # b, c, d not yet
    flush_parts(stream.con, stream.lake)
    assert sorted(p.name for p in raw.glob("part-*")) == ["part-00000001.parquet", "part-00000002.parquet"]
    assert duckdb.sql(f"SELECT event_id FROM '{raw}/part-00000002.parquet' ORDER BY ALL").fetchall() == [
        ("b",), ("c",), ("d",)]
    stream.send("pageviews", 0, pageview("e", 0, 0), BASE + 9)
    stream.run()
    assert duckdb.sql(f"SELECT event_id FROM '{raw}/*.parquet' ORDER BY ALL").fetchall() == [
        (e,) for e in "abcde"]  # each row once


EVENT = st.fixed_dictionaries({
    "topic": st.sampled_from(["pageviews"] * 3 + ["stars"]),
    "user": st.integers(0, 3),  # three partitions: users 0 and 3 share one, and one may stay empty
    # Ties (0), bounds (15 min, 50 s, 60 s) and their neighbours are where batch boundaries can go wrong.
    "gap_ms": st.sampled_from([0, 0, 0, 1, 999, 10_000, 50_000, 60_000, 4 * MINUTE, 5 * MINUTE, 15 * MINUTE,
                               15 * MINUTE + 1, 61 * MINUTE]),
    # Racing producers: enqueued up to the late tolerance before events already sent (on any partition).
    "race_ms": st.sampled_from([0, 0, 0, 1, 30_000, 59_999, 60_000]),
    "skew_ms": st.sampled_from([0, 0, -1, -30_000, -50_000, -50_001, -60_000, -60_001, -120_000, 20_000,
                                5 * MINUTE - 1, 5 * MINUTE, 5 * MINUTE + 1]),
    "micros": st.sampled_from([0, 0, 1, 400, 999]),
    "zone": st.sampled_from(["Z", "Z", "", "+02:00"]),
    "latency": st.sampled_from([100.0, 2000.0, 2000.5, 4000.0, 4001.0]),
    "method": st.sampled_from(["GET", "POST"]),
    "malformed": st.sampled_from([False] * 9 + [True]),
})
POLICIES = [TimePolicy(), TimePolicy(mode="event", policy="adjust"), TimePolicy(mode="event", policy="drop")]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENT, min_size=1, max_size=40), cuts=st.lists(st.integers(1, 40), max_size=20),
       start=st.integers(0, 10 * MINUTE), policy=st.sampled_from(POLICIES), backlog_step=st.integers(1, 40))
def test_any_split_into_micro_batches_equals_the_all_at_once_reference(
        tmp_path_factory: pytest.TempPathFactory, events: list[dict], cuts: list[int], start: int,
        policy: TimePolicy, backlog_step: int) -> None:
    """Batches cut where the events were sent, then what is left taken as a backlog of batches of at most
    `backlog_step` events (as the consumer and the micro-batch asset take one)."""
    stream = Stream(tmp_path_factory.mktemp("stream"), policy, partitions=3)
    clock, malformed, boundaries = BASE + start, 0, set(cuts)
    for i, e in enumerate(events):
        clock += e["gap_ms"]
        enqueued = clock - e["race_ms"]
        event_time = iso(enqueued + e["skew_ms"], e["micros"], e["zone"])
        if e["malformed"]:
            body, malformed = b'{"event_id": ', malformed + 1
        elif e["topic"] == "pageviews":
            body = pageview(f"e{i}", e["user"], event_time, e["latency"], e["method"])
        else:
            body = star(f"e{i}", e["user"], event_time, 1 + i % 5)
        stream.send(e["topic"], e["user"], body, enqueued)
        if i + 1 in boundaries:
            stream.run()
    process_backlog(stream.con, stream.log, stream.lake, policy, max_events=backlog_step)
    expected = reference_outputs(stream.log, policy, VIP, USERS)
    got = stream.outputs()
    for output in OUTPUT_NAMES:
        assert got[output] == sorted(expected[output], key=repr), output
    assert stream.con.execute("SELECT count(*) FROM streaming._quarantine").fetchall()[0][0] == malformed
    stream.close()


def test_the_stream_analytics_query_is_the_rendering_of_the_scenarios() -> None:
    """The committed query, inputs and outputs cannot drift from the local engine's definitions:
    re-render after a change (`python -m dagster_project.streaming.stream_analytics`)."""
    from dagster_project.streaming.stream_analytics import JOB_FILE, QUERY_FILE, job, render, render_job

    assert QUERY_FILE.read_text() == render()
    assert JOB_FILE.read_text() == render_job()
    # The reference data where the generators write it (the original read VIPs from users/vip.json).
    assert job()["reference_inputs"]["vipusers"] == {"container": "landing", "path": "vipusers/vipusers.json"}
    assert job()["outputs"]["raw-pageviews"] == {"container": "bronze", "path": "streaming/raw_pageviews"}
    query = render()
    for needed in ("CAST(latency AS float) > 2000", "TumblingWindow(minute, 5)", "DATEDIFF(minute, p, s) BETWEEN 0 "
                   "AND 15", "ISFIRST(minute, 60) OVER (PARTITION BY user_id)", "[raw-vip-only]", "[vipusers]"):
        assert needed in query, needed
    assert query.count("INTO [") == 8 and "] TIMESTAMP BY" not in query
    assert "[pageviews] TIMESTAMP BY event_time" in render(event_time=True)


# What each output must agree on between the local engine and Spark (times as epoch ms).
SPARK_COLUMNS = {
    "raw_pageviews": "event_id, user_id, http_method, latency, epoch_ms(event_timestamp), partition_id, byte_offset",
    "raw_stars": "event_id, user_id, stars, epoch_ms(event_timestamp), partition_id, byte_offset",
    "raw_vip_only": "event_id",
    "pageviews_stars_correlation": "pageview_event_id, star_event_id, round(seconds_between, 3)::DOUBLE",
    "alert_high_latency": "event_id, latency",
    "alert_high_latency_enriched": "event_id, name, city",
    "parsed_pageviews": "kafka_topic, kafka_partition, kafka_offset, epoch_ms(kafka_timestamp), event_id, latency",
    "parsed_stars": "kafka_topic, kafka_partition, kafka_offset, epoch_ms(kafka_timestamp), event_id, stars",
    "high_latency": "event_id",
    # Spark emits a window or an ISFIRST interval when its watermark passes the end: compare the ended ones.
    "agg_http_method": "epoch_ms(window_end), http_method, pageviews",
    "first_event_in_user_sequence": "user_id, event_id, epoch_ms(interval_end)",
}
ENDED = {"agg_http_method": "window_end", "first_event_in_user_sequence": "interval_end"}


@pytest.mark.e2e
def test_the_spark_structured_streaming_job_matches_the_local_engine(tmp_path: Path) -> None:
    """The Databricks solution's job (local PySpark, file source, four micro-batches) against the local
    engine (six micro-batches) on the same generated events: every output equal."""
    from bench.streaming import recorded_stream
    from dagster_project.on_spark.streaming import export_records, file_source, local_spark, outputs, run_available

    stream = Stream(tmp_path)
    stream.lake.write_bytes("landing/vipusers/vipusers.json", b"".join(b'{"id": %d}\n' % i for i in range(0, 40, 4)))
    stream.lake.write_bytes("landing/users/users.json", b"".join(
        json.dumps({"id": i, "name": f"user {i}", "city": "Brno"}).encode() + b"\n" for i in range(30)))
    for part in recorded_stream(8_000, 6, rate=2.0, users=40):  # about 70 minutes: an hour ends
        for topic, keys, bodies, enqueued in part:
            stream.log.send(topic, keys, bodies, enqueued_time=enqueued)
        stream.run()
    export_records(stream.log, tmp_path / "records")

    spark = local_spark(tmp_path / "spark-warehouse")
    try:
        frames = outputs(spark, file_source(spark, tmp_path / "records", "pageviews"),
                         file_source(spark, tmp_path / "records", "stars"), tmp_path / "lake" / "landing")
        run_available(frames, tmp_path / "spark", tmp_path / "checkpoints")
    finally:
        spark.stop()

    assert stream.rows("pageviews_stars_correlation") and stream.rows("raw_vip_only")  # the scenarios have data
    for output, columns in SPARK_COLUMNS.items():
        spark_rows = duckdb.sql(f"SELECT {columns} FROM '{tmp_path}/spark/{output}/*.parquet'").fetchall()
        where = ""
        if output in ENDED:
            last = duckdb.sql(f"SELECT max({ENDED[output]}) FROM '{tmp_path}/spark/{output}/*.parquet'").fetchall()
            where = f"WHERE {ENDED[output]} <= '{last[0][0].replace(tzinfo=None)}'"
            assert last[0][0] is not None, output
        ours = stream.con.execute(f"SELECT {columns} FROM streaming.{output} {where}").fetchall()
        assert sorted(spark_rows, key=repr) == sorted(ours, key=repr), output
    stream.close()


def test_a_streaming_database_named_like_its_schema_is_refused_clearly(tmp_path: Path) -> None:
    stream = Stream(tmp_path)
    with duckdb.connect(str(tmp_path / "streaming.duckdb")) as con, \
            pytest.raises(PlaygroundError, match="PLAYGROUND_STREAMING"):
        process_batch(con, stream.log, stream.lake, TimePolicy())
    stream.close()


def test_a_new_streaming_file_is_stamped_with_the_engines_layout(tmp_path: Path) -> None:
    from dagster_project.streaming.engine import STATE_VERSION

    stream = Stream(tmp_path)
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)
    stream.run()
    stream.run()  # a file of this layout goes on
    assert stream.con.execute("SELECT version FROM streaming._version").fetchall() == [(STATE_VERSION,)]
    stream.close()


def test_a_file_of_the_stamped_layout_kept_before_the_stamp_goes_on_and_is_stamped(tmp_path: Path) -> None:
    """`make demo` on a data/ folder from before the stamp: the state is the same layout, so nothing is lost."""
    from dagster_project.streaming.engine import STATE_VERSION

    stream = Stream(tmp_path)
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)
    stream.run()
    stream.con.execute("DROP TABLE streaming._version")  # as the engine before the stamp left it
    stream.send("pageviews", 0, pageview("b", 0, 0), BASE + 1_000)
    stream.run()
    assert stream.con.execute("SELECT version FROM streaming._version").fetchall() == [(STATE_VERSION,)]
    assert stream.con.execute("SELECT count(*) FROM streaming.raw_pageviews").fetchone()[0] == 2
    stream.close()


@pytest.mark.parametrize(("kept_by", "state"), [
    ("an engine from before the layout was stamped", "CREATE TABLE streaming._clock (batch BIGINT)"),
    ("layout 2", "CREATE TABLE streaming._version (version INTEGER); INSERT INTO streaming._version VALUES (2)")])
def test_a_streaming_file_of_another_layout_is_refused_with_one_error(tmp_path: Path, kept_by: str,
                                                                      state: str) -> None:
    """Its tables mean other things: one error naming the file, its layout and what to delete; nothing written."""
    stream = Stream(tmp_path)
    stream.con.execute(f"CREATE SCHEMA streaming; {state}")
    before = stream.con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    stream.send("pageviews", 0, pageview("a", 0, 0), BASE)
    with pytest.raises(PlaygroundError, match=rf"kept by {kept_by}; this engine keeps layout 1: delete it "
                                              r"\(PLAYGROUND_STREAMING\)"):
        stream.run()
    assert stream.con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall() == before
    stream.close()


def test_the_pageview_outputs_are_views_over_each_pageview_kept_once(tmp_path: Path) -> None:
    stream = Stream(tmp_path)
    stream.send("pageviews", 0, pageview("slow-vip", 1, BASE, latency=5000.0), BASE)
    stream.send("pageviews", 0, pageview("fast", 0, BASE, latency=10.0), BASE)
    result = stream.run()
    assert stream.con.execute("SELECT count(*) FROM streaming._pageviews").fetchone()[0] == 2
    kinds = dict(stream.con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                    "WHERE table_schema = 'streaming'").fetchall())
    pageview_outputs = ["raw_pageviews", "raw_vip_only", "alert_high_latency", "alert_high_latency_enriched",
                        "high_latency", "parsed_pageviews"]
    assert {kinds[o] for o in pageview_outputs} == {"VIEW"}
    assert [result.rows[o] for o in pageview_outputs] == [2, 1, 1, 1, 1, 2]
    assert [result.totals[o] for o in pageview_outputs] == [2, 1, 1, 1, 1, 2]
    stream.close()


def test_a_consumers_batches_are_reported_together_every_few_seconds() -> None:
    """Counts summed, positions the latest batch's; a report when `every_s` has passed and one at the stop."""
    from dagster_project.streaming.assets import Reports
    from dagster_project.streaming.engine import BatchResult

    def batch(n: int, rows: int) -> BatchResult:
        return BatchResult(n, {"pageviews": {0: n - 1}}, {"pageviews": {0: n}}, events=rows, quarantined=1, early=0,
                           late=n, out_of_order=0, adjusted=0, dropped=0, watermark=None,
                           rows={"raw_pageviews": rows}, totals={"raw_pageviews": 100 + n})

    clock, emitted = [0.0], []
    reports = Reports(emitted.append, 10.0, lambda: clock[0])
    for n, at in ((1, 0.5), (2, 1.0), (3, 10.5), (4, 11.0)):
        clock[0] = at
        reports.add(batch(n, rows=n * 10))
    clock[0] = 15.0
    reports.due()  # between batches, none due yet
    assert len(emitted) == 1
    clock[0] = 21.0
    reports.due()  # no batch since, but due: the pending batch is reported without waiting for the next
    first, second = emitted
    assert (first.batch, first.batches, first.events, first.quarantined, first.late) == (3, 3, 60, 3, 6)
    assert (first.rows, first.totals, first.offsets_from, first.offsets_to) == (
        {"raw_pageviews": 60}, {"raw_pageviews": 103}, {"pageviews": {0: 0}}, {"pageviews": {0: 3}})
    assert (second.batch, second.batches, second.events) == (4, 1, 40)
    reports.flush()
    assert len(emitted) == 2  # nothing pending, nothing reported
