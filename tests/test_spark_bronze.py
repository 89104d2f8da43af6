"""The Databricks solution's bronze job (dagster_project/on_spark/bronze.py) on local PySpark, run by
its Dagster assets through PipesSubprocessClient: the rows, quarantine, counts and checks Dagster
gets equal the local bronze tier's for the same landing data and orders database (PostgreSQL,
read by JDBC). Only the transport differs on Databricks: the task it submits is checked here too."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, materialize
from playground.catalog import FILE_SOURCES
from playground.generators.run import write_products
from playground.io.lake import Lake

from dagster_project.bronze.assets import duckdb_bronze, spark_bronze
from dagster_project.on_spark.bronze import arguments, jdbc_url, lake_url
from dagster_project.solutions import SOLUTIONS
from dagster_project.spark_jobs import LAUNCHER, DatabricksSparkJobs, LocalSparkJobs
from tests.helpers import dataset_args, local_resources, playground

DATABRICKS = SOLUTIONS["databricks"]
TABLES = (*FILE_SOURCES, "orders", "items")
COMPARED = {"orders": '"orderId", "userId", "orderDate", "orderValue"', "items": '"orderId", "rowId", "productId"'}
# A hand-made file: CRLF endings, a blank line, bytes that are not UTF-8, a JSON array, a string id and a
# last line without its \n.
# A byte-order mark, CRLF, a blank line, bytes that are not UTF-8, not an object, a wrong type, a line past
# the 1 MiB maximum, a last line without its newline: both tiers apply bronze/lines.py's rules.
ODD_PRODUCTS = ("\N{BYTE ORDER MARK}".encode() + b'{"id": 9001, "name": "crlf", "price": 2.5}\r\n\r\n\xff\xfe\n'
                b'[1]\n{"id": "7"}\n{"id": 9003, "name": "' + b"x" * (2 << 20) + b'"}\n{"id": 9002}')


def test_jdbc_urls_from_the_orders_url() -> None:
    assert jdbc_url("postgresql+psycopg://me:p%40ss@db.example:5433/shop") == (
        "jdbc:postgresql://db.example:5433/shop", {"user": "me", "password": "p@ss", "driver": "org.postgresql.Driver"})
    url, props = jdbc_url("mssql+pymssql://admin:secret@srv.database.windows.net/orders")
    assert url.startswith("jdbc:sqlserver://srv.database.windows.net:1433;databaseName=orders;encrypt=true")
    assert props == {"user": "admin", "password": "secret", "driver": "com.microsoft.sqlserver.jdbc.SQLServerDriver"}
    with pytest.raises(ValueError, match="sqlite:// has no JDBC reading here"):
        jdbc_url("sqlite:///data/orders.db")


def test_lake_urls_take_the_container_from_the_path() -> None:
    assert lake_url("abfss://acct.dfs.core.windows.net", "landing/users") == \
        "abfss://landing@acct.dfs.core.windows.net/users"
    assert lake_url("file:///tmp/lake/", "landing/users") == "file:///tmp/lake/landing/users"


@pytest.mark.integration
def test_the_databricks_task_runs_the_job_from_the_wheel_with_its_arguments(tmp_path: Path) -> None:
    jobs = DatabricksSparkJobs(host="adb-1.azuredatabricks.net", token="t", storage_account="acct",
                               catalog="playground", volume="/Volumes/playground/bronze/artifacts/",
                               wheels="data_playground-0.1.0-py3-none-any.whl,playground_generators-0.1.0-py3-none-any.whl",
                               secret_scope="playground",
                               streaming_job_id="123")
    task = jobs.task("dagster_project.on_spark.bronze", ["--source", "users"])
    assert task["spark_python_task"]["python_file"] == f"/Volumes/playground/bronze/artifacts/{LAUNCHER}"
    assert {lib["pypi"]["package"].split("=")[0].split(">")[0] for lib in task["libraries"]} == {
        "dagster-pipes", "duckdb", "sqlalchemy"}
    wheels, module, *rest = task["spark_python_task"]["parameters"]
    assert (wheels, module) == ("/Volumes/playground/bronze/artifacts/data_playground-0.1.0-py3-none-any.whl,"
                                "/Volumes/playground/bronze/artifacts/playground_generators-0.1.0-py3-none-any.whl",
                                "dagster_project.on_spark.bronze")
    args = arguments().parse_args(rest)
    assert (args.source, args.lake, args.schema, args.format, args.auto_loader, args.orders_secret) == (
        "users", "abfss://acct.dfs.core.windows.net", "playground.bronze", "delta", True, "playground/orders-url")

    # The launcher runs a module from zips (a wheel is one) with the arguments after it; the module imports
    # from the other wheel (the jobs read the catalog of the generators' distribution).
    with zipfile.ZipFile(tmp_path / "app.whl", "w") as zipped:
        zipped.writestr("somepkg/__init__.py", "")
        zipped.writestr("somepkg/job.py", "import sys\nfrom otherpkg import WORD\nprint(WORD, sys.argv[1:])\n")
    with zipfile.ZipFile(tmp_path / "other.whl", "w") as zipped:
        zipped.writestr("otherpkg/__init__.py", "WORD = 'ran'\n")
    launcher = Path(__file__).parents[1] / "dagster_project" / "on_spark" / "launcher.py"
    out = subprocess.run([sys.executable, str(launcher), f"{tmp_path / 'app.whl'},{tmp_path / 'other.whl'}",
                          "somepkg.job", "--source", "users"], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "ran ['--source', 'users']"


# On a cluster: Databricks Runtime's own packages, and what the task installs (CLUSTER_LIBRARIES).
ON_CLUSTER = {"pyspark", "pyarrow", "numpy", "databricks", "dagster_pipes", "duckdb", "sqlalchemy"}
OURS = {"dagster_project", "playground"}


def imports(module: str) -> tuple[set[str], set[str]]:
    """A module's imports: ours at its top level (run when it is imported), and every other package's
    top-level name, wherever it is imported."""
    tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text())
    top = {id(node) for node in tree.body}
    ours, others = set(), set()
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
        for name in names:
            if name.split(".")[0] not in OURS:
                others.add(name.split(".")[0])
            elif id(node) in top:
                ours.add(name)
    return ours, others


# On an ML job cluster: Databricks Runtime ML's packages too, and the task's (ML_CLUSTER_LIBRARIES).
ON_ML_CLUSTER = ON_CLUSTER | {"pandas", "mlflow", "sklearn"}


@pytest.mark.parametrize(("job", "cluster"), [("dagster_project.on_spark.bronze", ON_CLUSTER),
                                              ("dagster_project.on_spark.streaming", ON_CLUSTER),
                                              ("dagster_project.on_ml.order_value", ON_ML_CLUSTER)])
def test_a_job_imports_only_what_a_cluster_has(job: str, cluster: set[str]) -> None:
    """The launcher imports the wheel without its dependencies: a job, and what it imports of ours, may
    use only the standard library, the runtime's packages and the task's libraries."""
    seen, todo, outside = set(), [job], set()
    while todo:
        module = todo.pop()
        parts = module.split(".")
        todo += [".".join(parts[:n]) for n in range(1, len(parts))]  # its packages' __init__ run too
        if module in seen or importlib.util.find_spec(module) is None:
            continue
        seen.add(module)
        ours, others = imports(module)
        todo += ours
        outside |= others
    assert outside - set(sys.stdlib_module_names) <= cluster, outside - set(sys.stdlib_module_names) - cluster


def materialized(result) -> dict[str, dict]:
    return {e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def checks(result) -> dict[tuple[str, str], tuple[bool, dict]]:
    return {(e.asset_key.path[-1], e.check_name): (e.passed, {k: v.value for k, v in e.metadata.items()})
            for e in result.get_asset_check_evaluations()}


def run_both(tmp_path: Path, postgres_url: str):
    lake = str(tmp_path / "lake")
    local = materialize(
        duckdb_bronze(SOLUTIONS["local"]),
        resources=local_resources(tmp_path, PLAYGROUND_LAKE=lake, PLAYGROUND_ORDERS_URL=postgres_url))
    spark = materialize(
        spark_bronze(DATABRICKS),
        resources={"spark_jobs": LocalSparkJobs(lake=lake, orders_url=postgres_url,
                                                warehouse=str(tmp_path / "spark"))})
    assert local.success and spark.success
    assert {e.asset_key for e in spark.get_asset_materialization_events()} == {
        AssetKey(["databricks", "bronze", t]) for t in TABLES}
    return local, spark


def assert_same_tables(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{tmp_path / 'warehouse.duckdb'}' AS local (READ_ONLY)")
    for table in TABLES:
        spark_rows = f"read_parquet('{tmp_path}/spark/bronze/{table}/*.parquet')"
        columns = COMPARED.get(table, "* EXCLUDE (_ingested_at, _batch_id)")
        local_rows = con.execute(f"SELECT {columns} FROM local.bronze.{table} ORDER BY ALL").fetchall()
        assert local_rows, table
        assert con.execute(f"SELECT {columns} FROM {spark_rows} ORDER BY ALL").fetchall() == local_rows, table
    quarantine = "SELECT source, location, position, reason, raw FROM {} ORDER BY ALL"
    local_quarantine = con.execute(quarantine.format("local.bronze._quarantine")).fetchall()
    assert con.execute(quarantine.format(f"read_parquet('{tmp_path}/spark/bronze/_quarantine/*.parquet')")
                       ).fetchall() == local_quarantine
    reasons = {reason for _, location, _, reason, _ in local_quarantine if location.endswith("product_9001.json")}
    assert reasons == {"not UTF-8 text", "not a JSON object", "field 'id' is not int",
                       "a line of 2,097,176 bytes, over the 1,048,576-byte maximum (not parsed; its start kept)"}


@pytest.mark.e2e
def test_the_databricks_bronze_job_equals_local_bronze_through_pipes(tmp_path: Path, postgres_url: str) -> None:
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = postgres_url
    for source, count in (("users", 400), ("products", 40), ("orders", 600)):
        playground("generate", source, "--count", str(count), "--vip-count", "30", "--dirty-rate", "0.05", *args)
    lake = Lake(str(tmp_path / "lake"))
    lake.write_bytes("landing/products/product_9001.json", ODD_PRODUCTS)

    local, spark = run_both(tmp_path, postgres_url)
    assert_same_tables(tmp_path)
    local_counts, spark_counts = materialized(local), materialized(spark)
    for table in TABLES:
        assert spark_counts[table]["rows_new"] == local_counts[table]["rows_new"] > 0, table
        assert spark_counts[table]["rows_total"] == local_counts[table]["rows_total"], table
    assert spark_counts["products"]["files_new"] == local_counts["products"]["files_new"] == 41
    assert spark_counts["products"]["rows_quarantined"] == local_counts["products"]["rows_quarantined"] > 0
    assert checks(spark) == checks(local)  # the same checks, outcomes and figures
    assert (spark_counts["orders"]["watermark_from"], spark_counts["orders"]["watermark_to"]) == (0, 600)

    # Killed after its batch was written, before Spark committed it: the replay writes nothing twice.
    commits = tmp_path / "spark" / "_checkpoints" / "products" / "commits"
    for name in ("0", ".0.crc"):  # the commit and its checksum, as if never written
        (commits / name).unlink()
    products = [a for a in spark_bronze(DATABRICKS) if AssetKey(["databricks", "bronze", "products"]) in a.keys]
    replayed = materialize(products, resources={"spark_jobs": LocalSparkJobs(
        lake=str(tmp_path / "lake"), orders_url=postgres_url, warehouse=str(tmp_path / "spark"))})
    assert (materialized(replayed)["products"]["rows_new"], materialized(replayed)["products"]["rows_total"]) == (
        0, local_counts["products"]["rows_total"])
    assert_same_tables(tmp_path)

    # New files and new orders: each run takes only what is new, and both tiers stay equal.
    write_products(lake, 42, 40, 45)
    from playground.generators.behaviour import Shop
    from playground.generators.live import run_trickle
    from playground.io.orders_db import OrdersDB

    with OrdersDB(postgres_url) as db:
        trickled = run_trickle(lake, db, Shop(42, 400, 0), 0, 1000, duration_s=0.5)
    local, spark = run_both(tmp_path, postgres_url)
    assert_same_tables(tmp_path)
    spark_counts = materialized(spark)
    assert (spark_counts["products"]["rows_new"], spark_counts["products"]["files_new"]) == (5, 5)
    assert spark_counts["users"]["rows_new"] == spark_counts["vip_users"]["rows_new"] == 0
    assert (spark_counts["orders"]["watermark_from"], spark_counts["orders"]["rows_new"]) == (600, trickled.orders)
    assert spark_counts["items"]["rows_new"] == trickled.items
    assert checks(spark) == checks(local)
