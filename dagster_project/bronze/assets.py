"""Bronze: lake files (users, VIP users, products), the SQL tables (orders, items) and the event
bus (pageviews, stars) ingested incrementally into DuckDB.

(No `from __future__ import annotations`: Dagster reads the config and resource annotations.)
"""

from datetime import timedelta
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    FreshnessPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from playground.catalog import EVENT_SOURCES, FILE_SOURCES, FRESH_ERROR_HOURS, FRESH_WARN_HOURS, SOURCES
from pydantic import Field

from dagster_project.bronze.checks import check_description, key_rule, source_matched
from dagster_project.resources import BronzeCopyResource, BusResource, DuckDBFile, LakeResource, OrdersDBResource
from dagster_project.solutions import BRONZE, LANDING, LOCAL, ORDERS_FIRST, Solution
from dagster_project.spark_jobs import SparkJobs

GROUP = BRONZE
QUARANTINE_CHECK = "quarantine_share"
RECONCILE_CHECK = "matches_source"


class BronzeConfig(Config):
    max_quarantine_share: float = Field(default=0.05, description="the quarantine check fails above this share")


class LakeFilesConfig(BronzeConfig):
    full_listing_minutes: float = Field(
        default=60, description="stat every file of the folder at least this often (0: every run); between, only "
                                "names the lake's writer logged and names never seen are looked at")


def markdown_table(columns: list[str], rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(v)[:40] for v in row) + " |" for row in rows])


def preview(con, table: str, rows: int = 5) -> MetadataValue:
    """The newest rows of a bronze table, as a markdown table."""
    cursor = con.execute(f"SELECT * EXCLUDE (_batch_id) FROM bronze.{table} ORDER BY _ingested_at DESC LIMIT {rows}")
    return MetadataValue.md(markdown_table([d[0] for d in cursor.description], cursor.fetchall()))


def bronze_key(source: str, solution: Solution = LOCAL) -> AssetKey:
    return solution.key(GROUP, source)


def check_specs(key: AssetKey, table: str, quarantine: bool = True) -> list[AssetCheckSpec]:
    specs = [AssetCheckSpec(name, asset=key, description=check_description(name))
             for name in key_rule(table).check_names]
    if quarantine:
        specs.append(AssetCheckSpec(QUARANTINE_CHECK, asset=key,
                                    description="Quarantined records stay under the configured share of all records."))
    return specs


def reconcile_spec(orders_key: AssetKey) -> AssetCheckSpec:
    return AssetCheckSpec(RECONCILE_CHECK, asset=orders_key, description=(
        "The source's orders and items up to the watermark equal bronze's (taken or quarantined), and no item is "
        "above every order: fails when the watermark missed rows (an item added to an order already taken)."))


def check_results(con, key: AssetKey, table: str, batch_id: str, max_quarantine_share: float | None = None
                  ) -> list[AssetCheckResult]:
    """The key checks on a batch's rows and, where records can be quarantined, the quarantine share."""
    from dagster_project.bronze.checks import key_checks

    results = [AssetCheckResult(asset_key=key, check_name=o.name, passed=o.passed,
                                severity=AssetCheckSeverity.ERROR if o.blocking else AssetCheckSeverity.WARN,
                                metadata=o.metadata) for o in key_checks(con, table, batch_id)]
    if max_quarantine_share is not None:
        quarantined, total = con.execute(
            f"SELECT (SELECT count(*) FROM bronze._quarantine WHERE source = ?), (SELECT count(*) FROM bronze.{table})",
            [table]).fetchone()
        share = quarantined / max(1, total + quarantined)
        results.append(AssetCheckResult(asset_key=key, check_name=QUARANTINE_CHECK,
                                        passed=share <= max_quarantine_share, severity=AssetCheckSeverity.ERROR,
                                        metadata={"quarantined": quarantined, "share": share,
                                                  "limit": max_quarantine_share}))
    return results


def freshness_policy(table: str) -> FreshnessPolicy | None:
    """A source that keeps arriving is late when bronze took none of it for an hour, and failing after a
    day (the catalog's windows, as dbt's source freshness says); lake files change only when regenerated."""
    if not SOURCES[table].arriving:
        return None
    return FreshnessPolicy.time_window(fail_window=timedelta(hours=FRESH_ERROR_HOURS),
                                       warn_window=timedelta(hours=FRESH_WARN_HOURS))


