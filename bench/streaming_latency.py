"""End-to-end streaming latency, produce to output row, with `make up`'s settings:
`python -m bench.streaming_latency [--minutes M]`.

A Dagster daemon (sensors on, the repo's dagster_instance.yaml run queue) keeps the long-running
streaming consumer going (sensor streaming_consumer_running) while `playground stream` sends at
`make up`'s rate (50 events/s) for M minutes, then at 20,000 events/s for M minutes. For every row of
streaming.alert_high_latency and streaming.raw_pageviews, latency = processed_time (stamped as its
batch writes its outputs) - enqueued_time (when the bus accepted the event). The baseline, measured in
the same run, is the time between micro-batches as they ran; at 20,000/s the p95 of the last part of
the phase over its first part says whether a backlog grows. The sensor new_data ingests the same events
into bronze meanwhile: per phase, how many bronze runs took how many of its pageviews, and how late.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.instance import prepare

ROOT = Path(__file__).resolve().parents[1]
PHASES = ((50, 3.0), (20_000, 1.0))  # (events/s, goal for the p95 in seconds); 50/s is make up's rate
WARM_UP_S = 30  # events before the consumer runs (it starts once the bus has some) are not measured


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # as the bus stamps enqueued_time


def measure(minutes: float) -> None:
    bin_dir = Path(sys.executable).parent
    # The daemon's run workers may still be writing their logs as the folder goes.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        home = prepare(work / "dagster")
        env = {**os.environ, "DAGSTER_HOME": str(home), "PLAYGROUND_TARGET": "local",
               "PLAYGROUND_LAKE": str(work / "lake"), "PLAYGROUND_BUS": str(work / "events.db"),
               "PLAYGROUND_ORDERS_URL": f"sqlite:///{work / 'orders.db'}",
               "PLAYGROUND_WAREHOUSE": str(work / "warehouse.duckdb"),
               "PLAYGROUND_STREAMING": str(work / "streams.duckdb")}
        subprocess.run([bin_dir / "playground", "generate", "users", "--count", "10000", "--quiet"], env=env,
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)

        def stream(rate: int, seconds: float, seed: int) -> tuple[datetime, datetime]:
            began = _now()
            sent = subprocess.run([bin_dir / "playground", "stream", "--rate", str(rate), "--duration", str(seconds),
                                   "--seed", str(seed)], env=env, cwd=ROOT, capture_output=True, text=True)
            if sent.returncode:
                raise SystemExit(f"playground stream failed: {sent.stderr[-2000:]}")
            return began, _now()

        daemon_log = work / "daemon.log"
        daemon = subprocess.Popen([bin_dir / "dagster-daemon", "run", "-m", "dagster_project.definitions"], env=env,
                                  cwd=ROOT, stdout=daemon_log.open("wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            stream(PHASES[0][0], WARM_UP_S, 1)  # the bus exists: the sensor starts the consumer meanwhile
            phases = [stream(rate, minutes * 60, seed) for seed, (rate, _) in enumerate(PHASES, start=2)]
            time.sleep(20)  # the last events' batches
        finally:
            os.killpg(daemon.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.pid, signal.SIGKILL)  # and any run worker left in its group
        if not (work / "streams.duckdb").exists():
            tail = daemon_log.read_text(errors="replace").splitlines()[-30:]
            raise SystemExit("no micro-batch ran; the daemon's last lines:\n" + "\n".join(tail))
        with read_when_released(work / "streams.duckdb") as con:
            report(con, phases)
        with read_when_released(work / "warehouse.duckdb") as con:
            report_bronze(con, phases)


def read_when_released(path: Path, wait_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """The file opened read-only once its writer is gone: a run worker killed a moment ago may still hold its
    lock while the system tears the process down."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:
            if "lock" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def report(con: duckdb.DuckDBPyConnection, phases: list[tuple[datetime, datetime]]) -> None:
    latency = "(epoch_us(processed_time) - epoch_us(enqueued_time)) / 1e6"
    for (rate, goal), (began, ended) in zip(PHASES, phases, strict=True):
        within = "enqueued_time BETWEEN ? AND ?"
        batches, gap = con.execute(f"""
            SELECT count(*), quantile_cont(gap, 0.5) FROM (
                SELECT (epoch_us(t) - epoch_us(lag(t) OVER (ORDER BY t))) / 1e6 AS gap
                FROM (SELECT DISTINCT processed_time AS t FROM streaming.raw_pageviews WHERE {within}))""",
                                   [began, ended]).fetchone()
        label = f"({rate:,} events/s)"
        for output in ("alert_high_latency", "raw_pageviews"):
            count, p50, p95, worst = con.execute(f"""
                SELECT count(*), quantile_cont(s, 0.5), quantile_cont(s, 0.95), max(s) FROM (
                    SELECT {latency} AS s FROM streaming.{output} WHERE {within})""", [began, ended]).fetchone()
            if not count:
                print(f"{output + ' latency ' + label:<46} no rows", flush=True)
                continue
            print(f"{output + ' latency ' + label:<46} p50 {p50:>5.2f} s  p95 {p95:>5.2f} s  max {worst:>5.2f} s  "
                  f"batch interval {gap:.2f} s  ratio {p95 / gap:.2f} ({count:,} rows; goal p95 <= {goal:g} s)",
                  flush=True)
        third = (ended - began) / 3
        first, last = (con.execute(f"""SELECT quantile_cont({latency}, 0.95) FROM streaming.raw_pageviews
                                       WHERE enqueued_time BETWEEN ? AND ?""", [a, b]).fetchone()[0]
                       for a, b in ((began, began + third), (ended - third, ended)))
        if first and last:
            print(f"{'backlog ' + label:<46} p95 first third {first:>5.2f} s  last third {last:>5.2f} s  "
                  f"ratio {last / first:.2f} (a backlog growing: well above 1)", flush=True)
        print(f"{'micro-batches ' + label:<46} {batches:,}, median {gap:.2f} s apart "
              f"(the baseline: the consumer's interval as it ran)", flush=True)


def report_bronze(con: duckdb.DuckDBPyConnection, phases: list[tuple[datetime, datetime]]) -> None:
    """What bronze took of each phase's pageviews beside the consumer: its runs (one batch id each), the rows and
    the p95 of ingested - enqueued time."""
    for (rate, _), (began, ended) in zip(PHASES, phases, strict=True):
        runs, rows, p95 = con.execute("""
            SELECT count(DISTINCT _batch_id), count(*),
                   quantile_cont((epoch_us(_ingested_at) - epoch_us(_enqueued_time)) / 1e6, 0.95)
            FROM bronze.pageviews WHERE _enqueued_time BETWEEN ? AND ?""", [began, ended]).fetchone()
        print(f"{f'bronze beside it ({rate:,} events/s)':<46} {runs} bronze runs took {rows:,} of the phase's "
              f"pageviews" + (f", p95 {p95:.1f} s after the bus" if rows else ""), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0, help="of each rate")
    measure(parser.parse_args().minutes)
