"""Streaming scenarios' throughput, events/s on one core: `python -m bench.streaming [--quick]`.

A generated stream (1M events at 100 events/s of event time, about 2.8 hours, enqueued in
10-second steps) goes through the local engine as one batch, timed per stage, then as 100 and as 50
micro-batches, as the long-running consumer takes them (its parts every 10 s; at 20,000 events/s its
batches hold ~20,000 events), each run ending with its last parts and a checkpoint. A scenario's
cost is the shared stages (read the bus, decode, reference data, place in time, bookkeeping and the
commit) plus its own state, its rows and its Parquet parts in the lake. The baseline, measured on
the same events, is the least a per-event Python consumer does: json.loads of each body and one
comparison (the alert filter); beside it, what DuckDB itself does with the bodies (read_json into a
table), the most any scenario of this engine could reach. Two lines bound what micro-batches can
reach: what their commits and checkpoints cost beyond the one batch's, and the cost of 100 batches
of almost no events, against the time the 0.70x goal leaves over the one batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
from playground.catalog import TOPIC_TYPES

from dagster_project.bronze.store import DUCKDB_TYPES
from dagster_project.streaming.engine import PART_EVERY_S
from dagster_project.streaming.outputs import PAGEVIEWS as PAGEVIEWS_TABLE

GOALS = {"filter": 100_000, "window": 100_000, "join": 40_000}
SHARED = ("read", "decode", "reference", "time", "bookkeeping", "commit", "checkpoint")
PAGEVIEWS = [PAGEVIEWS_TABLE, "views"]  # every pageview output is a view over the pageviews kept: shared cost
SCENARIOS = {  # scenario -> (goal kind, its outputs' parts, other stages it needs: its state, the tables it writes)
    "raw_pageviews": ("filter", ["raw_pageviews"], PAGEVIEWS),
    "raw_stars": ("filter", ["raw_stars"], ["raw_stars"]),
    "raw_vip_only": ("filter", ["raw_vip_only"], PAGEVIEWS),
    "alert_high_latency": ("filter", ["alert_high_latency"], PAGEVIEWS),
    "alert_high_latency_enriched": ("filter", ["alert_high_latency_enriched"], PAGEVIEWS),
    "parsed_pageviews + parsed_stars": ("filter", ["parsed_pageviews", "parsed_stars"], [*PAGEVIEWS, "raw_stars"]),
    "high_latency": ("filter", ["high_latency"], PAGEVIEWS),
    "agg_http_method (5-min window)": ("window", ["agg_http_method"], ["window state", "agg_http_method"]),
    "first_event_in_user_sequence": ("window", ["first_event_in_user_sequence"],
                                     ["first-event state", "first_event_in_user_sequence"]),
    "pageviews_stars_correlation (15-min join)": ("join", ["pageviews_stars_correlation"],
                                                  ["correlation pairs", "pageviews_stars_correlation"]),
}
STEP_MS = 10_000


def recorded_stream(events: int, steps: int, rate: float = 100.0, users: int = 100_000
                    ) -> list[list[tuple[str, np.ndarray, np.ndarray, int]]]:
    """A generated stream's sends (topic, keys, bodies, enqueued ms: event time in 10-second steps),
    grouped into `steps` equal parts."""
    from playground.generators.events import EventStream, StreamConfig

    stream = EventStream(StreamConfig(seed=3, users=users, products=1_000, start=datetime(2022, 8, 13, tzinfo=UTC),
                                      rate=rate))
    sends, count = [], 0
    for batch in stream.batches():
        batch = batch.slice(0, min(len(batch), events - count))
        count += len(batch)
        step = batch.time_us // 1000 // STEP_MS
        for s in np.unique(step):
            chosen = step == s
            for topic, is_topic in (("pageviews", ~batch.is_star), ("stars", batch.is_star)):
                mask = chosen & is_topic
                if mask.any():
                    sends.append((topic, batch.keys[mask], batch.bodies[mask], int(s + 1) * STEP_MS - 1))
        if count >= events:
            break
    size = -(-len(sends) // steps)
    return [sends[i: i + size] for i in range(0, len(sends), size)]


def run(work: Path, parts: list[list[tuple]], name: str, part_every_s: float = 0.0
        ) -> tuple[float, dict[str, float], int]:
    """Feed the log part by part, a micro-batch after each, then write what is left to the lake and
    checkpoint the file: (seconds in the engine, seconds per stage, events)."""
    from playground.io.bus.embedded import EmbeddedLog
    from playground.io.lake import Lake

    from dagster_project.streaming.clock import TimePolicy
    from dagster_project.streaming.engine import process_batch

    log = EmbeddedLog(str(work / f"{name}.db"))
    lake = Lake(str(work / "lake"))
    con = duckdb.connect(str(work / f"{name}.duckdb"))
    con.execute("SET threads = 1")  # per core
    engine, stages, events = 0.0, {}, 0
    for part in parts:
        for topic, keys, bodies, enqueued in part:
            log.send(topic, keys, bodies, enqueued_time=enqueued)
        began = time.perf_counter()
        result = process_batch(con, log, lake, TimePolicy(), part_every_s=part_every_s)
        engine += time.perf_counter() - began
        events += result.events
        for stage, seconds in result.seconds.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    began = time.perf_counter()
    process_batch(con, log, lake, TimePolicy())  # the parts not written yet
    con.execute("CHECKPOINT")
    stages["checkpoint"] = time.perf_counter() - began
    engine += stages["checkpoint"]
    con.close()
    log.close()
    discard(work, name)  # a run's log and database: the next runs need the disk
    return engine, stages, events


def written(stages: dict[str, float]) -> float:
    """Seconds a run spent committing and checkpointing: writing its rows to the DuckDB file."""
    return stages.get("commit", 0.0) + stages["checkpoint"]


def discard(work: Path, name: str) -> None:
    """Every file of `work` named `name`.*: a run's database, its log, its bodies."""
    for file in work.glob(f"{name}.*"):
        file.unlink()


