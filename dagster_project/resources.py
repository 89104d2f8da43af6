"""One Dagster resource per system the playground reaches: the lake, the orders database, the event
bus, and its two DuckDB files. solution_resources.py gives each its settings per solution; no asset branches
on where it runs."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from dagster_project.duckdb_memory import duckdb_memory_limit

if TYPE_CHECKING:  # imported when used: definitions load without polars, SQLAlchemy or Faker
    from collections.abc import Iterator

    import duckdb
    from playground.io.bus import BusReader, EventBus
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB


class LakeResource(ConfigurableResource):
    """The data lake: landing files, manifests, and the Parquet copies of bronze, gold and streaming."""

    root: str = Field(description="A folder, or an abfs:// URL (ADLS gen2; its credential: AzureLakeResource).")

    def open(self) -> Lake:
        from playground.io.lake import Lake

        return Lake(self.root)


class OrdersDBResource(ConfigurableResource):
    """The orders database (tables orders and items): SQLite, Postgres or Azure SQL."""

    url: str = Field(description="SQLAlchemy URL of the orders database.")

    def open(self) -> OrdersDB:
        from playground.io.orders_db import OrdersDB

        return OrdersDB(self.url)


class BusResource(ConfigurableResource):
    """The event bus (topics pageviews and stars)."""

    spec: str = Field(description="An embedded log file, kafka://host:port, eventhubs or eventhubs-amqp.")

    def open_writer(self) -> EventBus:
        from playground.io.bus import open_bus

        return open_bus(self.spec)

    def open_reader(self) -> BusReader:
        from playground.io.bus import open_reader

        return open_reader(self.spec)

    def embedded_log_path(self) -> str | None:
        """The embedded log's file, when the bus is the embedded log."""
        from playground.io.bus import embedded_log_path

        return embedded_log_path(self.spec)


class DuckDBFile(DuckDBResource):
    """dagster-duckdb's resource for a DuckDB file (the warehouse; the streaming outputs), which also makes
    the file's folder, closes the connection when the step fails, names a bad setting, and sets DuckDB's
    memory_limit (what it keeps of the blocks a big ingest wrote, a join's tables: past it, it spills to disk)."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb
        from playground.errors import PlaygroundError

        if self.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.database)), exist_ok=True)
        # The memory limit follows the file's size when the connection opens (a run grows it: bronze, then dbt).
        config = {"memory_limit": duckdb_memory_limit(self.database), **self.connection_config}
        try:
            con = duckdb.connect(self.database, config={"custom_user_agent": "dagster", **config})
        except (duckdb.ParserException, duckdb.InvalidInputException) as error:
            raise PlaygroundError(f"{self.database}: DuckDB does not take the settings {config} "
                                  "(memory_limit, from PLAYGROUND_DUCKDB_MEMORY_LIMIT, is a size such as 2GB): "
                                  f"{error}") from None
        try:
            con.execute("SET enable_progress_bar = false")  # no bars in run logs
            yield con
        finally:
            con.close()


class BronzeCopyResource(ConfigurableResource):
    """Where the warehouse reads bronze from the lake (Databricks, Synapse, local Spark): each bronze batch is
    also written to <lake>/bronze/<table>/ as Parquet."""

    enabled: bool = Field(default=False, description="write the copies at all")
    arrays_as_json: bool = Field(default=False, description="arrays in those files as JSON text (Synapse)")

    def publish(self, con: duckdb.DuckDBPyConnection, lake: LakeResource, table: str) -> dict[str, Any]:
        """The table's batches not in the lake yet, written there; metadata saying so."""
        if not self.enabled:
            return {}
        from dagster_project.publish import publish_bronze

        files = lake.open()
        written = publish_bronze(con, files, table, self.arrays_as_json)
        return {"lake_files_new": len(written), "lake_folder": files.display(f"bronze/{table}/")}
