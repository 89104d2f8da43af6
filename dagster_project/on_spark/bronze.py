"""The Databricks solution's bronze job: lake files by Auto Loader and the orders database by a JDBC
read above a watermark, appended to bronze tables (Delta in Unity Catalog on Databricks), reporting
row counts and key checks to Dagster through Pipes.

Dagster submits it to Databricks (dagster_project/spark_jobs.py); in CI the same script runs on
local PySpark through Dagster's PipesSubprocessClient, with Spark's own file source where Auto Loader
is Databricks-only and Parquet tables where Delta's jars would be downloaded. The rows equal the
local bronze tier's for the same landing data: a line is decoded by the same SQL (bronze/decode.py,
run by DuckDB on each Spark partition), with the same file, line and file version, and a bad line
goes to the quarantine table with its reason.

A micro-batch is appended once: its rows and quarantine carry `<stream id>-<batch>` as their batch id,
and what of a batch is in its table already is not written again when Spark replays it after a crash. Orders: items are
appended before their orders, and the watermark is the highest orderId in bronze.orders, so a run
killed between the two takes the same orders again and leaves out items already there.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import duckdb
import pyarrow as pa
from playground.catalog import FILE_SOURCES, TABLE_TYPES, Source
from pyspark import cloudpickle
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from dagster_project.bronze.checks import key_rule, source_matched
from dagster_project.bronze.lines import decoded_lines_sql, file_pieces, numbered_lines

SPARK_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "STRING", "list[str]": "ARRAY<STRING>",
               "timestamp": "TIMESTAMP"}
FILE_COLUMNS = "_source_file STRING, _line BIGINT, _file_version INT, _ingested_at TIMESTAMP, _batch_id STRING"
ORDER_COLUMNS = {table: ", ".join(f"{column} {SPARK_TYPES[kind]}" for column, kind in types.items())
                 for table, types in TABLE_TYPES.items()}
QUARANTINE_COLUMNS = ("source STRING, location STRING, position BIGINT, reason STRING, raw STRING, batch_id STRING, "
                      "ingested_at TIMESTAMP")
JDBC_PARTITIONS = 4
# Spark's workers get this module's functions, and the line rules they call, by value: on Databricks only
# the driver imports the wheel.
for module in (__name__, "dagster_project.bronze.lines"):
    cloudpickle.register_pickle_by_value(sys.modules[module])


class Tables:
    """Where the bronze tables are: `<catalog>.bronze` in Unity Catalog on Databricks; locally a schema of
    the session's catalog over folders of the warehouse."""

    def __init__(self, spark: SparkSession, schema: str, table_format: str, location: str | None = None):
        self.spark, self.schema, self.format, self.location = spark, schema, table_format, location

    def name(self, table: str) -> str:
        return f"{self.schema}.`{table}`"

    def ensure(self, table: str, columns: str) -> None:
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        # Locally the catalog lives as long as the session: each table is kept where its files are.
        where = f" LOCATION '{self.location}/{table}'" if self.location else ""
        self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.name(table)} ({columns}) USING {self.format}{where}")

    def read(self, table: str) -> DataFrame:
        self.spark.catalog.refreshTable(self.name(table))  # the files written by the stream's batches too
        return self.spark.table(self.name(table))

    def append(self, frame: DataFrame, table: str) -> None:
        frame.select(*self.read(table).columns).write.insertInto(self.name(table))

    def count(self, table: str) -> int:
        return self.read(table).count()


def lake_url(lake: str, relative: str) -> str:
    """A lake path as Spark reads it: on ADLS `abfss://<account>.dfs.core.windows.net` takes the first
    folder as its container, as the local lake's root holds one folder per container."""
    if lake.startswith("abfss://") and "@" not in lake:
        container, _, path = relative.partition("/")
        return f"abfss://{container}@{lake.removeprefix('abfss://').rstrip('/')}/{path}"
    return f"{lake.rstrip('/')}/{relative}"


# ---- Lake files ------------------------------------------------------------------------------

