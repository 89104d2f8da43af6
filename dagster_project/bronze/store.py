"""Bronze tables in DuckDB, and how a run's output is committed: all of it or nothing, or piece by piece."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import duckdb

DUCKDB_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "list[str]": "VARCHAR[]",
                "timestamp": "TIMESTAMP"}


def one_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The row of a query that always returns one (an aggregate, an INSERT's count)."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("a query that returns one row returned none")
    return row


def create_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str]) -> None:
    """A bronze table of DuckDB-typed columns, and the shared quarantine table."""
    con.execute("CREATE SCHEMA IF NOT EXISTS bronze")
    con.execute(f"CREATE TABLE IF NOT EXISTS bronze.{name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    con.execute("CREATE TABLE IF NOT EXISTS bronze._quarantine (source VARCHAR, location VARCHAR, "
                "position BIGINT, reason VARCHAR, raw VARCHAR, batch_id VARCHAR, ingested_at TIMESTAMP)")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """What the block writes, committed at its end, or rolled back whatever stops it (KeyboardInterrupt too)."""
    with committed_in_pieces(con):
        yield


@contextmanager
def committed_in_pieces(con: duckdb.DuckDBPyConnection) -> Iterator[Callable[[], None]]:
    """A transaction per piece: the block calls the `commit` it is given to commit what it wrote so far and
    begin the next piece; the last piece is committed at the end, or rolled back whatever stops it. So a
    run stopped midway keeps the pieces it committed (each with the bookkeeping that says where it stood)."""
    def commit() -> None:
        con.execute("COMMIT")
        con.execute("BEGIN TRANSACTION")

    con.execute("BEGIN TRANSACTION")
    try:
        yield commit
        con.execute("COMMIT")
    except BaseException:
        with suppress(duckdb.Error):  # a failed write (a full disk) may have ended the transaction already
            con.execute("ROLLBACK")
        raise
