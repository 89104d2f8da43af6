"""Faults and bad input a user meets: each probe here failed before its fix (issue 20)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    materialize,
)
from playground.catalog import FILE_SOURCES, LANDING_OPS, USERS_FILE, VIP_FILE
from playground.generators.run import generate_users, write_products
from playground.io.bus import embedded
from playground.io.bus.embedded import EmbeddedLog
from playground.io.lake import Lake
from playground.io.orders_db import OrdersDB

from dagster_project.bronze import files, lines
from dagster_project.bronze.events import ingest_events
from dagster_project.bronze.files import ingest_files
from dagster_project.bronze.store import transaction
from dagster_project.bronze.tables import ingest_orders, reconcile
from dagster_project.instance import prepare
from dagster_project.streaming.clock import TimePolicy
from dagster_project.streaming.engine import process_batch
from tests.conftest import ROOT
from tests.helpers import dataset_args, local_assets, local_env, local_resources, manifest, playground, table_rows

POOL_HOLDER = ROOT / "tests/fixtures/dagster/pool_holder.py"
FIRST_USE = """
import sys, time
from dagster import DagsterInstance
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
instance = DagsterInstance.get()
instance.get_runs(limit=1)
list(instance.all_instigator_state())
"""


@pytest.mark.integration
def test_runs_starting_together_on_a_new_home_leave_it_usable(tmp_path: Path) -> None:
    """Six processes using a just-prepared DAGSTER_HOME at the same instant (without `prepare`, they create
    its storage together and stamp two schema versions: every later command fails)."""
    home = prepare(tmp_path / "home")
    env = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin"}
    start = time.time() + 8  # after every interpreter has imported Dagster
    racers = [subprocess.Popen([sys.executable, "-c", FIRST_USE, str(start)], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for racer in racers:
        assert racer.wait(120) == 0, racer.stderr.read()[-2000:] if racer.stderr else ""
    after = subprocess.run([sys.executable, "-c", FIRST_USE, "0"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert after.returncode == 0, after.stderr[-2000:]
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster_instance.yaml").read_text()


@pytest.mark.integration
def test_two_generators_on_one_lake_leave_one_whole_run(tmp_path: Path) -> None:
    """Two `playground generate users` at once on one lake (they shared one temporary name: the run that
    succeeded left the other's users beside its own VIP list and manifest, and the other failed)."""
    lake = tmp_path / "lake"
    playground_bin = Path(sys.executable).parent / "playground"
    runs = [subprocess.Popen([str(playground_bin), "generate", "users", "--count", "300000", "--seed", str(seed),
                              "--lake", str(lake), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    for run in runs:
        assert run.wait(300) == 0, run.stderr.read() if run.stderr else ""
    seed = manifest(tmp_path, "users")["seed"]
    assert manifest(tmp_path, "vip_users")["seed"] == seed
    reference = Lake(str(tmp_path / f"seed{seed}"))
    generate_users(reference, seed, 300_000, 100)
    for file in (USERS_FILE, VIP_FILE):
        assert (lake / file).read_bytes() == reference.read_bytes(file), file
    assert not list((lake / "landing").rglob("*.inprogress"))


@pytest.mark.integration
def test_generating_orders_while_a_trickle_writes_them_wipes_nothing(tmp_path: Path) -> None:
    """Issue 38, high 1: `generate orders` while `trickle` ran reset the orders database under it, then died
    on a UNIQUE constraint, leaving orders its manifest did not describe. The trickle holds the lake's
    orders and products locks while it runs: a fresh generation fails at once, naming it, and the data
    stays; once the trickle stops, generation works again."""
    import sqlite3

    args = dataset_args(tmp_path)
    trickle_args = ["--lake", str(tmp_path / "lake"), "--orders-url", f"sqlite:///{tmp_path / 'orders.db'}"]
    playground("generate", "users", "--count", "100", *args)
    playground("generate", "products", "--count", "50", *args)
    playground("generate", "orders", "--count", "200", *args)
    playground_bin = Path(sys.executable).parent / "playground"
    trickle = subprocess.Popen([str(playground_bin), "trickle", "--orders-per-s", "200", "--products-per-s", "2",
                                "--duration", "120", *trickle_args], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    orders_db = tmp_path / "orders.db"

    def orders() -> tuple[int, int]:
        with sqlite3.connect(orders_db) as con:
            return con.execute('SELECT count(*), max("orderId") FROM orders').fetchone()

    try:
        deadline = time.time() + 60
        while orders()[0] <= 300:  # the trickle is writing
            assert time.time() < deadline and trickle.poll() is None, trickle.stderr.read() if trickle.stderr else ""
            time.sleep(0.2)
        for source in ("orders", "products"):
            done = subprocess.run([str(playground_bin), "generate", source, "--count", "30", *args], cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)
            said = " ".join(done.stderr.split())  # as the terminal wraps it
            assert done.returncode != 0 and "Traceback" not in said
            assert f"error: {source} in " in said and "being written by a running trickle (pid" in said
        count, highest = orders()
        assert count > 300 and count == highest, "the orders database was reset under the trickle"
    finally:
        trickle.send_signal(signal.SIGTERM)
        assert trickle.wait(60) == 0
    playground("generate", "orders", "--count", "30", *args)  # the lock is free again
    assert orders() == (30, 30)


@pytest.mark.integration
def test_a_second_trickle_waits_for_the_first_and_goes_on_from_its_last_order(tmp_path: Path) -> None:
    """Issue 38, low 11: a second `trickle` at once died with an adbc UNIQUE traceback. It waits, saying for
    whom, then continues where the first stopped."""
    import sqlite3

    args = dataset_args(tmp_path)
    playground("generate", "products", "--count", "20", *args)
    trickle = [str(Path(sys.executable).parent / "playground"), "trickle", "--orders-per-s", "50", *args[:4]]
    first = subprocess.Popen([*trickle, "--duration", "3"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    while not (tmp_path / "orders.db").exists():
        time.sleep(0.05)
    second = subprocess.run([*trickle, "--duration", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.wait(60) == 0 and second.returncode == 0, second.stderr
    said = " ".join(second.stderr.split())
    assert "waiting for another trickle (pid" in said and "Traceback" not in said
    with sqlite3.connect(tmp_path / "orders.db") as con:
        count, highest = con.execute('SELECT count(*), max("orderId") FROM orders').fetchone()
    assert count == highest > 100  # both trickles' orders, one after the other, no id twice


def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    records = b'{"id": 1, "name": "first"}\n{"id": 2, "name": "second"}\n'
    lake.write_bytes("landing/products/bom.json", "\N{BYTE ORDER MARK}".encode() + records)
    con = duckdb.connect()
    result = ingest_files(con, lake, FILE_SOURCES["products"])
    assert (result.new_rows, result.quarantined) == (2, 0)
    assert con.execute("SELECT id, name FROM bronze.products ORDER BY id").fetchall() == [(1, "first"), (2, "second")]


@pytest.mark.integration
def test_a_killed_run_is_failed_by_monitoring_and_its_pool_moves_on(tmp_path: Path) -> None:
    """kill -9 of a run holding a DuckDB file's pool (it stayed STARTED holding the slot, and every later
    run of that pool waited for ever)."""
    home = prepare(tmp_path / "home")
    env = {**os.environ, "DAGSTER_HOME": str(home), "HOLD_S": "600"}
    bin_dir = Path(sys.executable).parent
    materialize = [str(bin_dir / "dagster"), "asset", "materialize", "-f", str(POOL_HOLDER), "--select",
                   "holds_the_pool"]
    doomed = subprocess.Popen(materialize, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    instance = DagsterInstance.from_config(str(home))

    def slots_claimed() -> int:
        return len(instance.event_log_storage.get_concurrency_info("duckdb_warehouse").claimed_slots)

    wait_until(lambda: slots_claimed() == 1, 120, "the run to claim the pool's slot")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    run = instance.get_runs(limit=1)[0]
    assert run.status == DagsterRunStatus.STARTED  # nobody is left to say otherwise
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-f", str(POOL_HOLDER)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE, 120,
                   "monitoring to fail the killed run")
        wait_until(lambda: slots_claimed() == 0, 60, "the killed run's slot to be freed")
        after = subprocess.run(materialize, cwd=tmp_path, env={**env, "HOLD_S": "0"}, capture_output=True,
                               text=True, timeout=120)
        assert after.returncode == 0 and "RUN_SUCCESS" in after.stderr, after.stderr[-2000:]
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(60)
    failure = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
    assert "is gone: it was killed or crashed" in failure[0].event_log_entry.message


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_each_partition_s_enqueued_times_follow_its_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A producer that read the clock before another committed (it waited for the write lock) appends after
    it: its events are stamped no earlier than the partition's last (they were stamped before the lock)."""
    path = str(tmp_path / "events.db")
    first, second = EmbeddedLog(path), EmbeddedLog(path)
    first.send("pageviews", [0, 1], [b"a", b"b"])
    now = time.time()
    monkeypatch.setattr(embedded.time, "time", lambda: now - 10)  # its clock read 10 s before the append
    second.send("pageviews", [0, 1], [b"c", b"d"])
    for partition in (0, 1):
        stamps = [record.enqueued_time for record in first.read("pageviews", partition, 0)]
        assert len(stamps) == 2 and stamps == sorted(stamps), stamps
    first.close()
    second.close()


def orders_dataset(root: Path, orders: int = 300) -> str:
    playground("generate", "users", "--count", "100", *dataset_args(root))
    playground("generate", "products", "--count", "20", *dataset_args(root))
    playground("generate", "orders", "--count", str(orders), *dataset_args(root))
    return f"sqlite:///{root / 'orders.db'}"


def test_orders_with_values_of_the_wrong_type_are_quarantined_and_the_rest_flows(tmp_path: Path) -> None:
    """An orderDate that is not a date stopped orders and items on every run (SQLite keeps any value)."""
    url = orders_dataset(tmp_path)
    database = tmp_path / "orders.db"
    table_rows(database, "UPDATE orders SET orderDate = 'not a date' WHERE orderId = 7")
    table_rows(database, "UPDATE orders SET userId = 'abc' WHERE orderId = 9")
    table_rows(database, "UPDATE items SET productId = 'p-1' WHERE orderId = 11 AND rowId = 1")
    items_of = dict(table_rows(database, "SELECT orderId, count(*) FROM items WHERE orderId IN (7, 9, 11) "
                                         "GROUP BY orderId"))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    with OrdersDB(url) as db:
        result = ingest_orders(con, db)
        counts = reconcile(con, db)
    assert result.new_orders == 298 and result.quarantined == 2 + items_of[7] + items_of[9] + 1
    quarantined = con.execute("SELECT source, position, reason FROM bronze._quarantine ORDER BY ALL").fetchall()
    assert quarantined[0] == ("items", 7, "its order 7 is quarantined")
    assert ("items", 11, 'productId "p-1" is not BIGINT') in quarantined
    assert ("orders", 7, 'orderDate "not a date" is not TIMESTAMP') in quarantined
    assert ("orders", 9, 'userId "abc" is not BIGINT') in quarantined
    assert con.execute('SELECT count(*) FROM bronze.items WHERE "orderId" IN (7, 9)').fetchone()[0] == 0
    assert counts["source_orders"] == counts["bronze_orders"] == 300
    assert counts["source_items"] == counts["bronze_items"]


@pytest.mark.parametrize("odd", ["a BLOB date first", "text values past the first batch"])
def test_each_order_is_judged_alone_whatever_the_others_hold(tmp_path: Path, odd: str) -> None:
    """Issue 38, high 2 (and medium 5): SQLite's reader typed each column by its first values. A BLOB
    orderDate in the first order above the watermark quarantined every order of the batch with a false
    reason (valid dates "not TIMESTAMP"); a text orderValue past the first 1,024 rows failed every run
    ("Type mismatch in column 3"), naming no row. Each row is judged alone, its reason its own."""
    url = orders_dataset(tmp_path, orders=3000)
    database = tmp_path / "orders.db"
    if odd == "a BLOB date first":
        table_rows(database, "UPDATE orders SET orderDate = CAST(orderDate AS BLOB) WHERE orderId = 1")
        bad = {1: "orderDate \"x'"}
    else:
        table_rows(database, "UPDATE orders SET orderValue = 'abc' WHERE orderId = 1500")
        table_rows(database, "UPDATE items SET productId = 'p-1' WHERE orderId = 2900 AND rowId = 1")
        bad = {1500: 'orderValue "abc" is not DOUBLE'}
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    with OrdersDB(url) as db:
        result = ingest_orders(con, db)
        counts = reconcile(con, db)
    quarantined = con.execute("SELECT position, reason FROM bronze._quarantine WHERE source = 'orders'").fetchall()
    assert [position for position, _ in quarantined] == list(bad)
    for (_, reason), expected in zip(quarantined, bad.values(), strict=True):
        assert reason.startswith(expected), reason
    assert result.new_orders == 3000 - len(bad)
    assert counts["source_orders"] == counts["bronze_orders"] == 3000
    assert counts["source_items"] == counts["bronze_items"]
    if odd != "a BLOB date first":
        assert ("items", 2900, 'productId "p-1" is not BIGINT') in con.execute(
            "SELECT source, position, reason FROM bronze._quarantine").fetchall()
    # The valid orders keep their values, typed.
    assert con.execute('SELECT count(*) FROM bronze.orders WHERE "orderDate" IS NULL').fetchone()[0] == 0


def test_rows_the_watermark_cannot_see_fail_the_reconciliation_check(tmp_path: Path) -> None:
    """An item added to an order already taken, and an item whose order does not exist, were lost without a
    trace; and selecting bronze/orders alone was refused (orders and items are one step)."""
    url = orders_dataset(tmp_path)
    resources = local_resources(tmp_path, PLAYGROUND_ORDERS_URL=url, PLAYGROUND_WAREHOUSE=str(tmp_path / "wh.duckdb"))

    def reconciliation(*selection: str) -> AssetCheckEvaluation:
        result = materialize(local_assets("bronze"), resources=resources, selection=list(selection))
        assert result.success
        return next(e.asset_check_evaluation_data for e in result.all_events
                    if e.event_type_value == "ASSET_CHECK_EVALUATION"
                    and e.asset_check_evaluation_data.check_name == "matches_source")

    assert reconciliation("bronze/orders").passed
    table_rows(tmp_path / "orders.db", "INSERT INTO items VALUES (5, 11, 3)")  # order 5 is in bronze already
    late = reconciliation("bronze/orders")
    assert not late.passed and late.severity == AssetCheckSeverity.ERROR
    assert late.metadata["source_items"].value == late.metadata["bronze_items"].value + 1
    table_rows(tmp_path / "orders.db", "DELETE FROM items WHERE orderId = 5 AND rowId = 11")
    table_rows(tmp_path / "orders.db", "INSERT INTO items VALUES (100000, 1, 3)")  # no order 100000
    orphan = reconciliation("bronze/orders", "bronze/items")
    assert not orphan.passed and orphan.metadata["source_items_above_every_order"].value == 1


@pytest.mark.parametrize("chunk_bytes", [32 << 20, 1 << 20])  # the long line within one piece, or across many
def test_a_line_past_the_maximum_is_quarantined_by_its_length_unparsed(tmp_path: Path, chunk_bytes: int,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A 50 MB line ran DuckDB out of memory (under a 1 GB limit) on every run."""
    monkeypatch.setattr(files, "CHUNK_BYTES", chunk_bytes)
    lake = Lake(str(tmp_path / "lake"))
    long_line = b'{"id": 2, "name": "' + b"x" * (50 << 20) + b'"}'
    lake.write_bytes("landing/users/users.json", b'{"id": 1, "name": "a"}\n' + long_line + b'\n{"id": 3}\n')
    con = duckdb.connect()
    con.execute("SET memory_limit = '256MB'")
    result = files.ingest_files(con, lake, FILE_SOURCES["users"])
    assert (result.new_rows, result.quarantined) == (2, 1)
    assert con.execute("SELECT id FROM bronze.users ORDER BY id").fetchall() == [(1,), (3,)]
    position, reason, raw = con.execute("SELECT position, reason, raw FROM bronze._quarantine").fetchone()
    assert position == 2 and reason.startswith(f"a line of {len(long_line):,} bytes, over the 1,048,576-byte maximum")
    assert raw.encode() == long_line[:lines.PREVIEW_BYTES]


def test_a_damaged_log_segment_is_quarantined_by_its_sequence_numbers_and_the_rest_flows(tmp_path: Path) -> None:
    """A segment whose bodies were cut short stopped bronze and streaming on every run with an Arrow error
    naming neither partition nor sequence."""
    log = EmbeddedLog(str(tmp_path / "events.db"), partitions=1)
    body = b'{"event_id": "e%d", "event_time": "2025-01-01T00:00:00Z", "user_id": 1, "stars": 4}'
    for batch in range(3):  # three segments: sequences 0-9, 10-19, 20-29
        log.send("stars", [0] * 10, [body % (10 * batch + i) for i in range(10)])
    log.db.execute("UPDATE segments SET bodies = substr(bodies, 1, 100) WHERE first_sequence = 10")
    log.close()
    reader = EmbeddedLog(str(tmp_path / "events.db"), readonly=True)
    con = duckdb.connect()
    result = ingest_events(con, reader, "stars")
    assert (result.new_rows, result.quarantined, result.offsets_to) == (20, 10, {0: 30})
    quarantined = con.execute("SELECT location, position, reason FROM bronze._quarantine ORDER BY position").fetchall()
    assert [q[1] for q in quarantined] == list(range(10, 20))
    assert quarantined[0][0] == "stars/0" and quarantined[0][2].startswith("no body: the bus could not give")
    assert ingest_events(con, reader, "stars").new_rows == 0  # taken once: the next run goes on past it
    streamed = process_batch(duckdb.connect(), reader, Lake(str(tmp_path / "lake")), TimePolicy())
    assert (streamed.events, streamed.quarantined, streamed.offsets_to["stars"]) == (30, 10, {0: 30})


@pytest.mark.parametrize("connection, endpoint", [
    ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
     "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;", "http://127.0.0.1:1"),  # nothing listens
    ("DefaultEndpointsProtocol=https;AccountName=nosuchplaygroundaccount;AccountKey=a2V5;"
     "EndpointSuffix=core.windows.net", "https://nosuchplaygroundaccount.blob.core.windows.net"),  # no such name
])
@pytest.mark.integration
def test_an_unreachable_azure_lake_fails_in_seconds_naming_its_endpoint(tmp_path: Path, connection: str,
                                                                         endpoint: str) -> None:
    """It was retried silently for three minutes or more."""
    message = generate_into_azure_fails_at_once(tmp_path, connection)
    assert f"cannot reach the lake's storage endpoint {endpoint}" in message, message
    assert "a2V5" not in message


def generate_into_azure_fails_at_once(tmp_path: Path, connection: str) -> str:
    """`generate users` into an abfs:// lake of this account: exit 2 within 30 s; its one message."""
    began = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "playground"), "generate", "users", "--count", "10",
                           "--lake", "abfs://landing", "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "AZURE_STORAGE_CONNECTION_STRING": connection})
    assert done.returncode == 2 and time.monotonic() - began < 30, done.stderr[-2000:]
    return " ".join(done.stderr.split())


@pytest.mark.integration
def test_a_silent_azure_endpoint_fails_in_seconds_naming_it(tmp_path: Path) -> None:
    """Issue 38, medium 9: a listener that accepts TCP and never answers kept `generate users --lake abfs://…`
    silent for 400 s."""
    import socket

    with socket.socket() as listener:  # the kernel accepts connections into the backlog; nothing answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        connection = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                      f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")
        message = generate_into_azure_fails_at_once(tmp_path, connection)
    assert f"the lake's storage endpoint http://127.0.0.1:{port} did not answer within 5 s" in message, message


def test_a_file_removed_after_the_listing_is_skipped_and_the_rest_taken(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 38, low 13: `FileNotFoundError … product_11429.json` failed the whole bronze step, 0 taken."""
    lake = Lake(str(tmp_path / "lake"))
    write_products(lake, 42, 0, 5)
    listed = files.files_to_look_at

    def listed_then_one_removed(*args: object, **kwargs: object) -> object:
        found = listed(*args, **kwargs)
        (tmp_path / "lake" / "landing" / "products" / "product_2.json").unlink()
        return found

    monkeypatch.setattr(files, "files_to_look_at", listed_then_one_removed)
    con = duckdb.connect()
    result = files.ingest_files(con, lake, FILE_SOURCES["products"])
    assert (result.files, result.new_rows, result.gone) == (4, 4, ("landing/products/product_2.json",))
    assert [id for (id,) in con.execute("SELECT id FROM bronze.products ORDER BY id").fetchall()] == [0, 1, 3, 4]


def test_a_failure_that_ended_the_transaction_is_the_error_reported() -> None:
    """After a full disk DuckDB has ended the transaction: the rollback's own "no transaction is active" hid
    the real error."""
    con = duckdb.connect()
    with pytest.raises(OSError, match="No space left on device"), transaction(con):
        con.execute("ROLLBACK")  # what DuckDB did on its failed write
        raise OSError(28, "No space left on device")


def test_an_event_time_silver_cannot_read_is_quarantined_by_bronze_as_by_the_engine(tmp_path: Path) -> None:
    """Issue 38, medium 4: bronze took `"event_time": "yesterday"` and `"+10000-01-01T00:00:00Z"`, and every
    dbt run then failed silver.pageviews (Conversion Error), skipping 15 models. Bronze quarantines them,
    naming the field and the text, as the streaming engine does; a missing time stays NULL in bronze."""
    log = EmbeddedLog(str(tmp_path / "events.db"), partitions=1)
    times = ["2025-01-01T00:00:00Z", "yesterday", "+10000-01-01T00:00:00Z", "2025-01-01T00:00:01.5+02:00", None]
    bodies = [json.dumps({"event_id": f"e{i}", "user_id": 1, "stars": 4,
                          **({"event_time": time} if time else {})}).encode() for i, time in enumerate(times)]
    log.send("stars", [0] * len(bodies), bodies)
    log.close()
    reader = EmbeddedLog(str(tmp_path / "events.db"), readonly=True)
    con = duckdb.connect()
    result = ingest_events(con, reader, "stars")
    assert (result.new_rows, result.quarantined) == (3, 2)
    assert con.execute("SELECT position, reason FROM bronze._quarantine ORDER BY position").fetchall() == [
        (1, "field 'event_time' is not an ISO-8601 time: yesterday"),
        (2, "field 'event_time' is not an ISO-8601 time: +10000-01-01T00:00:00Z")]
    # What silver does with bronze's event times (models/silver/stars.sql on DuckDB) now reads every row.
    assert len(con.execute("SELECT CAST(event_time AS TIMESTAMP) FROM bronze.stars").fetchall()) == 3
    streamed = process_batch(duckdb.connect(), reader, Lake(str(tmp_path / "lake")), TimePolicy())
    assert (streamed.events, streamed.quarantined) == (5, 2)  # the same two


def test_a_line_over_16_mb_in_users_json_does_not_block_streaming(tmp_path: Path) -> None:
    """Issue 38, medium 6: the engine read users.json with DuckDB's JSON reader, which stops at a 16 MB
    object (`maximum_object_size of 16777216 bytes exceeded`) on every micro-batch, while bronze quarantines
    the line. The reference is read as bronze reads the file: the long line and a malformed one are left
    out, the others kept (the first line of an id wins, as in silver)."""
    lake = Lake(str(tmp_path / "lake"))
    user = {"name": "Ann", "city": "Brno", "user_name": "ann", "administrative_unit": "Jihomoravský kraj"}
    long_line = json.dumps({"id": 2, "description": "x" * (17 << 20)}).encode()
    lake.write_bytes(USERS_FILE, b"\n".join([json.dumps({"id": 1, **user}).encode(), long_line, b'{"id": 3, "na',
                                              json.dumps({"id": 4, **user, "city": "Praha"}).encode(),
                                              json.dumps({"id": 4, **user, "city": "Ostrava"}).encode()]) + b"\n")
    lake.write_bytes(VIP_FILE, b'{"id": 4}\n')
    log = EmbeddedLog(str(tmp_path / "events.db"), partitions=1)
    log.send("stars", [0], [b'{"event_id": "e1", "event_time": "2025-01-01T00:00:00Z", "user_id": 4, "stars": 5}'])
    log.close()
    con = duckdb.connect()
    streamed = process_batch(con, EmbeddedLog(str(tmp_path / "events.db"), readonly=True), lake, TimePolicy())
    assert streamed.events == 1
    assert con.execute("SELECT id, city FROM streaming._ref_users ORDER BY id").fetchall() == [(1, "Brno"),
                                                                                               (4, "Praha")]
    assert con.execute("SELECT id FROM streaming._ref_vip").fetchall() == [(4,)]


def test_key_checks_run_within_the_memory_limit_bronze_runs_in(tmp_path: Path) -> None:
    """Issue 38, medium 7: 1 GB of one repeated users line under PLAYGROUND_DUCKDB_MEMORY_LIMIT=2GB committed
    its rows, then failed key_unique with Out of Memory on every run: the check's window held a file's rows at
    once. Here the same at a smaller size: 1.5M rows of one id (~800 MB) under a 100 MB limit."""
    from dagster_project.bronze.checks import key_checks

    con = duckdb.connect(str(tmp_path / "wh.duckdb"), config={"memory_limit": "100MB"})
    files.ensure_tables(con, FILE_SOURCES["users"])
    con.execute("""INSERT INTO bronze.users BY NAME SELECT 7 AS id, repeat('x', 500) AS description,
        'landing/users/users.json' AS _source_file, i AS _line, 1 AS _file_version, now()::TIMESTAMP AS _ingested_at,
        'b1' AS _batch_id FROM range(1500000) t(i)""")
    outcomes = {outcome.name: outcome for outcome in key_checks(con, "users", "b1")}
    assert outcomes["key_not_null"].passed
    assert not outcomes["key_unique"].passed and outcomes["key_unique"].metadata == {"repeated_keys": 1,
                                                                                     "extra_rows": 1_499_999}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.integration
def test_a_run_waiting_for_a_pool_sleeps_says_who_holds_it_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """Issue 38, medium 8: a run waiting for a pool slot spun ~95% of a core (Dagster's wait never slept) and
    `make demo` waiting behind a dead holder said nothing. Now the wait sleeps, the demo names the pool and
    the run holding it and how to free it, and one Ctrl-C cancels the waiting run, which holds no slot after."""
    prepare(tmp_path / "dagster_home")
    env = local_env(tmp_path, HOLD_S="600")
    holder = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-f",
                               str(POOL_HOLDER), "--select", "holds_the_pool"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    instance = DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    demo = None
    try:
        wait_until(lambda: len(instance.event_log_storage.get_concurrency_info(
            "duckdb_warehouse").claimed_slots) == 1, 120, "the holder to claim the pool's slot")
        [holding] = instance.get_runs(limit=1)
        demo = subprocess.Popen([sys.executable, "-m", "dagster_project.demo"], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(demo.stdout.readline, "")), daemon=True)
        reader.start()
        wait_until(lambda: any("waiting" in line for line in lines), 180, "the demo to say what it waits for")
        [said] = [line for line in lines if "waiting" in line]
        assert "for pool duckdb_warehouse" in said and f"held by run {holding.run_id}" in said
        assert "dagster run delete" in said
        # Steps outside the pool go on meanwhile (the landing, the streaming micro-batch): measured once done.
        [waiting_run] = [run for run in instance.get_runs() if run.run_id != holding.run_id]
        elsewhere = {*LANDING_OPS, "streaming_micro_batch"}
        wait_until(lambda: elsewhere <= {event.step_key for event in instance.all_logs(
            waiting_run.run_id, of_type=DagsterEventType.STEP_SUCCESS)}, 300, "the steps outside the pool")
        before, began = cpu_seconds(demo.pid), time.monotonic()
        time.sleep(5)
        assert (cpu_seconds(demo.pid) - before) / (time.monotonic() - began) < 0.2  # spinning was ~0.95
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(20) == 130
        reader.join(5)
        assert any("Stopped" in line for line in lines), lines
        [waiting] = [run for run in instance.get_runs() if run.run_id != holding.run_id]
        assert waiting.status == DagsterRunStatus.CANCELED
        claimed = instance.event_log_storage.get_concurrency_info("duckdb_warehouse").claimed_slots
        assert [slot.run_id for slot in claimed] == [holding.run_id]
    finally:
        for process in (holder, demo):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_run_launched_while_make_up_stops_is_canceled_not_started(tmp_path: Path) -> None:
    """Between the Ctrl-C and the daemon's end, the daemon may still launch a queued run: with the instance
    marked as stopping (dagster_project/up.py), the launcher cancels it instead of starting a process."""
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
    from dagster._core.launcher import LaunchRunContext

    from dagster_project.instance import prepare
    from dagster_project.run_launcher import STOPPING

    home = prepare(tmp_path / "home")
    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.add_run(DagsterRun(job_name="refresh", run_id="a" * 36, status=DagsterRunStatus.NOT_STARTED))
        (home / STOPPING).touch()
        instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELED


def test_a_run_launched_just_before_the_ctrl_c_is_canceled_before_its_process_begins(tmp_path: Path) -> None:
    """A run the daemon launched a moment before the Ctrl-C (STARTING: its process still loading the code) is
    canceled as `make up` stops, so its process does not begin it; a run already started is left to Dagster's
    stopping."""
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

    from dagster_project.instance import prepare
    from dagster_project.up import Progress

    home = prepare(tmp_path / "home")
    with DagsterInstance.from_config(str(home)) as instance:
        for run_id, status in (("a", DagsterRunStatus.STARTING), ("b", DagsterRunStatus.STARTED)):
            instance.add_run(DagsterRun(job_name="refresh", run_id=run_id * 36, status=status))
        assert Progress(home).cancel_launched() == ["a" * 36]
        assert {run.run_id[0]: run.status for run in instance.get_runs()} == {
            "a": DagsterRunStatus.CANCELED, "b": DagsterRunStatus.STARTED}