def decoded_lines(source: Source):
    """mapInArrow's function: files (path, content) to one row per line, decoded by bronze's rules (lines.py)."""
    select = (f"SELECT {', '.join(source.types)}, path, line, reason, raw AS raw_text "
              f"FROM ({decoded_lines_sql('file_lines', source)})")

    def decode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        con = duckdb.connect()
        for batch in batches:
            pieces = [piece for path, content in zip(batch.column("path").to_pylist(),
                                                     batch.column("content").to_pylist(), strict=True)
                      for piece in file_pieces(path, 0, [content])]
            if pieces:
                con.register("file_lines", numbered_lines(pieces))
                if (table := con.execute(select).to_arrow_table()) is not None:
                    yield from table.to_batches()

    schema = ", ".join([*(f"{name} {SPARK_TYPES[kind]}" for name, kind in source.types.items()),
                        "path STRING, line BIGINT, reason STRING, raw_text STRING"])
    return decode, schema


def landing_stream(spark: SparkSession, lake: str, folder: str, auto_loader: bool) -> DataFrame:
    """Each new file of the folder once, whole (bytes, so a line that is not UTF-8 is quarantined as
    the local tier does): Auto Loader on Databricks (overwritten files again), Spark's file source here."""
    if auto_loader:
        reader = (spark.readStream.format("cloudFiles").option("cloudFiles.format", "binaryFile")
                  .option("cloudFiles.allowOverwrites", "true"))
    else:
        reader = spark.readStream.format("binaryFile").schema(
            "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY")
    return (reader.option("pathGlobFilter", "*.json").load(lake_url(lake, folder))
            .select(F.concat(F.lit(f"{folder}/"), F.element_at(F.split("path", "/"), -1)).alias("path"), "content"))


class FileIngest:
    """foreachBatch's function for one source: decoded rows to bronze.<source>, the rest to quarantine."""

    def __init__(self, tables: Tables, source: str, checkpoint: str):
        self.tables, self.source, self.checkpoint = tables, source, checkpoint
        self.stream_id = ""
        self.spec = FILE_SOURCES[source]
        self.batches: list[str] = []
        self.files = self.rows = self.quarantined = 0

    def __call__(self, files: DataFrame, epoch: int) -> None:
        if not self.stream_id:  # the query's id, which Spark keeps in the checkpoint: the same after a restart
            metadata = first_row(self.tables.spark.read.text(f"{self.checkpoint}/metadata"))[0]
            self.stream_id = json.loads(metadata)["id"][:8]
        batch_id = f"{self.stream_id}-{epoch}"
        table = self.tables.read(self.source)

        def written(name: str, column: str) -> bool:  # by an earlier try of this batch, before a crash
            return bool(self.tables.read(name).where(F.col(column) == batch_id).limit(1).count())

        decode, schema = decoded_lines(self.spec)
        versions = table.groupBy(F.col("_source_file").alias("path")).agg(F.max("_file_version").alias("before"))
        lines = (files.mapInArrow(decode, schema).join(versions, "path", "left")
                 .withColumn("_file_version", (F.coalesce("before", F.lit(0)) + 1).cast("int"))
                 .withColumn("_ingested_at", F.current_timestamp()).withColumn("_batch_id", F.lit(batch_id))
                 .cache())
        try:
            if not written(self.source, "_batch_id"):  # the rows go last: their presence says the batch is in
                bad = lines.where("reason IS NOT NULL").select(
                    F.lit(self.source).alias("source"), F.col("path").alias("location"),
                    F.col("line").alias("position"), "reason", F.col("raw_text").alias("raw"),
                    F.col("_batch_id").alias("batch_id"), F.col("_ingested_at").alias("ingested_at"))
                good = lines.where("reason IS NULL").select(
                    *self.spec.types, F.col("path").alias("_source_file"), F.col("line").alias("_line"),
                    "_file_version", "_ingested_at", "_batch_id")
                quarantined = bad.count()
                if quarantined and not written("_quarantine", "batch_id"):
                    self.tables.append(bad, "_quarantine")
                self.tables.append(good, self.source)
                self.rows += good.count()
                self.quarantined += quarantined
                self.files += files.count()
            self.batches.append(batch_id)
        finally:
            lines.unpersist()


