"""Every benchmark: `python -m bench` (full, about half an hour) or `python -m bench --quick`.

Every figure is printed beside a baseline measured in the same run, as a ratio, because these
machines are shared and noisy. Peak memory is read per child process (wait4's rusage).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.baselines import original_orders, original_stream, original_users
from bench.peak_rss import cli

GOALS = {"users": 100.0, "stream_events_per_s": 100_000, "orders_10m_s": 90.0}


def line(name: str, ours: float, base: float, unit: str, goal: str = "") -> None:
    print(f"{name:<34} ours {ours:>12,.0f} {unit:<9} baseline {base:>10,.0f} {unit:<9} "
          f"ratio {ours / base:>7.1f}x {goal}", flush=True)


def start_up(args: list[str], cwd: Path, runs: int = 5) -> float:
    """The fastest of `runs` whole runs of a command, in seconds (the fastest: start-up is what is timed,
    not the machine's other load)."""
    fastest = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(args, cwd=cwd, capture_output=True, check=True)
        fastest = min(fastest, time.perf_counter() - began)
    return fastest


def cli_start_up(work: Path) -> None:
    print("# CLI start-up: a whole command, fastest of 5, against a bare `python -c pass` (goal <= 0.5 s)",
          flush=True)
    playground = [sys.executable, "-m", "playground.generators.cli"]
    base = start_up([sys.executable, "-c", "pass"], work)
    for name, args in (("playground --help", ["--help"]),
                       ("generate users --count 10", ["generate", "users", "--count", "10", "--lake", "lake",
                                                      "--quiet"])):
        seconds = start_up(playground + args, work)
        print(f"{name:<34} ours {seconds:>6.2f} s   baseline {base:>6.2f} s   ratio {seconds / base:>6.1f}x",
              flush=True)


def timed(fn: Callable[..., object], *args: object) -> float:
    began = time.perf_counter()
    fn(*args)
    return time.perf_counter() - began


def main() -> None:
    from playground.generators.behaviour import Shop
    from playground.generators.events import StreamConfig
    from playground.generators.run import generate_events, generate_orders, generate_products, generate_users
    from playground.generators.vocab import vocab
    from playground.io.bus.embedded import EmbeddedLog
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmarks run")
    quick = parser.parse_args().quick
    scale = 0.01 if quick else 1.0
    users, orders, events = int(1_000_000 * scale), int(10_000_000 * scale), int(1_000_000 * scale)
    print(f"# generator benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
          + (" (quick)" if quick else ""), flush=True)
    vocab()  # built once per process; not part of any one run
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cli_start_up(work)
        lake = Lake(str(work / "lake"))

        base = original_users(max(200, int(2_000 * scale)), work / "baseline-users.json")
        seconds = timed(generate_users, lake, 1, users, users // 100)
        line(f"users ({users:,}, every field)", users / seconds, base, "rows/s",
             f"{seconds:.1f} s, goal >= {GOALS['users']:.0f}x")

        generate_products(lake, 1, 10_000)
        base = original_orders(max(1_000, int(50_000 * scale)), work / "baseline-orders.db")
        with OrdersDB(f"sqlite:///{work / 'orders.db'}") as db:
            seconds = timed(generate_orders, db, lake, Shop(1, users, 10_000, users // 100), orders)
            rows = sum(db.counts().values())
        line(f"orders+items ({orders:,} orders)", rows / seconds, base, "rows/s",
             f"{seconds:.1f} s (goal for 10M orders: < {GOALS['orders_10m_s']:.0f} s)")
        # The shop's rules (playground.generators.behaviour) against the same orders drawn plainly, as the original did.
        with OrdersDB(f"sqlite:///{work / 'plain-orders.db'}") as db:
            plain = timed(generate_orders, db, lake, Shop(1, users, 10_000, users // 100, behaviour=False), orders)
        print(f"{'orders+items, the rules vs plain':<34} ours {seconds:>8.1f} s   baseline {plain:>8.1f} s   "
              f"ratio {seconds / plain:>6.2f}x (goal: about 1)", flush=True)

        base = original_stream(max(500, int(20_000 * scale)), work / "baseline-events.db")
        config = StreamConfig(1, users, 10_000, datetime(2022, 8, 13, tzinfo=UTC))
        seconds = timed(generate_events, EmbeddedLog(str(work / "events.db")), lake, config, events, "bench")
        line(f"stream into embedded log ({events:,})", events / seconds, base, "events/s",
             f"goal >= {GOALS['stream_events_per_s']:,}/s")

        print("# peak RSS of a whole `playground generate` process: flat in the size, as it streams in chunks",
              flush=True)
        common = ["--lake", "lake", "--orders-url", "sqlite:///orders.db", "--bus", "events.db"]
        for source, small in (("users", users), ("orders", orders // 10), ("pageviews", events)):
            memory = [cli(["generate", source, "--count", str(n), *common], work)[1] for n in (small, small * 10)]
            print(f"{source:<10} {small:>12,}: {memory[0]:>6} MiB   {small * 10:>12,}: {memory[1]:>6} MiB   "
                  f"ratio {memory[1] / memory[0]:.2f}", flush=True)

    from bench import dbt_build, definitions_load, ingest, streaming, streaming_latency

    ingest.report(quick)
    definitions_load.main()
    streaming.report(quick)
    print("# end-to-end streaming latency, produce to output row, under the daemon with make up's settings",
          flush=True)
    streaming_latency.measure(0.5 if quick else 3.0)
    dbt_build.report(quick)


if __name__ == "__main__":
    main()
