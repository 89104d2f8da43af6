"""Bronze tables in DuckDB, and the one way a run's output is committed: all of it or nothing."""

from __future__ import annotations

import duckdb
import polars as pl

DUCKDB_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "list[str]": "VARCHAR[]"}
QUARANTINE_INSERT = "INSERT INTO bronze._quarantine VALUES (?, ?, ?, ?, ?, ?, ?)"


def create_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str]) -> None:
    """A bronze table of DuckDB-typed columns, and the shared quarantine table."""
    con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
    con.execute(f"CREATE TABLE IF NOT EXISTS bronze.{name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    con.execute("CREATE TABLE IF NOT EXISTS bronze._quarantine (source VARCHAR, location VARCHAR, "
                "position BIGINT, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP)")


def commit_batch(con: duckdb.DuckDBPyConnection, rows: dict[str, pl.DataFrame], quarantine: list[tuple],
                 bookkeeping_sql: str, bookkeeping: list[tuple]) -> None:
    """New rows per table, quarantined records and the bookkeeping that says they were taken, in one
    transaction: a run killed at any point leaves all of it or none of it."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table, frame in rows.items():
            if frame.height:
                con.register("new_rows", frame.to_arrow())
                con.execute(f"INSERT INTO bronze.{table} BY NAME SELECT * FROM new_rows")
                con.unregister("new_rows")
        if quarantine:
            con.executemany(QUARANTINE_INSERT, quarantine)
        if bookkeeping:
            con.executemany(bookkeeping_sql, bookkeeping)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
