"""Orders and items from the SQL database into bronze by key watermark.

Each run reads the orders above the last orderId taken and their items, in chunks of orderIds
(the generators commit an order with its items and ids only grow, so each cut is consistent),
and appends each chunk with its watermark in one DuckDB transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl
import sqlalchemy as sa

from dagster_project.bronze.store import commit_batch, create_table
from generators.schema import items_table, orders_table
from generators.sinks.orders_db import OrdersDB

SOURCE = "orders"
ORDER_COLUMNS = {"orderId": "BIGINT", "userId": "BIGINT", "orderDate": "TIMESTAMP", "orderValue": "DOUBLE"}
ITEM_COLUMNS = {"orderId": "BIGINT", "rowId": "BIGINT", "productId": "BIGINT"}
METADATA_COLUMNS = {"_ingested_at": "TIMESTAMP", "_batch_id": "VARCHAR"}
CHUNK_ORDERS = 500_000  # with their ~2.75M items: a few hundred MB in memory at a time


@dataclass(frozen=True)
class WatermarkResult:
    batch_id: str
    watermark_from: int
    watermark_to: int
    new_orders: int
    new_items: int
    total_orders: int
    total_items: int


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in (("orders", ORDER_COLUMNS), ("items", ITEM_COLUMNS)):
        create_table(con, name, {f'"{c}"': t for c, t in {**columns, **METADATA_COLUMNS}.items()})
    con.execute("CREATE TABLE IF NOT EXISTS bronze._watermarks (source VARCHAR, watermark BIGINT, "
                "batch_id VARCHAR, ingested_at TIMESTAMP)")


def ingest_orders(con: duckdb.DuckDBPyConnection, db: OrdersDB, chunk: int = CHUNK_ORDERS) -> WatermarkResult:
    """Orders above the watermark, up to the highest orderId seen at the start, with their items, in
    chunks of orderIds aligned to multiples of `chunk`: each chunk's rows commit with its watermark,
    so memory stays bounded and a re-run after a kill takes the same chunks from where it stopped."""
    ensure_tables(con)
    start = con.execute("SELECT coalesce(max(watermark), 0) FROM bronze._watermarks WHERE source = ?",
                        [SOURCE]).fetchone()[0]
    order_id = orders_table.c.orderId
    with db.engine.connect() as conn:
        end = conn.execute(sa.select(sa.func.coalesce(sa.func.max(order_id), start))).scalar_one()
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    new_orders = new_items = 0
    low = start
    while low < end:
        # Orders are committed with their items, and ids only grow: everything up to `high` is complete.
        high = min(end, (low // chunk + 1) * chunk)
        orders = db.read(sa.select(orders_table).where(order_id > low, order_id <= high).order_by(order_id))
        items = db.read(sa.select(items_table).where(items_table.c.orderId > low, items_table.c.orderId <= high)
                        .order_by(items_table.c.orderId, items_table.c.rowId))
        new = {name: frame.select(list(columns)).with_columns(_ingested_at=pl.lit(now), _batch_id=pl.lit(batch_id))
               for name, frame, columns in (("orders", orders, ORDER_COLUMNS), ("items", items, ITEM_COLUMNS))}
        commit_batch(con, {**new, "_watermarks": [(SOURCE, high, batch_id, now)]})
        new_orders, new_items, low = new_orders + orders.height, new_items + items.height, high
    totals = [con.execute(f"SELECT count(*) FROM bronze.{t}").fetchone()[0] for t in ("orders", "items")]
    return WatermarkResult(batch_id, start, end, new_orders, new_items, *totals)
