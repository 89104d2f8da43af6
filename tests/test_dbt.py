"""dbt: silver and gold as Dagster assets, incremental models, the engagements fix, DuckDB vs Spark,
and the cloud warehouses compiled without credentials."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import polars as pl
import pytest
from dagster import materialize
from playground.catalog import LANDING_OPS
from playground.errors import PlaygroundError

from dagster_project.solutions import SOLUTIONS
from dagster_project.transform.dbt_cli import (
    DBT_DIR,
    KEPT_RUN_TARGETS,
    check_dbt_settings,
    dbt_command,
    dbt_resource,
    dbt_settings,
)
from tests.helpers import local_assets, local_resources

COUNTS = {"users": 400, "vip_users": 20, "products": 60, "orders": 1_500, "pageviews": 3_000}
GOLD = ("daily_sales", "engagements", "product_popularity", "stars_distribution")
GOLD_KEYS = {"daily_sales": "order_day", "engagements": "id", "product_popularity": "product_id",
             "stars_distribution": "stars"}
BRONZE = ("users", "vip_users", "products", "orders", "items", "pageviews", "stars")


def dbt(*args: str, project: Path = DBT_DIR, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """The dbt CLI from dbt's environment; its target/ and logs go to a scratch folder beside the warehouse."""
    command = dbt_command(*args, scratch=(env or {}).get("SCRATCH", "/tmp"), project=project)
    result = subprocess.run(command, cwd=project, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                            timeout=900)
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    """Landing -> bronze -> silver -> gold materialized once, clean data, in a temp dir."""
    root = tmp_path_factory.mktemp("graph")
    landing = {"counts": COUNTS}
    run_config = {"ops": {name: {"config": landing} for name in LANDING_OPS}}
    resources = local_resources(root, PLAYGROUND_WAREHOUSE=str(root / "wh.duckdb"),
                                PLAYGROUND_BRONZE_TO_LAKE="1")  # Spark reads bronze from the lake
    result = materialize(local_assets("landing", "bronze", "gold"), resources=resources, run_config=run_config)
    assert result.success
    yield root, result


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_whole_graph_materializes_with_every_check_passing(built: tuple[Path, object]) -> None:
    result = built[1]
    checks = [e.asset_check_evaluation_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = [(c.asset_key.to_user_string(), c.check_name) for c in checks if not c.passed]
    assert not failed
    assert {c.asset_key.path[0] for c in checks} == {"bronze", "silver", "gold", "features"}  # every tier checked
    materialized = {e.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {f"gold/{m}" for m in GOLD} <= materialized and "silver/user_jobs" in materialized


def test_engagements_counts_every_event_and_order_once(built: tuple[Path, object]) -> None:
    """On real data: the per-user measures add up to the silver totals (a fan-out would inflate them)."""
    warehouse = built[0] / "wh.duckdb"
    totals = query(warehouse, "SELECT count(*), sum(pageviews), sum(orders), sum(total_items), "
                              "sum(total_orders_value), count(*) FILTER (WHERE is_vip) FROM gold.engagements")[0]
    expected = query(warehouse, "SELECT (SELECT count(*) FROM silver.users), (SELECT count(*) FROM silver.pageviews), "
                                "(SELECT count(*) FROM silver.orders), (SELECT count(*) FROM silver.items), "
                                "(SELECT sum(order_value) FROM silver.orders), "
                                "(SELECT count(*) FROM silver.vip_users)")[0]
    assert totals[:4] == expected[:4] and totals[0] == COUNTS["users"]
    assert math.isclose(totals[4], expected[4]) and totals[5] == expected[5] == COUNTS["vip_users"]
    stars = query(warehouse, "SELECT id, avg_stars FROM gold.engagements WHERE avg_stars IS NOT NULL LIMIT 1")[0]
    assert stars[1] == query(warehouse, f"SELECT avg(stars) FROM silver.stars WHERE user_id = {stars[0]}")[0][0]


def test_gold_is_published_as_parquet_for_readers_outside_the_warehouse(built: tuple[Path, object]) -> None:
    root = built[0]
    for model in GOLD:
        published = pl.read_parquet(root / "lake" / "gold" / model / "data.parquet")
        assert published.height == query(root / "wh.duckdb", f"SELECT count(*) FROM gold.{model}")[0][0] > 0
    # Counts are integers to a reader too (DuckDB's sum of integers is a HUGEINT, which Parquet gets as DOUBLE).
    counts_of = {"engagements": ("pageviews", "orders", "total_items"), "daily_sales": ("orders", "items"),
                 "user_activity": ("pageviews", "orders", "valued_orders", "items", "ratings", "stars_total")}
    for model, counts in counts_of.items():
        schema = pl.read_parquet_schema(root / "lake" / "gold" / model / "data.parquet")
        assert {column: schema[column] for column in counts} == dict.fromkeys(counts, pl.Int64), model


def test_each_asset_shows_the_columns_and_types_the_warehouse_holds(built: tuple[Path, object]) -> None:
    """The asset pages' Columns table comes from the models' ymls (`data_type`, which dagster-dbt reads): every
    column of every silver, gold and feature table, with the type DuckDB built it with."""
    shown = {(*spec.key.path, column.name): column.type for spec in local_assets("gold")[0].specs
             for column in spec.metadata["dagster/column_schema"].columns}
    held = query(built[0] / "wh.duckdb",
                 "SELECT table_schema, table_name, column_name, lower(data_type) FROM information_schema.columns "
                 "WHERE table_schema IN ('silver', 'gold', 'features')")
    assert shown == {(schema, table, column): kind for schema, table, column, kind in held}


@pytest.mark.integration
def test_the_activity_unit_test_fails_for_the_originals_join_then_aggregate(built: tuple[Path, object],
                                                                          tmp_path: Path) -> None:
    """The hand-made unit test catches the original's query shape: every table joined, then aggregated."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns(".venv", "target", "logs"))
    (project / "models/gold/user_activity.sql").write_text("""
select o.user_id, count(p.event_id) as pageviews, count(o.order_id) as orders,
       count(o.order_value) as valued_orders, sum(o.order_value) as orders_value, count(i.row_id) as items,
       count(s.stars) as ratings, sum(s.stars) as stars_total, max(o._ingested_at) as _ingested_through
from {{ ref('orders') }} o
left join {{ ref('pageviews') }} p on p.user_id = o.user_id
left join {{ ref('items') }} i on i.order_id = o.order_id
left join {{ ref('stars') }} s on s.user_id = o.user_id
group by o.user_id
""")
    shutil.copy(built[0] / "wh.duckdb", tmp_path / "wh.duckdb")
    env = {"PLAYGROUND_WAREHOUSE": str(tmp_path / "wh.duckdb"), "SCRATCH": str(tmp_path)}
    select = ["--select", "user_activity,test_type:unit"]
    failed = dbt("test", *select, project=project, env=env, check=False)
    assert failed.returncode != 0 and "user_activity_aggregates_each_measure_before_joining" in failed.stdout
    assert "FAIL" in failed.stdout
    dbt("test", *select, env=env)  # the real model passes the same test


def gold_tables(warehouse: Path) -> dict[str, pl.DataFrame]:
    """Every gold table, its rows in key order, without the incremental cursor."""
    totals = {"user_activity": "user_id", "product_sales": "product_id", "daily_totals": "order_day"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {model: con.sql(f"SELECT * {'EXCLUDE (_ingested_through)' if model in totals else ''} "
                               f"FROM gold.{model}").pl().sort(key) for model, key in {**GOLD_KEYS, **totals}.items()}


def assert_same_tables(ours: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]) -> None:
    """Equal tables; floats equal but for the order their sums were taken in."""
    for model, table in ours.items():
        other = theirs[model]
        assert table.columns == other.columns and table.height == other.height, model
        for column in table.columns:
            a, b = table[column].to_list(), other[column].to_list()
            if table[column].dtype.is_float():
                assert all((x is None and y is None) or math.isclose(x, y, rel_tol=1e-9) for x, y in
                           zip(a, b, strict=True)), (model, column)
            else:
                assert a == b, (model, column)


@pytest.mark.integration
def test_incremental_gold_equals_a_full_refresh(built: tuple[Path, object], tmp_path: Path) -> None:
    """New orders with items, pageviews, ratings (one of an id that is no user yet) and then a new users file
    arrive in bronze: each incremental run leaves gold as a full refresh builds it from the same silver."""
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    env = {"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)}
    with duckdb.connect(str(warehouse)) as con:
        top = con.execute("SELECT max(orderId) FROM bronze.orders").fetchone()[0]
        con.execute(f"""
            INSERT INTO bronze.orders SELECT orderId + {top}, userId, orderDate + INTERVAL 1 DAY, orderValue,
                now()::TIMESTAMP, 'more' FROM bronze.orders WHERE orderId % 7 = 0;
            INSERT INTO bronze.items SELECT orderId + {top}, rowId, productId, now()::TIMESTAMP, 'more'
                FROM bronze.items WHERE orderId % 7 = 0;
            INSERT INTO bronze.pageviews SELECT * REPLACE (event_id || '-more' AS event_id, now()::TIMESTAMP AS
                _ingested_at) FROM bronze.pageviews WHERE _offset % 5 = 0;
            INSERT INTO bronze.stars SELECT * REPLACE (event_id || '-more' AS event_id, 999999 AS user_id,
                now()::TIMESTAMP AS _ingested_at) FROM bronze.stars LIMIT 3;""")
    dbt("run", env=env)
    incremental = gold_tables(warehouse)
    assert incremental["user_activity"].filter(pl.col("user_id") == 999999)["ratings"].to_list() == [3]
    dbt("run", "--full-refresh", env=env)
    assert_same_tables(incremental, gold_tables(warehouse))
    # A new version of the users file: users are built again, and with them every engagement (id 999999 is a
    # user now, with the ratings counted before it was).
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""INSERT INTO bronze.users SELECT * REPLACE (CASE WHEN id = 0 THEN 999999 ELSE id END AS id,
                           _file_version + 1 AS _file_version, now()::TIMESTAMP AS _ingested_at)
                       FROM bronze.users WHERE _file_version = (SELECT max(_file_version) FROM bronze.users)""")
    dbt("run", env=env)
    incremental = gold_tables(warehouse)
    assert incremental["engagements"].filter(pl.col("id") == 999999)["avg_stars"].to_list() != [None]
    assert 0 not in incremental["engagements"]["id"].to_list()
    dbt("run", "--full-refresh", env=env)
    assert_same_tables(incremental, gold_tables(warehouse))


@pytest.mark.integration
def test_incremental_models_read_only_bronze_rows_newer_than_their_own(built: tuple[Path, object],
                                                                      tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        newest = con.execute("SELECT max(_ingested_at) FROM silver.orders").fetchone()[0]
        known = con.execute("SELECT min(order_id) FROM silver.orders").fetchone()[0]
        con.execute("""INSERT INTO bronze.orders VALUES
            (900001, 1, TIMESTAMP '2020-01-01', 10.0, TIMESTAMP '2000-01-01', 'old'),   -- older than silver's newest
            (900002, 1, TIMESTAMP '2020-01-01', 20.0, now()::TIMESTAMP, 'new'),
            (?, 1, TIMESTAMP '2020-01-01', 30.0, now()::TIMESTAMP, 'new')""", [known])  # already in silver
        before = con.execute("SELECT count(*) FROM silver.orders").fetchone()[0]
    env = {"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)}
    dbt("build", "--select", "orders", env=env)
    ids = {row[0] for row in query(warehouse, "SELECT order_id FROM silver.orders WHERE order_id > 900000")}
    assert ids == {900002}  # the old row is not read; the known key is not added
    assert query(warehouse, "SELECT count(*) FROM silver.orders")[0][0] == before + 1
    assert query(warehouse, f"SELECT max(_ingested_at) > TIMESTAMP '{newest}' FROM silver.orders")[0][0]
    with duckdb.connect(str(warehouse)) as con:  # the known key's repeat stood for a batch silver had taken: gone
        con.execute("DELETE FROM bronze.orders WHERE orderId = ? AND _batch_id = 'new'", [known])
    dbt("build", "--select", "orders", "--full-refresh", env=env)
    ids = {row[0] for row in query(warehouse, "SELECT order_id FROM silver.orders WHERE order_id > 900000")}
    assert ids == {900001, 900002}  # a full refresh reads all of bronze


@pytest.mark.integration
def test_a_key_bronze_took_twice_fails_silvers_build_by_name(built: tuple[Path, object], tmp_path: Path) -> None:
    """Silver does not deduplicate the database's orders again (bronze takes each key once and its blocking check
    says when it did not): a repeat that reached bronze anyway fails silver's unique test, which names it, and
    stops gold."""
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""INSERT INTO bronze.orders VALUES
            (900002, 1, TIMESTAMP '2020-01-01', 20.0, now()::TIMESTAMP, 'new'),
            (900002, 1, TIMESTAMP '2020-01-01', 20.0, now()::TIMESTAMP, 'new')""")
    result = dbt("build", "--select", "orders+", env={"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)},
                 check=False)
    assert result.returncode == 1
    assert "Failure in test unique_orders_order_id" in result.stdout and "Got 1 result" in result.stdout
    assert re.search(r"SKIP relation gold\.daily_sales", result.stdout), result.stdout[-3000:]


@pytest.mark.e2e
def test_spark_builds_the_same_gold_as_duckdb(built: tuple[Path, object], tmp_path: Path) -> None:
    """dbt-spark on PySpark local[*], reading the bronze batches the assets wrote to the lake: every model and
    test passes, gold and the order features equal DuckDB's; and each gold model is published to the lake by
    the warehouse itself, as Databricks does it (the same SQL: publish_to_lake's spark__ statement), in a
    folder of its own for the run."""
    root = built[0]
    assert {p.parent.name for p in (root / "lake/bronze").glob("*/batch-*.parquet")} == set(BRONZE)
    spark_dir, published = tmp_path / "spark", tmp_path / "gold_lake"
    env = {"PLAYGROUND_LAKE": str(root / "lake"), "PLAYGROUND_SPARK_DIR": str(spark_dir), "SCRATCH": str(tmp_path),
           "PLAYGROUND_GOLD_LOCATION": str(published), "PLAYGROUND_PUBLISH_STAMP": "20261206T101500"}
    result = dbt("build", "--target", "spark", env=env)
    assert "ERROR=0" in result.stdout and "WARN=0" in result.stdout
    spark = {model: pl.read_parquet(spark_dir / "warehouse" / "gold.db" / model / "*.parquet").sort(key)
             for model, key in GOLD_KEYS.items()}
    local = {model: pl.read_parquet(root / "lake" / "gold" / model / "data.parquet").sort(key)
             for model, key in GOLD_KEYS.items()}  # DuckDB's, published
    assert_same_tables(local, spark)
    # Spark has no GROUPS frame: its order features add up each instant and join back (totals_before's default).
    spark_features = pl.read_parquet(spark_dir / "warehouse" / "features.db" / "order_features" / "*.parquet")
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        local_features = con.sql("SELECT * FROM features.order_features").pl()
    assert_same_tables({"order_features": local_features.sort("order_id")},
                       {"order_features": spark_features.with_columns(pl.col(pl.Datetime).dt.replace_time_zone(None))
                        .sort("order_id")})
    in_lake = {model: pl.read_parquet(published / model / "20261206T101500" / "*.parquet").sort(key)
               for model, key in GOLD_KEYS.items()}
    assert_same_tables(local, in_lake)


@pytest.mark.e2e
@pytest.mark.parametrize("target", ["databricks", "microsoft"])
def test_cloud_warehouses_parse_and_compile_without_credentials(target: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "SYNAPSE_SERVER", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    env = {"SCRATCH": str(tmp_path)}
    dbt("parse", "--target", target, env=env)
    for shape in ("full", "incremental"):
        dbt("compile", "--target", target, "--no-introspect", "--no-populate-cache", "--vars", f"{{offline: {shape}}}",
            env=env)
    compiled = (tmp_path / "target/compiled/playground/models/silver/pageviews.sql").read_text()
    assert "not exists" in compiled  # the incremental shape, rendered for this warehouse
    assert ("convert(datetime2" in compiled) == (target == "microsoft")
    # the statements register_bronze runs there, making the lake's bronze folders tables of the warehouse
    location = "abfss://bronze@account.dfs.core.windows.net"
    ddl = dbt("compile", "--target", target, "--no-introspect", "--no-populate-cache", "--vars", "{offline: full}",
              "--inline", "{% for s in bronze_tables_sql() %}{{ s }};\n{% endfor %}",
              env={**env, "PLAYGROUND_BRONZE_LOCATION": location}).stdout
    if target == "databricks":  # its bronze job writes the other tables into the catalog
        assert f"create table if not exists bronze.pageviews using parquet location '{location}/pageviews'" in ddl
        assert "refresh table bronze.stars" in ddl and "bronze.users" not in ddl
    else:
        # read as the workspace's managed identity, the one Terraform grants the lake (tests/test_azure_rules.py)
        assert "create master key" in ddl
        assert ("create database scoped credential playground_lake_identity with identity = "
                "''Managed Service Identity''") in ddl
        assert (f"create external data source playground_bronze with (type = hadoop, location = ''{location}'', "
                "credential = playground_lake_identity)") in ddl
        assert "create external table bronze.users ([id] bigint, [name] nvarchar(4000)" in ddl
        assert "[jobs] nvarchar(4000)" in ddl and "with (location = ''/stars/''" in ddl
    # how the warehouse publishes a gold model to the lake (publish_to_lake, a post-hook of every gold model)
    published = dbt("compile", "--target", target, "--no-introspect", "--no-populate-cache", "--vars",
                    "{offline: full}", "--inline", "{{ publish_sql(ref('engagements'), 'engagements/s1') }}",
                    env={**env, "PLAYGROUND_GOLD_LOCATION": "abfss://gold@account.dfs.core.windows.net"}).stdout
    if target == "databricks":
        assert "insert overwrite directory 'abfss://gold@account.dfs.core.windows.net/engagements/s1' using " \
               "parquet select * from" in published
    else:
        assert "create external data source playground_gold with (type = hadoop, location = " \
               "''abfss://gold@account.dfs.core.windows.net'', credential = playground_lake_identity)" in published
        assert "if object_id('gold_lake.engagements') is not null drop external table gold_lake.engagements" \
               in published
        assert "create external table gold_lake.engagements with (location = '/engagements/s1/', data_source = " \
               "playground_gold, file_format = playground_parquet) as select * from" in published
    with pytest.raises(PlaygroundError, match="DATABRICKS_HOST" if target == "databricks" else "SYNAPSE_SERVER"):
        check_dbt_settings(SOLUTIONS[target])


@pytest.mark.integration
def test_orders_without_a_user_or_with_a_negative_value_are_flagged_without_blocking_gold(
        built: tuple[Path, object], tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("""INSERT INTO bronze.orders VALUES
            (900001, NULL, TIMESTAMP '2020-01-01', 10.0, now()::TIMESTAMP, 'new'),
            (900002, 1, TIMESTAMP '2020-01-01', -5.0, now()::TIMESTAMP, 'new')""")
    env = {"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)}
    result = dbt("build", "--select", "orders+", env=env)
    warned = {line.split("Warning in test ")[1].split()[0] for line in result.stdout.splitlines()
              if "Warning in test " in line}
    assert warned == {"not_null_orders_user_id", "not_negative_orders_order_value"}, result.stdout[-3000:]
    assert query(warehouse, "SELECT revenue FROM gold.daily_sales WHERE order_day = DATE '2020-01-01'") == [(5.0,)]


def test_a_run_takes_the_orders_before_the_products_they_name(built: tuple[Path, object]) -> None:
    """Landing and bronze in one run: orders are landed and taken before the products are listed, so every
    item arrived before the newest product and silver's product check covers all of them."""
    warehouse = built[0] / "wh.duckdb"
    assert query(warehouse, "SELECT (SELECT max(_ingested_at) FROM bronze.items) "
                            "< (SELECT min(_ingested_at) FROM bronze.products)") == [(True,)]
    assert query(warehouse, "SELECT count(*) FROM silver.items "
                            "WHERE _ingested_at > (SELECT max(ingested_at) FROM silver.products)") == [(0,)]


@pytest.mark.integration
def test_an_item_whose_product_is_in_flight_warns_only_once_products_moved_past_it(
        built: tuple[Path, object], tmp_path: Path) -> None:
    """While data trickles in, an order can be taken before the file of the product it names is listed. Such an
    item is not an orphan yet; it is one when products took a row after it and still not its product."""
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    env = {"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)}
    check = "relationships_in_flight_items_product_id"

    def warned() -> list[int]:  # the check's failing rows, as dbt's line "N of M WARN k <test> ..." says them
        result = dbt("build", "--select", "items", "products", env=env)
        return [int(found) for found in re.findall(rf" WARN (\d+) {check} ", result.stdout)]

    def take(sql: str, *values: object) -> None:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(sql, list(values))

    order = query(warehouse, "SELECT min(orderId) FROM bronze.items")[0][0]
    new_item = ("INSERT INTO bronze.items SELECT * REPLACE (? AS rowId, ? AS productId, now()::TIMESTAMP AS "
                "_ingested_at) FROM bronze.items WHERE orderId = ? LIMIT 1")
    take(new_item, 90, 2**31 - 1, order)  # an orphan (the dirt's ids)
    take(new_item, 91, 5000, order)  # product 5000's file is written, not listed yet
    assert warned() == []  # both arrived after the newest product: either may be in flight
    take("INSERT INTO bronze.products SELECT * REPLACE (5000 AS id, now()::TIMESTAMP AS _ingested_at) "
         "FROM bronze.products LIMIT 1")
    assert warned() == [1]  # products moved past them: product 5000 is there, the orphan is one
    assert query(warehouse, "SELECT count(*) FROM silver.items WHERE product_id = 5000") == [(1,)]


@pytest.mark.integration
def test_dbts_duckdb_takes_the_memory_and_threads_a_run_chose(built: tuple[Path, object], tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    env = {**dbt_settings(str(warehouse), str(built[0] / "lake")), "SCRATCH": str(tmp_path)}
    env.update(PLAYGROUND_DUCKDB_MEMORY_LIMIT="300MB", PLAYGROUND_DUCKDB_THREADS="2")
    shown = dbt("show", "--inline", "select current_setting('threads') as threads_set, "
                "current_setting('memory_limit') as memory_set", env=env)
    assert re.search(r"\|\s*2\s*\|\s*286\.1 MiB\s*\|", shown.stdout), shown.stdout[-2000:]


@pytest.mark.integration
def test_source_freshness_warns_when_bronze_took_nothing_for_an_hour(built: tuple[Path, object],
                                                                    tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(built[0] / "wh.duckdb", warehouse)
    env = {"PLAYGROUND_WAREHOUSE": str(warehouse), "SCRATCH": str(tmp_path)}
    fresh = dbt("source", "freshness", env=env)
    assert fresh.stdout.count(" PASS freshness of bronze.") == 4, fresh.stdout[-2000:]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE bronze.orders SET _ingested_at = _ingested_at - INTERVAL 2 HOUR")
    stale = dbt("source", "freshness", "--select", "source:bronze.orders", env=env)
    assert " WARN freshness of bronze.orders" in stale.stdout, stale.stdout[-2000:]


def test_a_dbt_step_keeps_only_the_newest_run_folders_of_its_op(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Each dbt step writes its artifacts to target/<op>-<run>-<uuid>/ (dagster-dbt): a step removes its op's
    oldest folders so that a schedule running for weeks does not fill the disk."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    for age in range(12):
        for op in ("dbt_models", "databricks_dbt_models"):
            folder = tmp_path / f"{op}-run{age:04d}-0000000"
            folder.mkdir()
            (folder / "run_results.json").write_text("{}")
            os.utime(folder, (1_000_000 - age, 1_000_000 - age))  # run0000 is the newest
    (tmp_path / "partial_parse.msgpack").write_bytes(b"kept")
    context = SimpleNamespace(op_execution_context=SimpleNamespace(op=SimpleNamespace(name="dbt_models")),
                              run=SimpleNamespace(run_id="abcdef1234"))
    path = dbt_resource("duckdb")._get_unique_target_path(context=context)
    assert path.parent == tmp_path and path.name.startswith("dbt_models-abcdef1-")
    left = sorted(folder.name for folder in tmp_path.glob("dbt_models-*"))
    assert left == [f"dbt_models-run{age:04d}-0000000" for age in range(KEPT_RUN_TARGETS - 1)]
    assert len(list(tmp_path.glob("databricks_dbt_models-*"))) == 12  # another location's op: its own
    assert (tmp_path / "partial_parse.msgpack").read_bytes() == b"kept"


def test_after_a_cloud_build_readers_are_pointed_at_the_newest_whole_folder(tmp_path: Path) -> None:
    """A cloud warehouse writes each gold model into gold/<model>/<stamp>/ (publish_to_lake); Dagster then
    names that folder in gold/<model>/_latest, where the dashboard reads, and removes the older ones."""
    from playground.io.lake import Lake

    from dagster_project.publish import LATEST, point_to_published, publish_stamp

    lake = Lake(str(tmp_path / "lake"))
    older, stamp = publish_stamp(datetime(2026, 12, 5, 9, tzinfo=UTC)), publish_stamp(datetime(2026, 12, 6, 10, 15,
                                                                                               tzinfo=UTC))
    assert (older, stamp) == ("20261205T090000000000", "20261206T101500000000") and older < stamp
    lake.write_bytes(f"gold/daily_sales/{older}/part-0.parquet", b"old")
    lake.write_bytes(f"gold/daily_sales/{stamp}/part-0.parquet", b"new")
    lake.write_bytes(f"gold/daily_sales/{stamp}/_SUCCESS", b"")
    assert point_to_published(lake, "gold", "daily_sales", stamp) == lake.display(f"gold/daily_sales/{stamp}")
    assert lake.read_bytes(f"gold/daily_sales/{LATEST}") == stamp.encode()
    assert lake.list("gold/daily_sales") == [stamp]
    # A model the warehouse wrote nothing for (its build failed) keeps pointing where it pointed.
    assert point_to_published(lake, "gold", "daily_sales", "20261207T000000000000") is None
    assert lake.read_bytes(f"gold/daily_sales/{LATEST}") == stamp.encode()


def test_under_dagster_dev_a_location_parses_again_only_when_the_project_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make up` runs `dagster dev`: an edited model shows once its location reloads; an unchanged project, or a
    load outside `dagster dev`, keeps the manifest `make setup` made (a parse costs seconds per location)."""
    import os

    from dagster_dbt import DbtProject

    from dagster_project.transform import dbt_cli

    project = tmp_path / "dbt"
    for folder in ("models", "macros", "target"):
        (project / folder).mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    (project / "profiles.yml").write_text("p: {}\n")
    model, manifest = project / "models" / "m.sql", project / "target" / "manifest.json"
    model.write_text("select 1")
    manifest.write_text("{}")
    for path in (model, project / "dbt_project.yml", project / "profiles.yml"):
        os.utime(path, (1_000, 1_000))
    os.utime(manifest, (2_000, 2_000))
    parses: list[int] = []
    monkeypatch.setattr(dbt_cli, "parse", lambda: parses.append(1) or 0)
    described = DbtProject(project_dir=project, profiles_dir=project)
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    os.utime(model, (3_000, 3_000))  # edited after the manifest
    dbt_cli.prepare_if_dev(described)
    assert parses == []  # not under dagster dev
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    dbt_cli.prepare_if_dev(described)
    assert parses == [1]
    os.utime(model, (1_000, 1_000))  # older than the manifest again
    dbt_cli.prepare_if_dev(described)
    assert parses == [1]
    monkeypatch.setattr(dbt_cli, "parse", lambda: 2)
    os.utime(model, (3_000, 3_000))
    with pytest.raises(PlaygroundError, match=r"`dbt parse` of .* failed \(exit 2\)"):
        dbt_cli.prepare_if_dev(described)