def _spec(solution: Solution, kinds: str):
    """What a bronze asset's definition says of it, kinds by who ingests it (`bronze` or `bronze_job`)."""
    def spec(table: str, description: str) -> dict:
        return {"group_name": solution.group(GROUP), "deps": [solution.key(LANDING, table)],
                "kinds": set(solution.kinds[kinds]), "owners": [solution.owner], "description": description,
                "freshness_policy": freshness_policy(table)}

    return spec


def duckdb_bronze(solution: Solution) -> list[AssetsDefinition]:
    """Lake files and orders ingested by Dagster into the solution's DuckDB file: each step writes it, so all
    are in its pool."""
    spec = _spec(solution, "bronze")

    def file_asset(source: str) -> AssetsDefinition:
        key = bronze_key(source, solution)

        @asset(key=key, pool=solution.pool("warehouse"), check_specs=check_specs(key, source), **spec(
            source, f"Every {source} record from the lake, appended once per file version, with its file, line, "
                    "version, batch id and ingestion time; bad lines go to bronze._quarantine."))
        def ingest(context: AssetExecutionContext, config: LakeFilesConfig, lake: LakeResource,
                   warehouse: DuckDBFile, bronze_copy: BronzeCopyResource):
            from dagster_project.bronze.files import ingest_files

            with warehouse.get_connection() as con:
                result = ingest_files(con, lake.open(), FILE_SOURCES[source],
                                      timedelta(minutes=config.full_listing_minutes))
                checks = check_results(con, key, source, result.batch_id, config.max_quarantine_share)
                newest = preview(con, source)
                in_lake = bronze_copy.publish(con, lake, source)
            context.log.info(f"{source}: {result.new_rows:,} new rows from {result.files} files, "
                             f"{result.quarantined:,} quarantined")
            if result.gone:
                context.log.warning(f"{source}: {len(result.gone)} files were removed after they were listed and "
                                    f"not taken: {', '.join(result.gone[:5])}{' …' if len(result.gone) > 5 else ''}")
            yield MaterializeResult(metadata={
                "rows_new": result.new_rows, "rows_total": result.total_rows, "rows_quarantined": result.quarantined,
                "files_new": result.files, "files_gone": len(result.gone), "batch_id": result.batch_id,
                "listing": "full" if result.full_listing else "write log and new names",
                "preview": newest, **in_lake,
            })
            yield from checks

        return ingest

    orders_key, items_key = bronze_key("orders", solution), bronze_key("items", solution)

    # Orders and items are taken in one transaction: selecting one of them runs both, and reports the selected.
    @multi_asset(name=solution.job_name("bronze_orders"), pool=solution.pool("warehouse"), can_subset=True,
                 op_tags=ORDERS_FIRST, specs=[
        AssetSpec(orders_key, **spec("orders", "Orders from the SQL database, appended above the last orderId taken.")),
        AssetSpec(items_key, **spec("items", "The items of those orders, taken in the same snapshot and transaction.")),
    ], check_specs=[*check_specs(orders_key, "orders", quarantine=False), reconcile_spec(orders_key),
                    *check_specs(items_key, "items", quarantine=False)])
    def bronze_orders(context: AssetExecutionContext, orders_db: OrdersDBResource, warehouse: DuckDBFile,
                      lake: LakeResource, bronze_copy: BronzeCopyResource):
        from dagster_project.bronze.tables import ingest_orders, reconcile

        with warehouse.get_connection() as con, orders_db.open() as db:
            result = ingest_orders(con, db)
            checks = [*check_results(con, orders_key, "orders", result.batch_id),
                      *check_results(con, items_key, "items", result.batch_id)]
            counts = reconcile(con, db)
            previews = {table: preview(con, table) for table in ("orders", "items")}
            in_lake = {table: bronze_copy.publish(con, lake, table) for table in ("orders", "items")}
        checks.append(AssetCheckResult(asset_key=orders_key, check_name=RECONCILE_CHECK, passed=source_matched(counts),
                                       severity=AssetCheckSeverity.ERROR, metadata=counts))
        context.log.info(f"orders {result.watermark_from} -> {result.watermark_to}: {result.new_orders:,} orders, "
                         f"{result.new_items:,} items, {result.quarantined:,} rows quarantined")
        watermark: dict[str, Any] = {"watermark_from": result.watermark_from, "watermark_to": result.watermark_to,
                                     "batch_id": result.batch_id, "rows_quarantined": result.quarantined}
        selected = context.selected_asset_keys
        if orders_key in selected:
            yield MaterializeResult(asset_key=orders_key,
                                    metadata={"rows_new": result.new_orders, "rows_total": result.total_orders,
                                              **watermark, "preview": previews["orders"], **in_lake["orders"]})
        if items_key in selected:
            yield MaterializeResult(asset_key=items_key,
                                    metadata={"rows_new": result.new_items, "rows_total": result.total_items,
                                              **watermark, "preview": previews["items"], **in_lake["items"]})
        yield from (c for c in checks if c.asset_key and c.check_name
                    and AssetCheckKey(c.asset_key, c.check_name) in context.selected_asset_check_keys)

    return [*(file_asset(source) for source in FILE_SOURCES), bronze_orders]