def baseline(parts: list[list[tuple]]) -> float:
    """Events/s of json.loads + one comparison per event."""
    bodies = [b for part in parts for _, _, chunk, _ in part for b in chunk]
    began = time.perf_counter()
    alerts = sum(1 for b in bodies if (json.loads(b).get("latency") or 0) > 2000)
    assert alerts >= 0
    return len(bodies) / (time.perf_counter() - began)


def duckdb_ceiling(work: Path, parts: list[list[tuple]]) -> float:
    """Events/s of DuckDB's own `read_json` (newline-delimited, both topics' columns given, one thread) filling
    a table of a new database file with the same bodies: the engine's own rate to parse and keep every event,
    before any bus, clock, state or lake."""
    columns = {field: DUCKDB_TYPES[kind] for types in TOPIC_TYPES.values() for field, kind in types.items()}
    with (work / "ceiling.json").open("wb") as handle:
        for part in parts:
            for _, _, bodies, _ in part:
                handle.write(b"\n".join(bodies) + b"\n")
    con = duckdb.connect(str(work / "ceiling.duckdb"))
    con.execute("SET threads = 1")
    began = time.perf_counter()
    events = con.execute("CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited', "
                         "columns = ?)", [str(work / "ceiling.json"), columns]).fetchone()[0]
    con.close()
    rate = events / (time.perf_counter() - began)
    discard(work, "ceiling")
    return rate


