"""Parquet copies of warehouse tables in the lake, for readers outside the warehouse.

Gold goes to <lake>/gold/<model>/data.parquet after each build, so a dashboard reads while
Dagster writes (the DuckDB file is locked while dbt runs). Bronze goes batch by batch to
<lake>/bronze/<table>/batch-<batch id>.parquet where a warehouse reads bronze from the lake
(Databricks, Synapse and the local Spark target read those folders as external tables). Each
file is replaced whole, so a reader sees the old copy or the new one.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime

import duckdb
from playground.io.lake import Lake

from dagster_project.bronze.store import one_row
from dagster_project.duckdb_memory import duckdb_memory_limit


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, lake: Lake, relative: str) -> None:
    """A query's rows as one Parquet file in the lake, written whole (locally first: DuckDB cannot COPY
    to an abfs:// lake)."""
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "copy.parquet")
        con.execute(f"COPY ({query}) TO '{local}' (FORMAT parquet)")
        with open(local, "rb") as source, lake.writer(relative) as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)


def publish_tables(warehouse: str, schema: str, tables: list[str], lake: Lake) -> dict[str, tuple[str, int]]:
    """Each table's lake path and row count."""
    published = {}
    with duckdb.connect(warehouse, read_only=True, config={"memory_limit": duckdb_memory_limit(warehouse)}) as con:
        for table in tables:
            relative = f"{schema}/{table}/data.parquet"
            write_parquet(con, f"SELECT * FROM {schema}.{table}", lake, relative)
            rows = one_row(con.execute(f"SELECT count(*) FROM {schema}.{table}"))[0]
            published[table] = (lake.display(relative), rows)
    return published


def publish_bronze(con: duckdb.DuckDBPyConnection, lake: Lake, table: str, arrays_as_json: bool = False) -> list[str]:
    """Every committed batch of a bronze table that is not in the lake yet, a file each; the lake paths
    written. A batch is marked published after its file is written: one written again after a crash
    replaces the same file, so readers never count a row twice. Arrays can go as JSON text, for
    warehouses whose external tables take no nested types (Synapse)."""
    con.execute("CREATE TABLE IF NOT EXISTS bronze._published (table_name VARCHAR, batch_id VARCHAR, "
                "path VARCHAR, published_at TIMESTAMP)")
    arrays = [name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'bronze' AND table_name = ? "
        "AND data_type LIKE '%[]'", [table]).fetchall()] if arrays_as_json else []
    columns = f"* REPLACE ({', '.join(f'to_json({a})::VARCHAR AS {a}' for a in arrays)})" if arrays else "*"
    pending = con.execute(f"SELECT DISTINCT _batch_id FROM bronze.{table} EXCEPT "
                          "SELECT batch_id FROM bronze._published WHERE table_name = ? ORDER BY 1", [table]).fetchall()
    written = []
    for (batch_id,) in pending:
        assert batch_id.isalnum(), batch_id  # a uuid's hex digits: safe in the COPY statement
        relative = f"bronze/{table}/batch-{batch_id}.parquet"
        write_parquet(con, f"SELECT {columns} FROM bronze.{table} WHERE _batch_id = '{batch_id}'", lake, relative)
        con.execute("INSERT INTO bronze._published VALUES (?, ?, ?, ?)",
                    [table, batch_id, relative, datetime.now(UTC).replace(tzinfo=None)])
        written.append(lake.display(relative))
    return written


LATEST = "_latest"  # in gold/<model>/: the name of the newest folder a cloud warehouse published whole


def publish_stamp(now: datetime | None = None) -> str:
    """The folder name of one run's gold in the lake: its UTC start, so names sort by time."""
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")


def point_to_published(lake: Lake, schema: str, model: str, stamp: str) -> str | None:
    """After a cloud warehouse wrote a model into <schema>/<model>/<stamp>/ (dbt's publish_to_lake): name
    that folder in <schema>/<model>/_latest, then remove the older folders (readers go by _latest: one
    reading an older folder at this moment reads it again). The folder's lake path; None if the
    warehouse wrote nothing there."""
    folder = f"{schema}/{model}"
    if not lake.list(f"{folder}/{stamp}"):
        return None
    lake.write_bytes(f"{folder}/{LATEST}", stamp.encode())
    for older in lake.list(folder):
        if older != stamp:
            lake.remove(f"{folder}/{older}")
    return lake.display(f"{folder}/{stamp}")
