"""Bronze ingestion of lake files: incremental, versioned, quarantined, exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from dagster_project.assets.bronze import bronze_assets
from dagster_project.assets.landing import landing_assets
from dagster_project.bronze.files import FILE_SOURCES, ingest_files
from dagster_project.resources import PlaygroundResource, WarehouseResource
from generators.run import write_products
from generators.sinks.lake import Lake
from tests.conftest import ROOT
from tests.helpers import dataset_args, manifest, playground

BUSINESS = "* EXCLUDE (_ingested_at, _batch_id)"


def test_files_are_ingested_once_and_new_or_changed_files_incrementally(tmp_path: Path) -> None:
    playground("generate", "products", "--count", "20", *dataset_args(tmp_path))
    lake = Lake(str(tmp_path / "lake"))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    products = FILE_SOURCES["products"]
    first = ingest_files(con, lake, products)
    assert (first.files, first.new_rows, first.total_rows) == (20, 20, 20)
    again = ingest_files(con, lake, products)
    assert (again.files, again.new_rows, again.total_rows) == (0, 0, 20)

    write_products(lake, 42, 20, 25)  # five new products arrive
    more = ingest_files(con, lake, products)
    assert (more.files, more.new_rows, more.total_rows) == (5, 5, 25)

    changed = json.loads(lake.read_bytes("landing/products/product_3.json"))
    changed["price"] = 1.5
    lake.write_bytes("landing/products/product_3.json", json.dumps(changed).encode())
    update = ingest_files(con, lake, products)
    assert (update.files, update.new_rows) == (1, 1)
    versions = con.execute("SELECT _file_version, price FROM bronze.products WHERE id = 3 ORDER BY 1").fetchall()
    assert versions[1] == (2, 1.5) and versions[0][0] == 1
    assert con.execute("SELECT count(DISTINCT _batch_id) FROM bronze.products").fetchone()[0] == 3


def test_bad_lines_are_quarantined_with_position_and_reason(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "5000", "--dirty-rate", "0.05", *dataset_args(tmp_path))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    result = ingest_files(con, Lake(str(tmp_path / "lake")), FILE_SOURCES["users"])
    m = manifest(tmp_path, "users")
    assert result.quarantined == m["dirty"]["malformed"]
    assert result.new_rows + result.quarantined == m["written"]  # every line is a row or in quarantine
    lines = (tmp_path / "lake/landing/users/users.json").read_bytes().splitlines()
    for position, reason, raw in con.execute(
            "SELECT position, reason, raw FROM bronze._quarantine WHERE source = 'users'").fetchall():
        assert reason.startswith("malformed JSON") and lines[position - 1].decode() == raw
    missing = con.execute("SELECT count(*) FROM bronze.users WHERE name IS NULL OR city IS NULL OR "
                          "street_address IS NULL OR phone_number IS NULL OR birth_number IS NULL OR "
                          "user_name IS NULL OR administrative_unit IS NULL OR description IS NULL OR "
                          "jobs IS NULL").fetchone()[0]
    assert missing == m["dirty"]["missing_field"]  # kept, with the field NULL, for silver to judge


INGEST = """
import sys, duckdb
from dagster_project.bronze.files import FILE_SOURCES, ingest_files
from generators.sinks.lake import Lake
con = duckdb.connect(sys.argv[2])
print("ready", flush=True)
ingest_files(con, Lake(sys.argv[1]), FILE_SOURCES["users"])
con.close()
"""


@pytest.mark.slow
def test_a_killed_ingest_rerun_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "60000", "--dirty-rate", "0.01", *dataset_args(tmp_path))
    lake = str(tmp_path / "lake")
    reference = duckdb.connect(str(tmp_path / "reference.duckdb"))
    ingest_files(reference, Lake(lake), FILE_SOURCES["users"])
    expected = reference.execute(f"SELECT {BUSINESS} FROM bronze.users ORDER BY _line").fetchall()
    expected_quarantine = reference.execute("SELECT count(*) FROM bronze._quarantine").fetchone()[0]
    reference.close()

    for delay in (0.0, 0.5, 1.0, 1.5, 2.5):
        warehouse = tmp_path / f"killed-{delay}.duckdb"
        proc = subprocess.Popen([sys.executable, "-c", INGEST, lake, str(warehouse)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = duckdb.connect(str(warehouse))
        ingest_files(con, Lake(lake), FILE_SOURCES["users"])  # the re-run
        assert con.execute(f"SELECT {BUSINESS} FROM bronze.users ORDER BY _line").fetchall() == expected, delay
        assert con.execute("SELECT count(*) FROM bronze._quarantine").fetchone()[0] == expected_quarantine
        assert con.execute("SELECT count(*) FROM bronze._files").fetchone()[0] == 1
        con.close()


def run_config(dirty_rate: float) -> dict:
    landing = {"counts": {"users": 400, "vip_users": 10, "products": 30, "orders": 100, "pageviews": 500},
               "dirty_rate": dirty_rate}
    ops = {name: {"config": landing} for name in ("landing_users", "landing_products", "landing_orders",
                                                  "landing_events")}
    return {"ops": ops}


@pytest.mark.parametrize("dirty_rate, passes", [(0.0, True), (0.3, False)])
def test_materialize_landing_and_bronze_with_the_quarantine_check(tmp_path: Path, dirty_rate: float,
                                                                  passes: bool) -> None:
    resources = {
        "playground": PlaygroundResource(lake=str(tmp_path / "lake"), orders_url=f"sqlite:///{tmp_path / 'o.db'}",
                                         bus=str(tmp_path / "ev.db")),
        "warehouse": WarehouseResource(path=str(tmp_path / "wh.duckdb")),
    }
    result = materialize([*landing_assets, *bronze_assets], resources=resources, run_config=run_config(dirty_rate))
    assert result.success
    checks = {e.asset_check_evaluation_data.asset_key.to_user_string(): e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["bronze/users"] is passes
    bronze_users = next(e.materialization for e in result.get_asset_materialization_events()
                        if e.materialization.asset_key.to_user_string() == "bronze/users")
    assert bronze_users.metadata["rows_new"].value + bronze_users.metadata["rows_quarantined"].value == \
        manifest(tmp_path, "users")["written"]


def test_orders_and_items_by_watermark(tmp_path: Path) -> None:
    from dagster_project.bronze.tables import ingest_orders
    from generators.live import run_trickle
    from generators.sinks.orders_db import OrdersDB

    playground("generate", "users", "--count", "500", *dataset_args(tmp_path))
    playground("generate", "products", "--count", "30", *dataset_args(tmp_path))
    playground("generate", "orders", "--count", "2000", *dataset_args(tmp_path))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    with OrdersDB(f"sqlite:///{tmp_path / 'orders.db'}") as db:
        first = ingest_orders(con, db)
        assert (first.watermark_from, first.watermark_to, first.new_orders) == (0, 2000, 2000)
        assert first.new_items == db.counts()["items"]
        assert ingest_orders(con, db).new_orders == 0
        stats = run_trickle(Lake(str(tmp_path / "lake")), db, 42, 500, 0, 1000, duration_s=0.5)
        more = ingest_orders(con, db)
        assert (more.watermark_from, more.new_orders, more.new_items) == (2000, stats.orders, stats.items)
        assert more.total_orders == db.counts()["orders"] and more.total_items == db.counts()["items"]
    # only the new rows were read: every bronze row appears once
    assert con.execute('SELECT count(*) - count(DISTINCT "orderId") FROM bronze.orders').fetchone()[0] == 0


def test_events_by_committed_offsets(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from dagster_project.bronze.events import ingest_events
    from generators.events import StreamConfig
    from generators.live import run_stream
    from generators.sinks.bus.embedded import EmbeddedLog

    playground("generate", "pageviews", "--count", "5000", "--dirty-rate", "0.02", *dataset_args(tmp_path))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    reader = EmbeddedLog(str(tmp_path / "events.db"), readonly=True)
    first = ingest_events(con, reader, "pageviews")
    m = manifest(tmp_path, "pageviews")
    assert first.quarantined == m["dirty"]["malformed"]
    assert first.new_rows + first.quarantined == m["written"]
    assert first.offsets_to == reader.end_sequences("pageviews")
    assert ingest_events(con, reader, "pageviews").new_rows == 0

    writer = EmbeddedLog(str(tmp_path / "events.db"))
    stats = run_stream(writer, StreamConfig(1, 10_000, 1_000, datetime(2022, 8, 14, tzinfo=UTC), rate=3000), 1.0)
    more = ingest_events(con, reader, "pageviews")
    assert more.offsets_from == first.offsets_to
    assert more.new_rows == stats.sent["pageviews"]
    rows = con.execute("SELECT _partition, _sequence_number FROM bronze.pageviews ORDER BY 1, 2").fetchall()
    quarantined = con.execute("SELECT position FROM bronze._quarantine WHERE source = 'pageviews'").fetchall()
    assert len(rows) + len(quarantined) == sum(reader.end_sequences("pageviews").values())  # each event once
