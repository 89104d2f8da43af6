"""Bronze tables in DuckDB, and the one way a run's output is committed: all of it or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # polars only where tuples are turned into a frame: the streaming engine never loads it
    import polars as pl

DUCKDB_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "list[str]": "VARCHAR[]"}


def create_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str]) -> None:
    """A bronze table of DuckDB-typed columns, and the shared quarantine table."""
    con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
    con.execute(f"CREATE TABLE IF NOT EXISTS bronze.{name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    con.execute("CREATE TABLE IF NOT EXISTS bronze._quarantine (source VARCHAR, location VARCHAR, "
                "position BIGINT, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP)")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """What the block writes, committed at its end, or rolled back whatever stops it (KeyboardInterrupt too)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def commit_batch(con: duckdb.DuckDBPyConnection, batch: dict[str, pl.DataFrame | list[tuple]]) -> None:
    """New rows per bronze table (data, quarantine and the bookkeeping that says they were taken) in one
    transaction: a run killed at any point leaves all of it or none of it. Rows given as tuples are in
    the table's column order."""
    import polars as pl

    with transaction(con):
        for table, rows in batch.items():
            if isinstance(rows, list):  # one bulk insert: executemany costs ~2 ms a row in DuckDB
                columns = [c[0] for c in con.execute(f"SELECT * FROM bronze.{table} LIMIT 0").description]
                rows = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
            if rows.height:
                con.register("new_rows", rows.rechunk().to_arrow())  # one chunk: DuckDB reads many slowly
                con.execute(f"INSERT INTO bronze.{table} BY NAME SELECT * FROM new_rows")
                con.unregister("new_rows")
