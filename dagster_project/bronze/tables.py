"""Orders and items from the SQL database into bronze by key watermark.

Each run reads the orders above the last orderId taken and their items, in one read
transaction (the generators commit an order with its items, so the cut is consistent), and
appends them with the new watermark in one DuckDB transaction.
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


def ingest_orders(con: duckdb.DuckDBPyConnection, db: OrdersDB) -> WatermarkResult:
    ensure_tables(con)
    start = con.execute("SELECT coalesce(max(watermark), 0) FROM bronze._watermarks WHERE source = ?",
                        [SOURCE]).fetchone()[0]
    order_id = orders_table.c.orderId
    with db.engine.connect() as conn, conn.begin():  # one snapshot for both tables
        end = conn.execute(sa.select(sa.func.coalesce(sa.func.max(order_id), start))).scalar_one()
        orders = pl.read_database(sa.select(orders_table).where(order_id > start, order_id <= end)
                                  .order_by(order_id), conn, schema_overrides={"orderDate": pl.Datetime("us")})
        items = pl.read_database(sa.select(items_table).where(items_table.c.orderId > start,
                                                              items_table.c.orderId <= end)
                                 .order_by(items_table.c.orderId, items_table.c.rowId), conn)
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    new = {name: frame.select(list(columns)).with_columns(_ingested_at=pl.lit(now), _batch_id=pl.lit(batch_id))
           for name, frame, columns in (("orders", orders, ORDER_COLUMNS), ("items", items, ITEM_COLUMNS))}
    watermark = [(SOURCE, end, batch_id, now)] if end > start else []
    commit_batch(con, {**new, "_watermarks": watermark})
    totals = [con.execute(f"SELECT count(*) FROM bronze.{t}").fetchone()[0] for t in ("orders", "items")]
    return WatermarkResult(batch_id, start, end, orders.height, items.height, *totals)
