"""Bronze ingestion of lake files: incremental, versioned, quarantined, exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import materialize
from playground.catalog import FILE_SOURCES, LANDING_OPS
from playground.generators.run import write_products
from playground.io.lake import Lake

from dagster_project.bronze.files import ingest_files
from dagster_project.streaming.parts import parts_to_read
from dagster_project.streaming.scenarios import OUTPUT_NAMES, OUTPUTS
from tests.conftest import ROOT
from tests.helpers import dataset_args, local_assets, local_resources, manifest, playground

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

    touched = tmp_path / "lake/landing/products/product_4.json"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    assert ingest_files(con, lake, products, timedelta(0)).files == 0  # same bytes: no new version
    stamp = con.execute("SELECT stamp FROM bronze._files WHERE path LIKE '%product_4.json'").fetchall()
    assert stamp == [(f"{touched.stat().st_size}@{touched.stat().st_mtime_ns}",)]  # not read again next time


def test_between_full_listings_only_logged_and_unseen_names_are_looked_at(tmp_path: Path) -> None:
    lake, con, users = Lake(str(tmp_path / "lake")), duckdb.connect(), FILE_SOURCES["users"]
    folder = tmp_path / "lake/landing/users"
    lake.write_bytes("landing/users/a.json", b'{"id": 1}\n')
    first = ingest_files(con, lake, users)
    assert (first.new_rows, first.full_listing) == (1, True)  # no mark yet: every file is stat'ed

    lake.write_bytes("landing/users/a.json", b'{"id": 1}\n{"id": 2}\n')  # replaced through the writer: logged
    (folder / "b.json").write_bytes(b'{"id": 3}\n')  # copied in by hand: a name never seen
    second = ingest_files(con, lake, users)
    assert (second.files, second.new_rows, second.full_listing) == (2, 3, False)

    with open(folder / "b.json", "ab") as edited:  # edited in place by hand: neither logged nor a new name
        edited.write(b'{"id": 4}\n')
    assert ingest_files(con, lake, users).files == 0
    full = ingest_files(con, lake, users, full_listing_every=timedelta(0))  # the backfill finds it
    assert (full.files, full.new_rows, full.full_listing) == (1, 2, True)

    lake.remove("landing/users")  # the folder made anew: its new log cannot be read from the old mark
    lake.write_bytes("landing/users/a.json", b'{"id": 5}\n')
    anew = ingest_files(con, lake, users)
    assert (anew.files, anew.new_rows, anew.full_listing) == (1, 1, True)
    assert con.execute("SELECT max(_file_version) FROM bronze.users WHERE _source_file LIKE '%a.json'"
                       ).fetchone()[0] == 3


def unique_check(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, int]:
    from dagster_project.bronze.checks import key_checks

    return next(o.metadata for o in key_checks(con, "users", batch_id) if o.name == "key_unique")


@pytest.mark.parametrize("rows_at_a_time", [10_000_000, 300])  # the key checks at once, or by ranges of ids
def test_a_file_is_taken_a_piece_at_a_time_and_a_stopped_run_goes_on_where_it_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_at_a_time: int) -> None:
    from dagster_project.bronze import checks, files

    monkeypatch.setattr(files, "PIECE_LINES", 40)
    monkeypatch.setattr(checks, "CHECK_ROWS", rows_at_a_time)
    lake, users = Lake(str(tmp_path / "lake")), FILE_SOURCES["users"]
    body = b"".join(b'{"id": %d, "name": "user %d"}\n' % (i if i != 3 else 2, i) if i % 97 else b"{broken\n"
                    for i in range(1, 2001))  # id 2 twice, in the first piece
    lake.write_bytes("landing/users/users.json", body)
    reference = duckdb.connect()
    ingest_files(reference, lake, users)

    def stop_after(pieces: int) -> None:
        calls = {"n": 0}
        insert = files.LineBatch._insert

        def failing(self: files.LineBatch) -> None:
            calls["n"] += 1
            if calls["n"] > pieces:
                raise KeyboardInterrupt("stopped")
            insert(self)
        monkeypatch.setattr(files.LineBatch, "_insert", failing)

    def state(con: duckdb.DuckDBPyConnection) -> list[list[tuple]]:
        return [con.execute(q).fetchall() for q in (
            f"SELECT {BUSINESS} FROM bronze.users ORDER BY _line",
            "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._files",
            "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._quarantine ORDER BY position")]

    con = duckdb.connect()
    stop_after(5)
    with pytest.raises(KeyboardInterrupt):
        ingest_files(con, lake, users)
    taken = con.execute("SELECT count(*), max(_line) FROM bronze.users").fetchone()
    progress = con.execute("SELECT version, lines FROM bronze._file_progress").fetchall()
    assert 0 < taken[0] < 1980 and progress == [(1, taken[1])]  # five pieces committed, and where they end
    assert con.execute("SELECT count(*) FROM bronze._files").fetchone()[0] == 0  # not ingested yet
    monkeypatch.undo()
    monkeypatch.setattr(files, "PIECE_LINES", 40)
    rest = ingest_files(con, lake, users)
    assert rest.files == 1 and rest.new_rows == 1980 - taken[0]
    assert state(con) == state(reference) and not con.execute("SELECT * FROM bronze._file_progress").fetchall()
    # the checks cover the rows the stopped run committed too, and the next run's checks only what is new
    assert unique_check(con, rest.batch_id) == {"repeated_keys": 1, "extra_rows": 1}
    assert unique_check(con, ingest_files(con, lake, users).batch_id) == {"repeated_keys": 0, "extra_rows": 0}

    # stopped midway again, then the file changes: the part taken goes, the new content is version 2
    lake.write_bytes("landing/users/users.json", body + b'{"id": 5000}\n')
    stop_after(3)
    with pytest.raises(KeyboardInterrupt):
        ingest_files(con, lake, users)
    lake.write_bytes("landing/users/users.json", body + b'{"id": 6000}\n')
    monkeypatch.undo()
    ingest_files(con, lake, users)
    ingest_files(reference, lake, users)
    assert state(con) == state(reference)
    assert con.execute("SELECT count(*) FROM bronze.users WHERE id = 5000").fetchone()[0] == 0


def test_write_log_gives_whole_lines_after_a_mark(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    assert lake.written_since("landing/users", None) == (None, None)  # no log: nothing it can tell
    for name in ("a.json", "b.json", "_bookkeeping.json", "a.json"):
        lake.write_bytes(f"landing/users/{name}", b"{}\n")
    names, mark = lake.written_since("landing/users", None)
    assert names is None and mark is not None  # a first look: the mark to start from
    lake.write_bytes("landing/users/c.json", b"{}\n")
    with open(tmp_path / "lake/landing/users/_written.log", "ab") as log:
        log.write(b"d.js")  # a line still being written
    names, later = lake.written_since("landing/users", mark)
    assert names == ["c.json"]
    with open(tmp_path / "lake/landing/users/_written.log", "ab") as log:
        log.write(b"on\n")
    assert lake.written_since("landing/users", later)[0] == ["d.json"]


def test_bronze_batches_reach_the_lake_once_each(tmp_path: Path) -> None:
    from dagster_project.publish import publish_bronze

    lake, con, products = Lake(str(tmp_path / "lake")), duckdb.connect(), FILE_SOURCES["products"]
    copies = f"'{tmp_path}/lake/bronze/products/*.parquet'"

    def in_lake() -> list[tuple]:
        return duckdb.sql(f"SELECT id, _file_version, _batch_id FROM {copies} ORDER BY ALL").fetchall()

    write_products(lake, 42, 0, 20)
    first = ingest_files(con, lake, products)
    assert publish_bronze(con, lake, "products") == [lake.display(f"bronze/products/batch-{first.batch_id}.parquet")]
    assert publish_bronze(con, lake, "products") == []  # nothing new: nothing written
    write_products(lake, 42, 20, 25)
    second = ingest_files(con, lake, products)
    assert len(publish_bronze(con, lake, "products")) == 1
    assert in_lake() == con.execute("SELECT id, _file_version, _batch_id FROM bronze.products ORDER BY ALL").fetchall()
    assert len(in_lake()) == 25

    # killed after the file was written, before it was marked: written again, in the same file
    con.execute("DELETE FROM bronze._published WHERE batch_id = ?", [second.batch_id])
    assert len(publish_bronze(con, lake, "products")) == 1
    assert len(in_lake()) == 25 and len(list((tmp_path / "lake/bronze/products").glob("*.parquet"))) == 2

    # for Synapse, whose external tables take no arrays: the same rows, arrays as JSON text
    synapse = duckdb.connect()
    ingest_files(synapse, lake, products)
    publish_bronze(synapse, Lake(str(tmp_path / "synapse")), "products", arrays_as_json=True)
    copied = f"'{tmp_path}/synapse/bronze/products/*.parquet'"
    as_json = duckdb.sql(f"SELECT id, pages FROM {copied} ORDER BY ALL").fetchall()
    assert as_json == con.execute("SELECT id, to_json(pages)::VARCHAR FROM bronze.products ORDER BY ALL").fetchall()
    assert all(isinstance(pages, str) and pages.startswith("[") for _, pages in as_json)


def test_what_dbt_knows_of_bronze_is_the_rendering_of_the_registry_and_the_tables() -> None:
    """dbt_project/macros/bronze_columns.sql and models/sources.yml are current
    (`python -m dagster_project.bronze.catalog`)."""
    import yaml
    from playground.catalog import SOURCES

    from dagster_project.bronze.catalog import (
        MACRO_FILE,
        SOURCES_FILE,
        TOPICS_FILE,
        bronze_columns,
        render,
        render_sources,
        render_topics,
    )

    assert MACRO_FILE.read_text() == render() and SOURCES_FILE.read_text() == render_sources()
    assert TOPICS_FILE.read_text() == render_topics() == '["pageviews", "stars"]\n'
    (bronze,) = yaml.safe_load(SOURCES_FILE.read_text())["sources"]
    tables = {table["name"]: table for table in bronze["tables"]}
    assert list(tables) == list(SOURCES) and set(bronze_columns()) == set(SOURCES)
    assert "config" not in tables["users"] and tables["stars"]["config"]["loaded_at_field"] == "_ingested_at"
    columns = bronze_columns()
    assert set(columns) == {"users", "vip_users", "products", "orders", "items", "pageviews", "stars"}
    assert ("jobs", "VARCHAR[]") in columns["users"] and columns["orders"][0] == ("orderId", "BIGINT")


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_lines_read_in_chunks_keep_their_bytes_and_numbers(ending: bytes) -> None:
    from dagster_project.bronze.lines import file_pieces, numbered_lines

    lines = [b'{"id": 1}', b"", b"  ", b'{"id": 2, "name": "\xc3\xa9"}', b"\xff\xfe", b'{"id": 3}']
    data = ending.join(lines) + ending if ending else b"\n".join(lines)
    for size in (1, 2, 7, 1 << 20):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        # two files in one batch, each read in chunks: lines are numbered per file
        pieces = [*file_pieces("a.json", 1, chunks), *file_pieces("b.json", 3, chunks)]
        read = numbered_lines(pieces).to_pylist()
        expected = [{"path": path, "version": version, "line": number, "body": body, "oversize": None}
                    for path, version in (("a.json", 1), ("b.json", 3)) for number, body in enumerate(lines, 1)]
        assert read == expected, size


def test_small_files_read_in_big_chunks_cost_their_size(tmp_path: Path) -> None:
    """Bronze keeps each small file's bytes until its piece commits (100k product files at the large scale). A
    32 MB read of a 2 KB file once kept a kernel mapping of its own per file, and past 65k the reads failed."""
    lake = Lake(str(tmp_path))
    files = {f"landing/products/p{i}.json": b'{"id": %d}\n' % i * 200 for i in range(1000)}
    for path, data in files.items():
        lake.write_bytes(path, data)
    mappings = len(Path("/proc/self/maps").read_text().splitlines())
    kept = {path: b"".join(lake.read_chunks(path, 32 << 20)) for path in files}
    assert kept == files
    assert len(Path("/proc/self/maps").read_text().splitlines()) - mappings < 100
    assert list(lake.read_chunks(next(iter(files)), 1000)) == [b'{"id": 0}\n' * 100, b'{"id": 0}\n' * 100]


def test_each_type_rule_of_a_lake_file(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    lines = [
        '{"id": 1, "name": "a", "pages": ["x", "y"], "price": 5}',     # an integer is a float
        '{"id": 2, "name": null, "pages": [], "price": 1.5}',          # null stays NULL
        "",                                                             # blank: no record
        '{"id": "3", "name": "c"}',
        '{"id": 4.5}',
        '{"id": true}',
        '{"name": "no id"}',
        '{"id": 7, "name": 7}',
        '{"id": 8, "pages": ["x", 1]}',
        '{"id": 9, "pages": "x"}',
        '{"id": 10, "price": "1.5"}',
        '[{"id": 11}]',
        '{"id": 12, "name": "tr',
        '{"id": 13, "name": "esc\\"aped\\u00e9", "description": "multi\\nline"}',
        '{"id": 14, "price": NaN}',  # not JSON numbers, though DuckDB's parser reads them (issue 38, low 14)
        '{"id": 15, "price": Infinity}',
        '{"id": 16, "price": -Infinity}',
        '{"id": 17, "price": 1e400}',  # past a double: infinity
        '{"id": 18, "price": 1e300}',
    ]
    lake.write_bytes("landing/products/few.json", "\n".join(lines).encode())
    con = duckdb.connect()
    result = ingest_files(con, lake, FILE_SOURCES["products"])
    assert (result.new_rows, result.quarantined) == (4, 14)
    rows = con.execute("SELECT id, name, description, pages, price FROM bronze.products ORDER BY id").fetchall()
    assert rows == [(1, "a", None, ["x", "y"], 5.0), (2, None, None, [], 1.5),
                    (13, 'esc"aped\u00e9', "multi\nline", None, None), (18, None, None, None, 1e300)]
    reasons = con.execute("SELECT position, reason FROM bronze._quarantine ORDER BY position").fetchall()
    assert reasons == [(4, "field 'id' is not int"), (5, "field 'id' is not int"), (6, "field 'id' is not int"),
                       (7, "no field 'id'"), (8, "field 'name' is not str"), (9, "field 'pages' is not list[str]"),
                       (10, "field 'pages' is not list[str]"), (11, "field 'price' is not float"),
                       (12, "not a JSON object"), (13, "malformed JSON"),
                       *[(position, "field 'price' is not float") for position in (15, 16, 17, 18)]]


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
from dagster_project.bronze.events import ingest_events
from dagster_project.bronze import events, files
from dagster_project.bronze.files import ingest_files
from playground.catalog import FILE_SOURCES
from dagster_project.bronze.tables import ingest_orders
from dagster_project.streaming.clock import TOPICS, TimePolicy
from dagster_project.streaming.consumer import ConsumerSettings, consume
from dagster_project.streaming.engine import committed_offsets
from playground.io.bus.embedded import EmbeddedLog
from playground.io.lake import Lake
from playground.io.orders_db import OrdersDB

def parts_lake(con):  # a lake beside the database file: each run's parts apart
    return con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0] \
        + ".lake"

def ingest(source, data, con):
    if source == "users":
        files.PIECE_LINES = 2_000  # ten pieces, each committed: kills land between them too
        ingest_files(con, Lake(data + "/lake"), FILE_SOURCES["users"])
    elif source == "orders":
        with OrdersDB(f"sqlite:///{data}/orders.db") as db:
            ingest_orders(con, db, chunk=10_000)  # five chunks: kills land between commits too
    elif source == "streaming":  # the consumer: batches of every scenario, each committed with its offsets
        log = EmbeddedLog(data + "/events.db", readonly=True)
        ends = {t: log.end_sequences(t) for t in TOPICS}
        # Ten batches; parts now and then, merged as soon as they are written: kills land in compactions too.
        settings = ConsumerSettings(poll_s=0, part_every_s=0.05, max_events=5_000, compact_every_s=0,
                                    compact_after_s=0)
        consume(con, log, Lake(parts_lake(con)), TimePolicy(), lambda batch: None,
                lambda _: committed_offsets(con) == ends, settings)
        log.close()
    else:
        events.READ_BATCH = 5_000  # several commits a partition: kills land between them too
        log = EmbeddedLog(data + "/events.db", readonly=True)
        ingest_events(con, log, source)
        log.close()

if __name__ == "__main__":
    con = duckdb.connect(sys.argv[3])
    print("ready", flush=True)
    ingest(sys.argv[1], sys.argv[2], con)
    con.close()
"""

