"""`python -m dagster_project.summary`: what landed, what bronze holds, and the top of gold's
engagements, for `make demo`."""

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
        cursor = con.execute("SELECT * FROM gold.engagements ORDER BY total_orders_value DESC, id LIMIT 10")
        columns = [d[0] for d in cursor.description]
        top = Table(title="gold.engagements, top 10 by total order value", title_justify="left")
        for column in columns:
            top.add_column(column, justify="left" if column in ("user_name", "city") else "right")
        for row in cursor.fetchall():
            top.add_row(*("" if v is None else f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row))
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(top)


if __name__ == "__main__":
    main()