def event_bronze(solution: Solution) -> list[AssetsDefinition]:
    """Events from the bus, ingested by Dagster into the solution's DuckDB file (in every solution)."""
    spec = _spec(solution, "bronze")

    def event_asset(topic: str) -> AssetsDefinition:
        key = bronze_key(topic, solution)

        @asset(key=key, pool=solution.pool("warehouse"), check_specs=check_specs(key, topic), **spec(
            topic, f"Every {topic} event from the bus, parsed, with its partition, sequence number, offset and "
                   "enqueued time; read from the committed offsets on, committed with them."))
        def ingest(context: AssetExecutionContext, config: BronzeConfig, bus: BusResource, warehouse: DuckDBFile,
                   lake: LakeResource, bronze_copy: BronzeCopyResource):
            from dagster_project.bronze.events import ingest_events

            log = bus.open_reader()
            try:
                with warehouse.get_connection() as con:
                    result = ingest_events(con, log, topic)
                    checks = check_results(con, key, topic, result.batch_id, config.max_quarantine_share)
                    newest = preview(con, topic)
                    in_lake = bronze_copy.publish(con, lake, topic)
            finally:
                log.close()
            context.log.info(f"{topic}: {result.new_rows:,} new events, offsets {result.offsets_to}")
            yield MaterializeResult(metadata={
                "rows_new": result.new_rows, "rows_total": result.total_rows, "rows_quarantined": result.quarantined,
                "offsets": MetadataValue.json({str(p): n for p, n in result.offsets_to.items()}),
                "batch_id": result.batch_id, "preview": newest, **in_lake})
            yield from checks

        return ingest

    return [event_asset(t) for t in EVENT_SOURCES]


def spark_bronze(solution: Solution) -> list[AssetsDefinition]:
    """Lake files and orders as the Databricks solution ingests them: its Spark job (on_spark/bronze.py),
    which reports row counts and the same checks through Pipes."""
    job = "dagster_project.on_spark.bronze"
    spec = _spec(solution, "bronze_job")

    def file_asset(source: str) -> AssetsDefinition:
        key = bronze_key(source, solution)

        @asset(key=key, check_specs=check_specs(key, source), **spec(
            source, f"Every {source} record from the lake, taken by Auto Loader into a Delta table with its file, "
                    "line, version, batch id and ingestion time; bad lines go to bronze._quarantine."))
        def ingest(context: AssetExecutionContext, config: BronzeConfig, spark_jobs: SparkJobs):
            return spark_jobs.run(context, job, ["--source", source, "--max-quarantine-share",
                                                 str(config.max_quarantine_share)]).get_results()

        return ingest

    orders_key, items_key = bronze_key("orders", solution), bronze_key("items", solution)

    @multi_asset(name=solution.job_name("bronze_orders"), op_tags=ORDERS_FIRST, specs=[
        AssetSpec(orders_key, **spec("orders", "Orders from the SQL database by JDBC, above the highest orderId "
                                               "taken.")),
        AssetSpec(items_key, **spec("items", "The items of those orders, read up to the same orderId.")),
    ], check_specs=[*check_specs(orders_key, "orders", quarantine=False), reconcile_spec(orders_key),
                    *check_specs(items_key, "items", quarantine=False)])
    def bronze_orders(context: AssetExecutionContext, spark_jobs: SparkJobs):
        return spark_jobs.run(context, job, ["--source", "orders"]).get_results()

    return [*(file_asset(source) for source in FILE_SOURCES), bronze_orders]