def report(quick: bool) -> None:
    events, rounds = (10_000, 1) if quick else (1_000_000, 3)
    print(f"# streaming scenarios, {events:,} events, events/s on one core "
          f"(baseline: a per-event Python json.loads consumer)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        streams = {batches: recorded_stream(events, batches) for batches in (100, 50)}
        one_batch = [[send for part in streams[100] for send in part]]
        base = baseline(streams[100])
        ceiling = duckdb_ceiling(work, streams[100])
        whole, stages, total = run(work, one_batch, "one")
        shared = sum(stages.get(s, 0.0) for s in SHARED)
        for scenario, (kind, outputs, needs) in SCENARIOS.items():
            own = needs + [f"part {o}" for o in outputs]  # its state, its rows, its lake parts
            rate = total / (shared + sum(stages.get(s, 0.0) for s in own))
            print(f"{scenario:<42} ours {rate:>10,.0f} events/s  baseline {base:>9,.0f}  ratio {rate / base:>5.1f}x "
                  f"(goal >= {GOALS[kind]:,}/s)", flush=True)
        # Issue 21 asks each scenario for 3x the baseline: above what DuckDB itself does with the bodies.
        print(f"{'DuckDB read_json into a table (no engine)':<42} rate {ceiling:>10,.0f} events/s  "
              f"baseline {base:>9,.0f}  ratio {ceiling / base:>5.1f}x (the engine's own ceiling)", flush=True)
        # The one batch against the goal's 100 micro-batches and against 50 (what the consumer takes at 20,000
        # events/s), run in turn `rounds` times and compared by their medians: a shared machine's speed drifts
        # by 10-20% from one minute to the next.
        seconds: dict[int, list[float]] = {1: [whole], 100: [], 50: []}
        writes: dict[int, list[float]] = {1: [written(stages)], 100: [], 50: []}  # commits and checkpoints
        for turn in range(rounds):
            for batches, stream in (({1: one_batch} if turn else {}) | streams).items():
                engine, run_stages, _ = run(work, stream, f"run{batches}-{turn}", PART_EVERY_S if batches > 1 else 0)
                seconds[batches].append(engine)
                writes[batches].append(written(run_stages))
        whole = statistics.median(seconds[1])
        runs = f"median of {rounds} runs" if rounds > 1 else "one run"
        print(f"{'every scenario, one batch':<42} ours {total / whole:>10,.0f} events/s  ({whole:.1f} s, {runs}; "
              f"shared stages {shared:.1f} s)", flush=True)
        for batches, note in ((100, "goal >= 0.70x"),
                              (50, f"{events // 50:,} events a batch; the consumer's hold ~20,000 at 20,000/s")):
            micro = statistics.median(seconds[batches])
            print(f"{f'every scenario, {batches} micro-batches':<42} ours {total / micro:>10,.0f} events/s  one batch "
                  f"{total / whole:>9,.0f}  ratio {whole / micro:>5.2f}x ({micro:.1f} s, {runs}; {note})", flush=True)
        # What committing each batch's rows costs beyond the one batch's writes: no fewer statements can remove it.
        micro_writes, one_writes = statistics.median(writes[100]), statistics.median(writes[1])
        more = micro_writes - one_writes
        print(f"{'writes of 100 micro-batches':<42} commits+checkpoints {micro_writes:.2f} s, "
              f"one batch's {one_writes:.2f} s: at least {whole:.2f} s + {more:.2f} s = "
              f"{whole + more:.2f} s  ratio {whole / (whole + more):>5.2f}x (the most 100 micro-batches reach "
              "while each commits its rows to DuckDB)", flush=True)
        # A micro-batch's own cost, its data aside (~100 events a batch), against what the goal leaves for it.
        tiny = recorded_stream(max(100, events // 100), 100, rate=1.0)
        fixed, _, tiny_events = run(work, tiny, "fixed", PART_EVERY_S)
        hundred, allowed = fixed * 100 / len(tiny), whole / 0.70 - whole
        print(f"{'fixed cost of 100 micro-batches':<42} {len(tiny)} batches of ~{tiny_events // len(tiny):,} events "
              f"{fixed:.2f} s, 100 {hundred:.2f} s; 0.70x allows {allowed:.2f} s over the one batch  "
              f"ratio {hundred / allowed:>5.2f}x", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k events: checks the benchmark runs")
    report(parser.parse_args().quick)
