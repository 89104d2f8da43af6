"""Where the playground's data lives, as a Dagster resource: the lake, the orders DB, the bus."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from dagster import ConfigurableResource
from pydantic import Field

if TYPE_CHECKING:  # imported when used: definitions load without polars, SQLAlchemy or Faker
    from collections.abc import Iterator

    import duckdb

    from generators.sinks.bus import BusReader, EventBus
    from generators.sinks.lake import Lake
    from generators.sinks.orders_db import OrdersDB


class PlaygroundResource(ConfigurableResource):
    """Locally the landing assets run the generators; in the cloud the generators run as
    containers and the landing assets observe what they wrote (their manifests)."""

    lake: str = Field(description="Lake root: a folder or an abfs:// URL.")
    orders_url: str = Field(description="SQLAlchemy URL of the orders database.")
    bus: str = Field(description="Event bus spec: a file, kafka://host:port, eventhubs or eventhubs-amqp.")
    generates: bool = Field(default=True, description="Run the generators (local) or observe them (cloud).")

    def open_lake(self) -> Lake:
        from generators.sinks.lake import Lake

        return Lake(self.lake)

    def open_orders_db(self) -> OrdersDB:
        from generators.sinks.orders_db import OrdersDB

        return OrdersDB(self.orders_url)

    def open_bus(self) -> EventBus:
        from generators.sinks.bus import open_bus

        return open_bus(self.bus)

    def open_bus_reader(self) -> BusReader:
        from generators.sinks.bus import open_reader

        return open_reader(self.bus)

    def event_log_path(self) -> str | None:
        """The embedded log's file, when the bus is the embedded log."""
        from generators.sinks.bus import embedded_log_path

        return embedded_log_path(self.bus)


class WarehouseResource(ConfigurableResource):
    """One DuckDB file holding the bronze tables and their bookkeeping (and, locally, dbt's silver and gold)."""

    path: str = Field(description="DuckDB database file.")
    bronze_to_lake: bool = Field(
        default=False, description="also write each bronze batch to <lake>/bronze/<table>/ as Parquet, for "
                                   "warehouses that read bronze from the lake (Databricks, Synapse, local Spark)")
    bronze_arrays_as_json: bool = Field(default=False, description="arrays in those files as JSON text (Synapse)")
    memory_limit: str | None = Field(
        default=None, description="DuckDB's memory_limit, such as 2GB: caps the cache of written blocks a big "
                                  "ingest leaves behind (default DuckDB's own, 80% of RAM)")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        import os

        import duckdb

        from generators.errors import PlaygroundError

        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        try:
            con = duckdb.connect(self.path, config={"memory_limit": self.memory_limit} if self.memory_limit else {})
        except duckdb.ParserException as error:
            raise PlaygroundError(f"memory_limit {self.memory_limit!r} (PLAYGROUND_DUCKDB_MEMORY_LIMIT) is not a size "
                                  f"DuckDB reads, such as 2GB: {error}") from None
        con.execute("SET enable_progress_bar = false")  # no bars in run logs
        try:
            yield con
        finally:
            con.close()
