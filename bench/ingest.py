"""Bronze ingest cost follows new data, not history: `python -m bench.ingest [--quick]`.

For each way into bronze (lake files, SQL watermark, bus offsets) 10k new records are ingested,
with their checks, into a bronze that already holds as many (1x) and into one that holds 10x as
many; the ratio of the two times is the figure (goal: at most 1.5x). Each ingest runs in a fresh
process, as a Dagster run does, and its time includes the checks and closing the warehouse.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

GOAL_RATIO = 1.5
SEED, USERS, PRODUCTS = 7, 100_000, 1_000


def land(source: str, work: Path, start: int, stop: int) -> None:
    """Records start..stop of a source, landed where the generators put them."""
    from playground.io.lake import Lake

    lake = Lake(str(work / "lake"))
    if source == "products":
        from playground.generators.run import write_products

        write_products(lake, SEED, start, stop)
    elif source == "orders":
        from playground.generators.behaviour import Shop
        from playground.generators.orders import orders_batch
        from playground.io.orders_db import OrdersDB

        with OrdersDB(f"sqlite:///{work / 'orders.db'}") as db:
            db.ensure()
            for lo in range(start, stop, 100_000):
                batch = orders_batch(Shop(SEED, USERS, PRODUCTS), lo, min(stop, lo + 100_000))
                db.append(batch.orders, batch.items)
    else:
        from playground.generators.events import StreamConfig
        from playground.generators.run import generate_events
        from playground.io.bus.embedded import EmbeddedLog

        begins = datetime(2022, 8, 13, tzinfo=UTC) + timedelta(days=30 * (start > 0))
        generate_events(EmbeddedLog(str(work / "events.db")), lake,
                        StreamConfig(SEED + start, USERS, PRODUCTS, begins), stop - start, "bench")


def ingest(source: str, work: Path) -> float:
    """What the bronze asset does: ingest, check the batch, close the warehouse. Seconds taken."""
    import duckdb
    from playground.catalog import FILE_SOURCES
    from playground.io.bus.embedded import EmbeddedLog
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB

    from dagster_project.bronze.checks import key_checks
    from dagster_project.bronze.events import ingest_events
    from dagster_project.bronze.files import ingest_files
    from dagster_project.bronze.tables import ingest_orders

    began = time.perf_counter()
    con = duckdb.connect(str(work / "wh.duckdb"))
    if source in ("products", "users"):
        batch, tables = ingest_files(con, Lake(str(work / "lake")), FILE_SOURCES[source]).batch_id, [source]
    elif source == "orders":
        with OrdersDB(f"sqlite:///{work / 'orders.db'}") as db:
            batch, tables = ingest_orders(con, db).batch_id, ["orders", "items"]
    else:
        log = EmbeddedLog(str(work / "events.db"), readonly=True)
        batch, tables = ingest_events(con, log, "pageviews").batch_id, ["pageviews"]
        log.close()
    for table in tables:
        key_checks(con, table, batch)
    con.close()
    return time.perf_counter() - began


def seconds_to_ingest(source: str, history: int, new: int) -> float:
    """Land and ingest `history` records, land `new` more, and time their ingest in a fresh process:
    a long-lived process's heap would slow Python's GC and skew the figure."""
    def run_ingest(work: str) -> float:
        result = subprocess.run([sys.executable, "-m", "bench.ingest", "--ingest", source, work],
                                capture_output=True, text=True, check=True)
        return float(result.stdout.split()[-1])

    with tempfile.TemporaryDirectory() as tmp:
        land(source, Path(tmp), 0, history)
        run_ingest(tmp)
        land(source, Path(tmp), history, history + new)
        return run_ingest(tmp)


def users_file_rate(users: int) -> tuple[float, float, int]:
    """A users file of `users` lines into an empty bronze, and by DuckDB's own `read_json` into a table of
    the same columns, each in a fresh process with DuckDB's default threads: (lines/s, read_json's
    lines/s, peak RSS MiB of the ingest)."""
    from bench.peak_rss import cli

    def rate(*args: str) -> tuple[float, int]:
        result = subprocess.run([sys.executable, "-m", "bench.peak_rss", sys.executable, "-m", "bench.ingest", *args],
                                capture_output=True, text=True, check=True)
        seconds, rss_kib = result.stdout.split()[-2:]  # the run's seconds, then peak_rss's KiB
        return users / float(seconds), int(rss_kib) // 1024

    with tempfile.TemporaryDirectory() as tmp:
        cli(["generate", "users", "--count", str(users), "--lake", "lake"], Path(tmp))
        baseline, _ = rate("--read-json", tmp)
        ours, rss = rate("--ingest", "users", tmp)
    return ours, baseline, rss


def read_json(work: Path) -> float:
    """The baseline: DuckDB's read_json of the users file into a new table of bronze's column types, in a
    new database file, closed. Seconds taken."""
    import duckdb
    from playground.catalog import FILE_SOURCES, USERS_FILE

    from dagster_project.bronze.store import DUCKDB_TYPES

    columns = {name: DUCKDB_TYPES[kind] for name, kind in FILE_SOURCES["users"].types.items()}
    began = time.perf_counter()
    con = duckdb.connect(str(work / "read_json.duckdb"))
    con.execute("CREATE TABLE users AS SELECT * FROM read_json(?, format = 'newline_delimited', columns = ?)",
                [str(work / "lake" / USERS_FILE), columns])
    con.close()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmark runs")
    parser.add_argument("--ingest", nargs=2, metavar=("SOURCE", "DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--read-json", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest:
        print(ingest(args.ingest[0], Path(args.ingest[1])))
    elif args.read_json:
        print(read_json(Path(args.read_json)))
    else:
        report(args.quick)


def report(quick: bool) -> None:
    new = 1_000 if quick else 10_000
    print(f"# bronze ingest cost vs history, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores"
          + (" (quick)" if quick else ""), flush=True)
    for source, how in (("products", "a file each"), ("orders", "+ items, by watermark"),
                        ("pageviews", "by offsets")):
        small, large = (seconds_to_ingest(source, history, new) for history in (new, new * 10))
        print(f"{source + ' (' + how + ')':<32} {new:>6,} new over {new:>7,}: {small:5.2f} s   over {new * 10:>7,}: "
              f"{large:5.2f} s   ratio {large / small:.2f}x (goal <= {GOAL_RATIO}x)", flush=True)
    users = 10_000 if quick else 1_000_000
    rate, baseline, rss = users_file_rate(users)
    print(f"{'users file into bronze':<32} {users:>9,} lines: {rate:>9,.0f} lines/s   read_json into a table "
          f"{baseline:>9,.0f}/s   ratio {rate / baseline:.2f}x (goal >= 0.5x)   peak RSS {rss} MiB", flush=True)


if __name__ == "__main__":
    main()
