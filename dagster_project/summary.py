"""`python -m dagster_project.summary`: what every tier holds (landing, bronze with its quarantine,
silver, gold, streaming), where it lives, and the top of gold's engagements; `make demo` ends with it."""

from __future__ import annotations

import os
import sys

import duckdb
from playground.catalog import SOURCES
from playground.generators.run import load_manifest
from playground.io.lake import Lake
from rich.console import Console
from rich.table import Table

from dagster_project.bronze.store import one_row
from dagster_project.solutions import local_setting
from dagster_project.streaming.scenarios import OUTPUT_NAMES

GOLD_MODELS = ("engagements", "daily_sales", "product_popularity", "stars_distribution")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> str:
    try:
        return f"{one_row(con.execute(f'SELECT count(*) FROM {table}'))[0]:,}"
    except duckdb.CatalogException:
        return "-"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    return table


def print_summary(console: Console) -> None:
    warehouse, streams = local_setting("PLAYGROUND_WAREHOUSE"), local_setting("PLAYGROUND_STREAMING")
    lake = Lake(local_setting("PLAYGROUND_LAKE"))
    tiers = _table("Sources through the tiers (rows)", "source", "landed", "bronze", "quarantined", "silver")
    with duckdb.connect(warehouse, read_only=True) as con:
        for source in SOURCES:
            manifest = load_manifest(lake, SOURCES[source].manifest_name)
            landed = (manifest.dirty.get("items", 0) if source == "items" else manifest.written) if manifest else 0
            quarantined = one_row(con.execute("SELECT count(*) FROM bronze._quarantine WHERE source = ?",
                                              [source]))[0]
            tiers.add_row(source, f"{landed:,}", _count(con, f"bronze.{source}"), f"{quarantined:,}",
                          _count(con, f"silver.{source}"))
        gold = _table("Gold (rows)", "model", "rows")
        for model in GOLD_MODELS:
            gold.add_row(model, _count(con, f"gold.{model}"))
        cursor = con.execute("SELECT id, user_name, pageviews, orders, total_orders_value, total_items, is_vip "
                             "FROM gold.engagements ORDER BY total_orders_value DESC, id LIMIT 5")
        top = _table("gold.engagements, top 5 by order value", *(d[0] for d in cursor.description))
        for row in cursor.fetchall():
            top.add_row(*(f"{v:,.2f}" if isinstance(v, float) else str(v) for v in row))
    streaming = _table("Streaming outputs (rows)", "output", "rows")
    if os.path.exists(streams):
        with duckdb.connect(streams, read_only=True) as con:
            for output in OUTPUT_NAMES:
                streaming.add_row(output, _count(con, f"streaming.{output}"))
    console.print(tiers)
    console.print(gold)
    console.print(streaming)
    console.print(top)
    console.print("[bold]Where the data lives[/]\n"
                  f"  lake (landing files, gold and streaming Parquet)  {lake.url}\n"
                  f"  orders database                                  {local_setting('PLAYGROUND_ORDERS_URL')}\n"
                  f"  event bus                                        {local_setting('PLAYGROUND_BUS')}\n"
                  f"  warehouse (bronze, silver, gold)                 {warehouse}\n"
                  f"  streaming outputs                                {streams}\n"
                  f"  MLflow (tracking database, model artifacts)      {local_setting('PLAYGROUND_MLFLOW')}\n"
                  "[bold]Next[/]: `make dashboard` (http://127.0.0.1:8501) to see what was made, or `make up`, then "
                  "open http://127.0.0.1:3000: events stream and orders trickle in while the sensors bring them "
                  "through")


if __name__ == "__main__":
    print_summary(Console(width=None if sys.stdout.isatty() else 120, highlight=False))
