"""End-to-end streaming latency, produce to alert row, with `make up`'s settings:
`python -m bench.streaming_latency [--minutes M]`.

A Dagster daemon (sensors on, the repo's dagster_instance.yaml run queue) and `playground stream
--rate 50` run for a few minutes in a temporary folder; then, for every row of
streaming.alert_high_latency and streaming.raw_pageviews, latency = processed_time (stamped as
the batch writes its outputs) - enqueued_time (when the bus accepted the event). The sensor's
interval, measured in the same run as the time between its micro-batches, is the baseline.
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
from pathlib import Path

import duckdb

from dagster_project.instance import prepare

ROOT = Path(__file__).resolve().parents[1]
GOAL_P95_S = 30.0
RATE = 50  # make up's --rate


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
        daemon_log = work / "daemon.log"
        daemon = subprocess.Popen([bin_dir / "dagster-daemon", "run", "-m", "dagster_project.definitions"], env=env,
                                  cwd=ROOT, stdout=daemon_log.open("wb"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            time.sleep(10)  # the daemon up before the first event
            subprocess.run([bin_dir / "playground", "stream", "--rate", str(RATE), "--duration", str(minutes * 60),
                            "--seed", "1"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            time.sleep(30)  # the last events' batch
        finally:
            os.killpg(daemon.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.pid, signal.SIGKILL)  # and any run worker left in its group
        if not (work / "streams.duckdb").exists():
            tail = daemon_log.read_text(errors="replace").splitlines()[-30:]
            raise SystemExit("no micro-batch ran; the daemon's last lines:\n" + "\n".join(tail))
        with duckdb.connect(str(work / "streams.duckdb"), read_only=True) as con:
            batches, gap = con.execute("""
                SELECT count(*), quantile_cont(gap, 0.5) FROM (
                    SELECT (epoch_ms(t) - epoch_ms(lag(t) OVER (ORDER BY t))) / 1000.0 AS gap
                    FROM (SELECT DISTINCT processed_time AS t FROM streaming.raw_pageviews))""").fetchone()
            for output in ("alert_high_latency", "raw_pageviews"):
                count, p50, p95, worst = con.execute(f"""
                    SELECT count(*), quantile_cont(s, 0.5), quantile_cont(s, 0.95), max(s) FROM (
                        SELECT (epoch_ms(processed_time) - epoch_ms(enqueued_time)) / 1000.0 AS s
                        FROM streaming.{output})""").fetchone()
                print(f"{output + ' latency':<34} p50 {p50:>5.1f} s  p95 {p95:>5.1f} s  max {worst:>5.1f} s  "
                      f"batch interval {gap:.1f} s  ratio {p95 / gap:.2f} "
                      f"({count:,} rows; goal p95 <= {GOAL_P95_S:.0f} s)",
                      flush=True)
            print(f"{'micro-batches':<34} {batches} in {minutes:g} min, median {gap:.1f} s apart "
                  f"(baseline: the sensor's interval as it ran)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0)
    measure(parser.parse_args().minutes)