# What bronze holds, without the per-run ingestion time and batch id: (query, expected bookkeeping rows).
KILL_CASES = {
    "users": (["users", "--count", "20000"], [f"SELECT {BUSINESS} FROM bronze.users ORDER BY _line",
                                              "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._files",
                                              "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._quarantine",
                                              "SELECT * FROM bronze._file_progress"]),
    "orders": (["orders", "--count", "50000"], [f'SELECT {BUSINESS} FROM bronze.orders ORDER BY "orderId"',
                                                 f'SELECT {BUSINESS} FROM bronze.items ORDER BY "orderId", "rowId"',
                                                 "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._watermarks"]),
    "pageviews": (["pageviews", "--count", "50000"],
                  [f"SELECT {BUSINESS} FROM bronze.pageviews ORDER BY _partition, _sequence_number",
                   "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._offsets ORDER BY partition, next_sequence",
                   "SELECT * EXCLUDE (batch_id, ingested_at) FROM bronze._quarantine ORDER BY location, position"]),
    "streaming": (["pageviews", "--count", "50000"],
                  [f"SELECT * EXCLUDE (processed_time) FROM streaming.{output} ORDER BY ALL" for output in OUTPUT_NAMES]
                  + [f"SELECT * FROM streaming.{state} ORDER BY ALL" for state in
                     ("_offsets", "_time", "_partition_time", "_quarantine", "_windows", "_first_emitted",
                      "_first_pending")]),
}