def ingest_files(spark: SparkSession, tables: Tables, lake: str, source: str, checkpoints: str, auto_loader: bool
                 ) -> tuple[dict, list[dict]]:
    spec = FILE_SOURCES[source]
    tables.ensure(source, ", ".join([*(f"{n} {SPARK_TYPES[k]}" for n, k in spec.types.items()), FILE_COLUMNS]))
    tables.ensure("_quarantine", QUARANTINE_COLUMNS)
    checkpoint = f"{checkpoints.rstrip('/')}/{source}"
    ingest = FileIngest(tables, source, checkpoint)
    query = (landing_stream(spark, lake, spec.folder, auto_loader).writeStream.foreachBatch(ingest)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
    query.awaitTermination()
    new = tables.read(source).where(F.col("_batch_id").isin(ingest.batches))
    metadata = {"rows_new": ingest.rows, "rows_total": tables.count(source), "rows_quarantined": ingest.quarantined,
                "files_new": ingest.files, "batch_id": ",".join(ingest.batches) or None}
    return metadata, key_checks(tables, source, new)


# ---- Orders by JDBC --------------------------------------------------------------------------

def jdbc_url(sqlalchemy_url: str) -> tuple[str, dict[str, str]]:
    """The orders database's SQLAlchemy URL (PLAYGROUND_ORDERS_URL) as a JDBC URL and properties."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(sqlalchemy_url)
    dialect = parts.scheme.split("+")[0]
    props = {k: unquote(v) for k, v in (("user", parts.username or ""), ("password", parts.password or "")) if v}
    database = parts.path.lstrip("/")
    if dialect == "postgresql":
        return (f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}/{database}",
                {**props, "driver": "org.postgresql.Driver"})
    if dialect == "mssql":
        return (f"jdbc:sqlserver://{parts.hostname}:{parts.port or 1433};databaseName={database};encrypt=true;"
                "trustServerCertificate=false;loginTimeout=60",
                {**props, "driver": "com.microsoft.sqlserver.jdbc.SQLServerDriver"})
    raise ValueError(f"the orders database {parts.scheme}:// has no JDBC reading here: use PostgreSQL or Azure SQL")


def ingest_orders(spark: SparkSession, tables: Tables, url: str, props: dict[str, str]) -> tuple[dict, list[dict]]:
    for table, columns in ORDER_COLUMNS.items():
        tables.ensure(table, f"{columns}, _ingested_at TIMESTAMP, _batch_id STRING")
    low = first_row(tables.read("orders").agg(F.max("orderId")))[0] or 0

    def query(sql: str, **options: object) -> DataFrame:
        reader = spark.read.format("jdbc").option("url", url).option("dbtable", f"({sql}) q")
        for key, value in {**props, **options}.items():
            reader = reader.option(key, str(value))
        return reader.load()

    high = first_row(query(f'SELECT max("orderId") AS high FROM orders WHERE "orderId" > {low}'))[0] or low
    batch_id = uuid.uuid4().hex
    new = {"orders": 0, "items": 0}
    if high > low:
        spread = {"partitionColumn": "orderId", "lowerBound": low + 1, "upperBound": high + 1,
                  "numPartitions": JDBC_PARTITIONS}
        for table in ("items", "orders"):  # items first: the watermark is bronze.orders' highest orderId
            names = [c.split()[0] for c in ORDER_COLUMNS[table].split(", ")]
            rows = query(f"SELECT {', '.join(f'{chr(34)}{c}{chr(34)}' for c in names)} FROM {table} "
                         f'WHERE "orderId" > {low} AND "orderId" <= {high}', **spread)
            if table == "items":  # a run killed after its items: those are in already
                taken = tables.read("items").where(F.col("orderId") > low).select("orderId", "rowId")
                rows = rows.join(taken, ["orderId", "rowId"], "left_anti")
            rows = rows.select(*(F.col(c).cast(t) for c, t in (c.split() for c in ORDER_COLUMNS[table].split(", "))),
                               F.current_timestamp().alias("_ingested_at"), F.lit(batch_id).alias("_batch_id"))
            tables.append(rows, table)
            new[table] = tables.read(table).where(F.col("_batch_id") == batch_id).count()
    watermark = {"watermark_from": low, "watermark_to": high, "batch_id": batch_id}
    metadata = {table: {"rows_new": new[table], "rows_total": tables.count(table), **watermark}
                for table in ("orders", "items")}
    checks = [*key_checks(tables, "orders", tables.read("orders").where(F.col("_batch_id") == batch_id)),
              *key_checks(tables, "items", tables.read("items").where(F.col("_batch_id") == batch_id)),
              reconcile_check(tables, query, high)]
    return metadata, checks


def reconcile_check(tables: Tables, query: Callable[[str], DataFrame], watermark: int) -> dict:
    """bronze/tables.py's reconciliation: the source's rows up to the watermark against bronze's, and the
    source's items above every order."""
    counts = {"watermark": watermark}
    for table in ("orders", "items"):
        counts[f"source_{table}"] = first_row(query(f'SELECT count(*) AS n FROM {table} WHERE "orderId" <= {watermark}'
                                                    ))[0]
        counts[f"bronze_{table}"] = tables.count(table)
    counts["source_items_above_every_order"] = first_row(query(
        'SELECT count(*) AS n FROM items WHERE "orderId" > (SELECT coalesce(max("orderId"), 0) FROM orders)'))[0]
    return {"asset_key": "orders", "check_name": "matches_source", "passed": source_matched(counts),
            "severity": "ERROR", "metadata": counts}


def first_row(frame: DataFrame) -> Row:
    """The row of a query that always returns one (an aggregate, a checkpoint's metadata)."""
    row = frame.first()
    if row is None:
        raise RuntimeError("a query that returns one row returned none")
    return row


# ---- Checks ----------------------------------------------------------------------------------

def key_checks(tables: Tables, table: str, new: DataFrame) -> list[dict]:
    """bronze/checks.py's key rules on the new rows against the whole table, as Pipes check reports."""
    rule = key_rule(table)
    key = list(rule.key)
    nulls = new.where(" OR ".join(f"`{c}` IS NULL" for c in key)).count()
    scope = tables.read(table)
    if "_file_version" in scope.columns:  # a lake file counts in its latest version
        from pyspark.sql import Window

        latest = F.max("_file_version").over(Window.partitionBy("_source_file"))
        scope = scope.withColumn("_latest", latest).where("_file_version = _latest")
    repeated = first_row(scope.join(new.select(*key).distinct(), key, "left_semi").groupBy(*key).count()
                         .where("count > 1")
                         .agg(F.count(F.lit(1)).alias("keys"), F.sum(F.col("count") - 1).alias("extra")))
    checks = [{"check_name": "key_not_null", "passed": nulls == 0, "severity": "ERROR",
               "metadata": {"null_keys": nulls}},
              {"check_name": "key_unique", "passed": repeated["keys"] == 0,
               "severity": "WARN" if rule.repeats_expected else "ERROR",
               "metadata": {"repeated_keys": repeated["keys"], "extra_rows": int(repeated["extra"] or 0)}}]
    if rule.parent:
        parent_key = list(key_rule(rule.parent).key)
        orphans = new.join(tables.read(rule.parent).select(*parent_key), parent_key, "left_anti").count()
        checks.append({"check_name": f"references_{rule.parent}", "passed": orphans == 0, "severity": "ERROR",
                       "metadata": {"orphan_rows": orphans}})
    return [{**check, "asset_key": table} for check in checks]


def quarantine_check(tables: Tables, source: str, max_share: float) -> dict:
    quarantine = tables.read("_quarantine").where(F.col("source") == source).count()
    share = quarantine / max(1, tables.count(source) + quarantine)
    return {"check_name": "quarantine_share", "passed": share <= max_share, "severity": "ERROR",
            "metadata": {"quarantined": quarantine, "share": share, "limit": max_share}, "asset_key": source}


# ---- The job ---------------------------------------------------------------------------------

def pipes_session() -> AbstractContextManager:
    """Dagster Pipes: its context and messages are files in a Unity Catalog volume on Databricks (the
    client says where in the cluster's environment), local files under PipesSubprocessClient."""
    from dagster_pipes import (
        PipesUnityCatalogVolumesContextLoader,
        PipesUnityCatalogVolumesMessageWriter,
        open_dagster_pipes,
    )

    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return open_dagster_pipes(context_loader=PipesUnityCatalogVolumesContextLoader(),
                                  message_writer=PipesUnityCatalogVolumesMessageWriter())
    return open_dagster_pipes()


def spark_session(warehouse: str | None, jars: str | None) -> SparkSession:
    if warehouse is None:  # on Databricks: the cluster's session
        return SparkSession.builder.getOrCreate()
    from dagster_project.on_spark.streaming import local_spark

    return local_spark(warehouse, jars=jars)


def key_for(pipes, table: str) -> str:
    """The asset key Dagster gave the table (its solution's prefix, bronze/<table>)."""
    return next(key for key in pipes.asset_keys if key.rsplit("/", 1)[-1] == table)


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playground-bronze", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, choices=[*FILE_SOURCES, "orders"])
    parser.add_argument("--lake", required=True, help="The lake root (abfss://<account>.dfs.core.windows.net).")
    parser.add_argument("--schema", required=True, help="Where the bronze tables are (<catalog>.bronze).")
    parser.add_argument("--checkpoints", required=True, help="Auto Loader's checkpoints, one folder per source.")
    parser.add_argument("--format", default="delta", help="The bronze tables' format (delta; parquet here).")
    parser.add_argument("--auto-loader", action="store_true", help="Databricks' Auto Loader (cloudFiles).")
    parser.add_argument("--orders-url", help="The orders database's SQLAlchemy URL.")
    parser.add_argument("--orders-secret", help="Or the secret holding it, as <scope>/<key> (Databricks).")
    parser.add_argument("--max-quarantine-share", type=float, default=0.05)
    parser.add_argument("--warehouse", help="Local Spark only: the warehouse folder.")
    parser.add_argument("--jars", help="Local Spark only: the JDBC driver's jar.")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = arguments()
    args, _ = parser.parse_known_args(argv)  # Pipes may add arguments of its own

    with pipes_session() as pipes:
        spark = spark_session(args.warehouse, args.jars)
        tables = Tables(spark, args.schema, args.format, args.warehouse and f"{args.warehouse}/{args.schema}")
        if args.source == "orders":
            url = args.orders_url
            if args.orders_secret:
                from databricks.sdk.runtime import dbutils

                url = dbutils.secrets.get(*args.orders_secret.split("/", 1))
            if not url:
                parser.error("the orders job needs --orders-url or --orders-secret")
            metadata, checks = ingest_orders(spark, tables, *jdbc_url(url))
            for table, values in metadata.items():
                pipes.report_asset_materialization(metadata=values, asset_key=key_for(pipes, table))
        else:
            values, checks = ingest_files(spark, tables, args.lake, args.source, args.checkpoints, args.auto_loader)
            checks.append(quarantine_check(tables, args.source, args.max_quarantine_share))
            pipes.report_asset_materialization(metadata=values, asset_key=key_for(pipes, args.source))
            pipes.log.info(f"{args.source}: {values['rows_new']:,} new rows from {values['files_new']} files, "
                           f"{values['rows_quarantined']:,} quarantined")
        for check in checks:
            pipes.report_asset_check(**{**check, "asset_key": key_for(pipes, check["asset_key"])})


if __name__ == "__main__":
    main(sys.argv[1:])
