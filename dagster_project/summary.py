"""`python -m dagster_project.summary`: what landed and what bronze holds, for `make demo`."""

from __future__ import annotations

import os
import sys

import duckdb
from rich.console import Console
from rich.table import Table

from generators.run import load_manifest
from generators.sinks.lake import Lake

SOURCES = ("users", "vip_users", "products", "orders", "items", "pageviews", "stars")


def main() -> None:
    lake = Lake(os.environ.get("PLAYGROUND_LAKE", "data/lake"))
    warehouse = os.environ.get("PLAYGROUND_WAREHOUSE", "data/warehouse.duckdb")
    table = Table(title=f"Landing ({lake.url}) and bronze ({warehouse})", title_justify="left")
    for column in ("source", "landed", "bronze rows", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right")
    with duckdb.connect(warehouse, read_only=True) as con:
        for source in SOURCES:
            manifest = load_manifest(lake, "orders" if source == "items" else source)
            landed = (manifest.dirty.get("items", 0) if source == "items" else manifest.written) if manifest else 0
            rows = con.execute(f"SELECT count(*) FROM bronze.{source}").fetchone()[0]
            quarantined = con.execute("SELECT count(*) FROM bronze._quarantine WHERE source = ?",
                                      [source]).fetchone()[0] if source not in ("orders", "items") else 0
            table.add_row(source, f"{landed:,}", f"{rows:,}", f"{quarantined:,}")
    Console(width=None if sys.stdout.isatty() else 120).print(table)


if __name__ == "__main__":
    main()