@pytest.mark.e2e
@pytest.mark.parametrize("source", list(KILL_CASES))
def test_a_killed_ingest_rerun_equals_an_uninterrupted_one(tmp_path: Path, source: str) -> None:
    """Files, watermark, offsets and the streaming consumer: SIGKILL at several points, re-run, and
    what was written is as if never killed."""
    generate, queries = KILL_CASES[source]
    playground("generate", *generate, "--dirty-rate", "0.01", *dataset_args(tmp_path))
    namespace: dict = {}
    exec(INGEST, namespace)

    def snapshot(warehouse: Path) -> list[list[tuple]]:
        con = duckdb.connect(str(warehouse))
        try:
            return [con.execute(query).fetchall() for query in queries]
        finally:
            con.close()

    reference = tmp_path / "reference.duckdb"
    began = time.perf_counter()
    with duckdb.connect(str(reference)) as con:
        namespace["ingest"](source, str(tmp_path), con)
    took = time.perf_counter() - began
    expected = snapshot(reference)
    assert expected[0]
    if source == "streaming":  # the consumer merged its parts as it went
        raw = Path(f"{reference}.lake") / "bronze/streaming/raw_pageviews"
        assert [name for name in os.listdir(raw) if name.count("-") == 2], os.listdir(raw)

    for fraction in (0.0, 0.2, 0.5, 0.8, 1.2):  # of an uninterrupted run's time; the last may land after commit
        warehouse = tmp_path / f"killed-{fraction}.duckdb"
        proc = subprocess.Popen([sys.executable, "-c", INGEST, source, str(tmp_path), str(warehouse)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(fraction * took)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with duckdb.connect(str(warehouse)) as con:
            namespace["ingest"](source, str(tmp_path), con)  # the re-run
        assert snapshot(warehouse) == expected, fraction
        if source == "streaming":
            assert_parts_hold_each_row_once(warehouse)


def assert_parts_hold_each_row_once(database: Path) -> None:
    """The lake's parts of each output, read by the readers' rule, are its table, no row lost or twice (parts
    of batches a kill cut short are written again or removed; a merge a kill cut short is finished later)."""
    with duckdb.connect(str(database), read_only=True) as con:
        for output in OUTPUTS:
            folder = Path(f"{database}.lake") / output.lake_folder
            table = f"(SELECT * EXCLUDE (_batch) FROM streaming.{output.name})"
            files = [str(folder / name) for name in parts_to_read(os.listdir(folder))] if folder.exists() else []
            parts = f"read_parquet({files})" if files else f"{table} WHERE false"
            differ = con.execute(f"SELECT count(*) FROM ({table} EXCEPT ALL SELECT * FROM {parts}) UNION ALL "
                                 f"SELECT count(*) FROM (SELECT * FROM {parts} EXCEPT ALL {table})").fetchall()
            assert differ == [(0,), (0,)], output.name


def run_config(dirty_rate: float) -> dict:
    landing = {"counts": {"users": 400, "vip_users": 10, "products": 30, "orders": 100, "pageviews": 500},
               "dirty_rate": dirty_rate}
    ops = {name: {"config": landing} for name in LANDING_OPS}
    return {"ops": ops}


@pytest.mark.parametrize("dirty_rate", [0.0, 0.3])
def test_materialize_landing_and_bronze_with_its_checks(tmp_path: Path, dirty_rate: float) -> None:
    resources = local_resources(tmp_path, PLAYGROUND_ORDERS_URL=f"sqlite:///{tmp_path / 'o.db'}",
                                PLAYGROUND_BUS=str(tmp_path / "ev.db"),
                                PLAYGROUND_WAREHOUSE=str(tmp_path / "wh.duckdb"))
    result = materialize(local_assets("landing", "bronze"), resources=resources, run_config=run_config(dirty_rate))
    assert result.success
    checks = {(e.asset_check_evaluation_data.asset_key.to_user_string(), e.asset_check_evaluation_data.check_name):
              e.asset_check_evaluation_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    clean = dirty_rate == 0.0
    assert checks["bronze/users", "quarantine_share"].passed is clean
    # the source repeats users when dirty: a warning with the count, for silver to deduplicate
    users_unique = checks["bronze/users", "key_unique"]
    assert users_unique.passed is clean and users_unique.severity.value == "WARN"
    assert users_unique.metadata["extra_rows"].value == manifest(tmp_path, "users")["dirty"].get("duplicate", 0)
    # what the ingestion guarantees holds either way
    for asset, check in (("bronze/orders", "key_unique"), ("bronze/items", "key_unique"),
                         ("bronze/items", "references_orders"), ("bronze/pageviews", "key_not_null")):
        assert checks[asset, check].passed, (asset, check)
    # keys of every table, items' parent, orders against their source, quarantine of files and events
    assert len(checks) == 2 * 7 + 1 + 1 + 5
    assert checks["bronze/orders", "matches_source"].passed
    bronze_users = next(e.materialization for e in result.get_asset_materialization_events()
                        if e.materialization.asset_key.to_user_string() == "bronze/users")
    assert bronze_users.metadata["rows_new"].value + bronze_users.metadata["rows_quarantined"].value == \
        manifest(tmp_path, "users")["written"]


@pytest.mark.parametrize("rows_at_a_time", [10_000_000, 1])  # a large batch is checked a key range at a time
def test_key_checks_catch_a_batch_taken_twice_and_a_torn_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             rows_at_a_time: int) -> None:
    from dagster_project.bronze import checks
    from dagster_project.bronze.checks import key_checks
    from dagster_project.bronze.tables import ensure_tables

    monkeypatch.setattr(checks, "CHECK_ROWS", rows_at_a_time)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    ensure_tables(con)
    con.execute("INSERT INTO bronze.orders VALUES (1, 7, NULL, 10.0, NULL, 'a'), (2, 7, NULL, 5.0, NULL, 'a')")
    con.execute("INSERT INTO bronze.items VALUES (1, 1, 3, NULL, 'a'), (2, 1, 4, NULL, 'a'), (2, 2, 4, NULL, 'a')")
    assert all(o.passed for o in key_checks(con, "orders", "a") + key_checks(con, "items", "a"))

    con.execute("INSERT INTO bronze.orders VALUES (2, 7, NULL, 5.0, NULL, 'b')")  # order 2 again
    con.execute("INSERT INTO bronze.items VALUES (3, 1, 4, NULL, 'b'), (NULL, 2, 4, NULL, 'b')")  # no order 3
    orders = {o.name: o for o in key_checks(con, "orders", "b")}
    items = {o.name: o for o in key_checks(con, "items", "b")}
    assert not orders["key_unique"].passed and orders["key_unique"].blocking
    assert orders["key_unique"].metadata == {"repeated_keys": 1, "extra_rows": 1}
    assert items["key_not_null"].metadata == {"null_keys": 1}
    assert items["references_orders"].metadata == {"orphan_rows": 2}  # order 3, and the NULL key


def test_a_batch_is_checked_in_ranges_of_its_first_key_of_about_the_rows_asked() -> None:
    from dagster_project.bronze.checks import key_ranges

    assert key_ranges(1, 100, 100, 100) == [None]  # small enough: at once
    assert key_ranges("a", "z", 500, 100) == [None]  # not a whole number
    assert key_ranges(None, None, 0, 100) == [None]
    assert key_ranges(1, 100, 250, 100) == [(1, 34), (35, 68), (69, 100)]
    assert key_ranges(5, 5, 3, 1) == [(5, 5)]


def test_orders_and_items_by_watermark(tmp_path: Path) -> None:
    from playground.generators.behaviour import Shop
    from playground.generators.live import run_trickle
    from playground.io.orders_db import OrdersDB

    from dagster_project.bronze.tables import ingest_orders

    playground("generate", "users", "--count", "500", *dataset_args(tmp_path))
    playground("generate", "products", "--count", "30", *dataset_args(tmp_path))
    playground("generate", "orders", "--count", "2000", *dataset_args(tmp_path))
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    with OrdersDB(f"sqlite:///{tmp_path / 'orders.db'}") as db:
        first = ingest_orders(con, db)
        assert (first.watermark_from, first.watermark_to, first.new_orders) == (0, 2000, 2000)
        assert first.new_items == db.counts()["items"]
        assert ingest_orders(con, db).new_orders == 0
        stats = run_trickle(Lake(str(tmp_path / "lake")), db, Shop(42, 500, 0), 0, 1000, duration_s=0.5)
        more = ingest_orders(con, db)
        assert (more.watermark_from, more.new_orders, more.new_items) == (2000, stats.orders, stats.items)
        assert more.total_orders == db.counts()["orders"] and more.total_items == db.counts()["items"]
    # only the new rows were read: every bronze row appears once
    assert con.execute('SELECT count(*) - count(DISTINCT "orderId") FROM bronze.orders').fetchone()[0] == 0


def test_orders_are_taken_in_chunks_with_a_watermark_each_from_sqlite_or_postgres(tmp_path: Path,
                                                                                  postgres_url: str) -> None:
    from playground.io.orders_db import OrdersDB

    from dagster_project.bronze.tables import ingest_orders

    playground("generate", "orders", "--count", "2000", "--dirty-rate", "0.05", *dataset_args(tmp_path))
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = postgres_url
    playground("generate", "orders", "--count", "2000", "--dirty-rate", "0.05", *args)
    snapshots = []
    for name, url, chunk in (("whole", f"sqlite:///{tmp_path / 'orders.db'}", 10_000),
                             ("chunked", f"sqlite:///{tmp_path / 'orders.db'}", 300), ("pg", postgres_url, 700)):
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        with OrdersDB(url) as db:
            result = ingest_orders(con, db, chunk=chunk)
        assert (result.watermark_to, result.new_orders) == (2000, 2000)
        marks = [m for (m,) in con.execute("SELECT watermark FROM bronze._watermarks ORDER BY 1").fetchall()]
        assert marks == [*range(chunk, 2000, chunk), 2000]
        snapshots.append([con.execute(f'SELECT {BUSINESS} FROM bronze.{t} ORDER BY ALL').fetchall()
                          for t in ("orders", "items")])
    assert snapshots[0] == snapshots[1] == snapshots[2]  # the same rows, types and values whichever way
    assert any(row[2] is None for row in snapshots[0][0])  # missing-field dirt stays NULL


def test_events_by_committed_offsets(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from playground.generators.events import StreamConfig
    from playground.generators.live import run_stream
    from playground.io.bus.embedded import EmbeddedLog

    from dagster_project.bronze.events import ingest_events

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


def test_bronze_and_streaming_read_kafka_by_committed_offsets(tmp_path: Path, kafka_bootstrap: str) -> None:
    """The same events through Kafka as through the embedded log: bronze takes each once, by the offsets
    it commits, and the streaming micro-batch asset reads them too."""
    from playground.io.bus import open_reader

    from dagster_project.bronze.events import ingest_events

    kafka = f"kafka://{kafka_bootstrap}"
    embedded_args, kafka_args = dataset_args(tmp_path / "embedded"), dataset_args(tmp_path / "kafka")
    kafka_args[kafka_args.index("--bus") + 1] = kafka
    for args in (embedded_args, kafka_args):
        playground("generate", "pageviews", "--count", "3000", "--dirty-rate", "0.02", "--seed", "5", *args)
    embedded, reader = open_reader(str(tmp_path / "embedded/events.db")), open_reader(kafka)
    from_log, from_kafka = duckdb.connect(), duckdb.connect(str(tmp_path / "wh.duckdb"))
    ingest_events(from_log, embedded, "pageviews")
    first = ingest_events(from_kafka, reader, "pageviews")
    m = manifest(tmp_path / "kafka", "pageviews")
    assert first.quarantined == m["dirty"]["malformed"] and first.new_rows + first.quarantined == m["written"]
    assert first.offsets_to == reader.end_sequences("pageviews") and len(first.offsets_to) == 4
    business = ("SELECT * EXCLUDE (_partition, _sequence_number, _offset, _enqueued_time, _ingested_at, _batch_id) "
                "FROM bronze.pageviews ORDER BY ALL")  # the events, without where the bus put them
    assert from_kafka.execute(business).fetchall() == from_log.execute(business).fetchall()
    assert ingest_events(from_kafka, reader, "pageviews").new_rows == 0

    playground("generate", "pageviews", "--count", "500", "--seed", "6", *kafka_args)
    more = ingest_events(from_kafka, reader, "pageviews")
    assert more.offsets_from == first.offsets_to and more.new_rows == 500
    bronze_pageviews = first.new_rows + more.new_rows

    resources = local_resources(tmp_path, PLAYGROUND_LAKE=str(tmp_path / "kafka/lake"), PLAYGROUND_BUS=kafka)
    assert materialize(local_assets("streaming"), resources=resources).success
    with duckdb.connect(str(tmp_path / "streams.duckdb")) as con:
        raw, quarantined = con.execute("""SELECT (SELECT count(*) FROM streaming.raw_pageviews),
            (SELECT count(*) FROM streaming._quarantine WHERE topic = 'pageviews')""").fetchone()
    # Each event once; streaming also sets aside events without a user_id (every scenario is per user).
    no_user = from_kafka.execute("SELECT count(*) FROM bronze.pageviews WHERE user_id IS NULL").fetchone()[0]
    assert raw == bronze_pageviews - no_user and quarantined == first.quarantined + no_user
    for closing in (embedded, reader):
        closing.close()


@pytest.mark.integration  # waits on librdkafka against a closed port
def test_an_unreachable_kafka_bus_is_one_clear_error() -> None:
    from playground.errors import PlaygroundError
    from playground.io.bus import open_reader

    reader = open_reader("kafka://127.0.0.1:9")
    with pytest.raises(PlaygroundError, match=r"cannot list topic 'pageviews' on kafka://127.0.0.1:9: .*reachable"):
        reader.end_sequences("pageviews")
    reader.close()
