"""Parquet copies of warehouse tables in the lake, for readers outside the warehouse.

Gold goes to <lake>/gold/<model>/data.parquet after each build, so a dashboard reads while
Dagster writes (the DuckDB file is locked while dbt runs); each file is replaced whole, so a
reader sees the old copy or the new one. The local Spark target reads bronze the same way, from
<lake>/bronze/<table>/.
"""

from __future__ import annotations

import os
import tempfile

import duckdb

from generators.sinks.lake import Lake


def publish_tables(warehouse: str, schema: str, tables: list[str], lake: Lake) -> dict[str, tuple[str, int]]:
    """Each table's lake path and row count."""
    published = {}
    with duckdb.connect(warehouse, read_only=True) as con, tempfile.TemporaryDirectory() as tmp:
        for table in tables:
            local = os.path.join(tmp, f"{table}.parquet")
            con.execute(f"COPY {schema}.{table} TO '{local}' (FORMAT parquet)")
            rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
            relative = f"{schema}/{table}/data.parquet"
            with open(local, "rb") as source, lake.writer(relative) as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
            published[table] = (lake.display(relative), rows)
    return published
