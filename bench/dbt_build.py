"""Silver + gold with dbt: DuckDB vs the local Spark target, and incremental vs full.
`python -m bench.dbt_build [--quick]` (medium scale: ten minutes or more; --quick: small).

Lands and ingests a data set into bronze, then times `dbt run` (every silver and gold model) on
DuckDB and on Spark (PySpark local[2], bronze read as Parquet) and prints both and their ratio
(goal: DuckDB at least 5x faster). Then 1% more orders and events arrive in bronze, and an
incremental `dbt run` is timed against a full refresh on DuckDB (goal: at most 15% of it);
`--no-spark` times only that.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

GOAL_RATIO = 5.0
MEDIUM = {"users": 1_000_000, "vip_users": 10_000, "products": 10_000, "orders": 10_000_000, "pageviews": 1_000_000}
SMALL = {"users": 10_000, "vip_users": 100, "products": 1_000, "orders": 100_000, "pageviews": 100_000}


def dbt_seconds(command: str, target: str, *args: str, env: dict[str, str]) -> float:
    """Seconds for one dbt command, after a parse for the same target (so the timed run parses nothing)."""
    from dagster_project.transform.dbt_cli import DBT_DIR, dbt_command

    def run(*words: str) -> None:
        subprocess.run(dbt_command(*words, "--target", target, scratch=env["SCRATCH"]),
                       cwd=DBT_DIR, env={**os.environ, **env}, check=True, capture_output=True)

    run("parse")
    began = time.perf_counter()
    run(command, *args)
    return time.perf_counter() - began


def land_and_ingest(work: Path, counts: dict[str, int]) -> None:
    from dagster import materialize
    from playground.catalog import LANDING_OPS

    from dagster_project.bronze.assets import duckdb_bronze, event_bronze
    from dagster_project.landing.assets import generated_landing
    from dagster_project.resources import BronzeCopyResource, BusResource, DuckDBFile, LakeResource, OrdersDBResource

    ops = {name: {"config": {"counts": counts}} for name in LANDING_OPS}
    resources = {"lake": LakeResource(root=str(work / "lake")),
                 "orders_db": OrdersDBResource(url=f"sqlite:///{work / 'o.db'}"),
                 "bus": BusResource(spec=str(work / "events.db")),
                 "warehouse": DuckDBFile(database=str(work / "wh.duckdb")), "bronze_copy": BronzeCopyResource()}
    from dagster_project.solutions import LOCAL

    assets = [*generated_landing(LOCAL), *duckdb_bronze(LOCAL), *event_bronze(LOCAL)]
    assert materialize(assets, resources=resources, run_config={"ops": ops}).success


def one_percent_more(work: Path, counts: dict[str, int]) -> None:
    """1% more orders (with their items) and pageviews (with stars) land, and bronze takes them."""
    import duckdb
    from playground.generators.behaviour import Shop
    from playground.generators.events import StreamConfig
    from playground.generators.orders import orders_batch
    from playground.generators.run import generate_events
    from playground.io.bus.embedded import EmbeddedLog
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB

    from dagster_project.bronze.events import ingest_events
    from dagster_project.bronze.tables import ingest_orders

    with OrdersDB(f"sqlite:///{work / 'o.db'}") as db:
        start = db.max_order_id() or 0
        batch = orders_batch(Shop(99, counts["users"], counts["products"], counts["vip_users"]), start,
                             start + counts["orders"] // 100)
        db.append(batch.orders, batch.items)
        with duckdb.connect(str(work / "wh.duckdb")) as con:
            ingest_orders(con, db)
    generate_events(EmbeddedLog(str(work / "events.db")), Lake(str(work / "lake")),
                    StreamConfig(99, counts["users"], counts["products"], datetime(2023, 1, 1, tzinfo=UTC)),
                    counts["pageviews"] // 100, "bench")
    reader = EmbeddedLog(str(work / "events.db"), readonly=True)
    with duckdb.connect(str(work / "wh.duckdb")) as con:
        for topic in ("pageviews", "stars"):
            ingest_events(con, reader, topic)
    reader.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small scale: checks the benchmark runs")
    parser.add_argument("--no-spark", action="store_true", help="DuckDB only: incremental vs full refresh")
    args = parser.parse_args()
    report(args.quick, spark=not args.no_spark)


def report(quick: bool, spark: bool = True) -> None:
    from playground.catalog import SOURCES
    from playground.io.lake import Lake

    from dagster_project.publish import publish_tables

    counts = SMALL if quick else MEDIUM
    print(f"# dbt silver + gold, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
          f"{'small' if quick else 'medium'} scale ({counts['orders']:,} orders)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        land_and_ingest(work, counts)
        env = {"PLAYGROUND_WAREHOUSE": str(work / "wh.duckdb"), "PLAYGROUND_LAKE": str(work / "lake"),
               "PLAYGROUND_SPARK_DIR": str(work / "spark"), "SCRATCH": str(work)}
        duck = dbt_seconds("run", "local", env=env)
        if spark:
            publish_tables(str(work / "wh.duckdb"), "bronze", list(SOURCES), Lake(str(work / "lake")))
            on_spark = dbt_seconds("run", "spark", env=env)
            print(f"full build   duckdb {duck:7.1f} s   spark (local[2]) {on_spark:7.1f} s   "
                  f"ratio {on_spark / duck:5.1f}x (goal: DuckDB >= {GOAL_RATIO:.0f}x faster)", flush=True)
        one_percent_more(work, counts)
        incremental = dbt_seconds("run", "local", env=env)
        full = dbt_seconds("run", "local", "--full-refresh", env=env)
        print(f"after 1% new data, duckdb   incremental {incremental:7.1f} s   full refresh {full:7.1f} s   "
              f"ratio {incremental / full:5.2f}x (goal <= 0.15x)", flush=True)


if __name__ == "__main__":
    main()
