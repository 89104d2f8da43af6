"""Orders and items from the SQL database into bronze by key watermark.

Each run reads the orders above the last orderId taken and their items, in chunks of orderIds
(the generators commit an order with its items and ids only grow, so each cut is consistent),
and appends each chunk with its watermark in one DuckDB transaction. A row holding a value of the
wrong type (SQLite keeps any value in any column) goes to bronze._quarantine with its orderId and
reason, and so do the items of a quarantined order; the rest flows.

What the watermark cannot see: a row added below it (an item added to an order already taken, an
order inserted with a lower id) and an item whose order does not exist (it is above every order).
`reconcile` counts both against the source after each run, and the asset's check fails when the
counts differ, so nothing is lost unseen. Seeing such rows as they happen needs change data capture
(SQL Server change tracking, PostgreSQL logical decoding), which this watermark mode does not do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl
import sqlalchemy as sa
from playground.catalog import TABLE_KEYS, TABLE_TYPES
from playground.generators.parallel import prefetch
from playground.io.orders_db import OrdersDB, items_table, orders_table

from dagster_project.bronze.store import DUCKDB_TYPES, create_table, one_row, transaction

SOURCE = "orders"
ORDER_COLUMNS, ITEM_COLUMNS = ({column: DUCKDB_TYPES[kind] for column, kind in TABLE_TYPES[table].items()}
                               for table in ("orders", "items"))
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
    quarantined: int


# Arrow types that hold only values of the bronze column's type: such a column needs no check.
SAFE_TYPES = {"BIGINT": (pl.Int64, pl.Int32), "DOUBLE": (pl.Float64, pl.Int64, pl.Int32), "TIMESTAMP": (pl.Datetime,)}


def _casts(frame: pl.DataFrame, columns: dict[str, str]) -> tuple[str, str, str]:
    """SQL over a raw row `r` of `frame`: its values typed; a condition true when each value has its column's
    type; the first value that has not, as a reason. Only columns the database gave in another type (text,
    from SQLite) are checked: the others cannot hold a wrong value."""
    casts = {c: f'TRY_CAST(r."{c}" AS {t})' for c, t in columns.items()}
    unsure = {c: t for c, t in columns.items() if not isinstance(frame.schema[c], SAFE_TYPES[t])}
    typed = ", ".join(f'{cast} AS "{c}"' for c, cast in casts.items())
    fits = " AND ".join(f'(r."{c}" IS NULL OR {casts[c]} IS NOT NULL)' for c in unsure) or "true"
    reason = "CASE " + " ".join(f"""WHEN r."{c}" IS NOT NULL AND {casts[c]} IS NULL THEN '{c} ' || """
                                f"""to_json(r."{c}") || ' is not {t}'""" for c, t in unsure.items()) + " END"
    return typed, fits, reason if unsure else "NULL"


def commit_chunk(con: duckdb.DuckDBPyConnection, orders: pl.DataFrame, items: pl.DataFrame, where: str,
                 watermark: int, batch_id: str, now: datetime) -> tuple[int, int, int]:
    """A chunk's orders and items into bronze, typed, with its watermark, in one transaction: a row holding a
    value of another type (SQLite keeps any value in any column) goes to the quarantine with its orderId and
    reason instead, and so do the items of such an order. (new orders, new items, quarantined)."""
    orders, items = orders.select(list(ORDER_COLUMNS)), items.select(list(ITEM_COLUMNS))
    con.register("raw_orders", orders.to_arrow())
    con.register("raw_items", items.to_arrow())
    (orders_typed, orders_fit, orders_reason), (items_typed, items_fit, items_reason) = (
        _casts(orders, ORDER_COLUMNS), _casts(items, ITEM_COLUMNS))
    stamp = [now, batch_id]
    order_id = 'TRY_CAST(r."orderId" AS BIGINT)'  # a raw row's order, typed: text where _read_chunk read text
    with transaction(con):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE bad_orders AS
            SELECT {order_id} AS "orderId", {orders_reason} AS reason, to_json(r) AS raw
            FROM raw_orders r WHERE NOT ({orders_fit})""")
        new_orders = con.execute(f"""INSERT INTO bronze.orders SELECT {orders_typed}, ?::TIMESTAMP, ?
            FROM raw_orders r WHERE {orders_fit}""", stamp).fetchall()[0][0]
        new_items = con.execute(f"""INSERT INTO bronze.items SELECT {items_typed}, ?::TIMESTAMP, ?
            FROM raw_items r WHERE {items_fit} AND {order_id} NOT IN (SELECT "orderId" FROM bad_orders)""",
                                stamp).fetchall()[0][0]
        quarantined = con.execute(f"""INSERT INTO bronze._quarantine
            SELECT 'orders', ? || '#orders', "orderId", reason, raw, ?, ?::TIMESTAMP FROM bad_orders
            UNION ALL
            SELECT 'items', ? || '#items', {order_id},
                   coalesce({items_reason}, format('its order {{}} is quarantined', r."orderId")), to_json(r),
                   ?, ?::TIMESTAMP
            FROM raw_items r WHERE NOT ({items_fit}) OR {order_id} IN (SELECT "orderId" FROM bad_orders)""",
                                  [where, batch_id, now, where, batch_id, now]).fetchall()[0][0]
        con.execute("INSERT INTO bronze._watermarks VALUES (?, ?, ?, ?)", [SOURCE, watermark, batch_id, now])
    con.unregister("raw_orders")
    con.unregister("raw_items")
    return new_orders, new_items, quarantined


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in (("orders", ORDER_COLUMNS), ("items", ITEM_COLUMNS)):
        create_table(con, name, {f'"{c}"': t for c, t in {**columns, **METADATA_COLUMNS}.items()})
    con.execute("CREATE TABLE IF NOT EXISTS bronze._watermarks (source VARCHAR, watermark BIGINT, "
                "batch_id VARCHAR, ingested_at TIMESTAMP)")


def taken_through(con: duckdb.DuckDBPyConnection) -> int:
    """The watermark: the highest orderId taken (0 before the first run)."""
    return con.execute("SELECT coalesce(max(watermark), 0) FROM bronze._watermarks WHERE source = ?",
                       [SOURCE]).fetchall()[0][0]  # fetched whole: the connection registers frames next


def _as_text(column: sa.Column) -> sa.ColumnElement:
    """A SQLite value as text whatever its storage class (a BLOB as its literal, x'..'), for bronze to type."""
    return sa.case((sa.func.typeof(column) == "blob", sa.literal("x'") + sa.func.hex(column) + "'"),
                   else_=sa.cast(column, sa.Text)).label(column.name)


def _read_chunk(db: OrdersDB, table: sa.Table, low: int, high: int) -> pl.DataFrame:
    """The table's rows of orderIds (low, high], in key order. SQLite keeps any value in any column, and its
    reader types a column by its first values: a value of another type later fails the read, a BLOB first
    makes the whole column binary. Then the chunk is read again with every value as text, so that each row
    is judged alone (bronze types it, and quarantines it with its own value as the reason)."""
    in_range = (table.c.orderId > low) & (table.c.orderId <= high)
    keys = [table.c[k] for k in TABLE_KEYS[table.name]]
    query = sa.select(table).where(in_range).order_by(*keys)
    if db.dialect != "sqlite":  # the server keeps each column's type
        return db.read(query)
    try:
        frame = db.read(query)
        if pl.Binary not in frame.dtypes:
            return frame
    except OSError:  # "Type mismatch in column N"
        pass
    return db.read(sa.select(*[_as_text(c) for c in table.c]).where(in_range).order_by(*keys))


def _chunks(db: OrdersDB, start: int, end: int, chunk: int) -> Iterator[tuple[int, pl.DataFrame, pl.DataFrame]]:
    """(high, its orders, its items) for each chunk of orderIds (low, high] from `start` to `end`."""
    low = start
    while low < end:
        # Orders are committed with their items, and ids only grow: everything up to `high` is complete.
        high = min(end, (low // chunk + 1) * chunk)
        yield high, _read_chunk(db, orders_table, low, high), _read_chunk(db, items_table, low, high)
        low = high


def ingest_orders(con: duckdb.DuckDBPyConnection, db: OrdersDB, chunk: int = CHUNK_ORDERS) -> WatermarkResult:
    """Orders above the watermark, up to the highest orderId seen at the start, with their items, in
    chunks of orderIds aligned to multiples of `chunk`: each chunk's rows commit with its watermark,
    so memory stays bounded and a re-run after a kill takes the same chunks from where it stopped."""
    ensure_tables(con)
    start = taken_through(con)
    order_id = orders_table.c.orderId
    with db.engine.connect() as conn:
        end = conn.execute(sa.select(sa.func.coalesce(sa.func.max(order_id), start))).scalar_one()
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    new_orders = new_items = quarantined = 0
    # The next chunk is read while this one commits (the database driver and DuckDB both let go of the GIL).
    with closing(prefetch(_chunks(db, start, end, chunk))) as chunks:
        for high, orders, items in chunks:
            orders_in, items_in, bad = commit_chunk(con, orders, items, db.shown, high, batch_id, now)
            new_orders, new_items, quarantined = new_orders + orders_in, new_items + items_in, quarantined + bad
    total_orders, total_items = (one_row(con.execute(f"SELECT count(*) FROM bronze.{t}"))[0]
                                 for t in ("orders", "items"))
    return WatermarkResult(batch_id, start, end, new_orders, new_items, total_orders, total_items, quarantined)


def reconcile(con: duckdb.DuckDBPyConnection, db: OrdersDB) -> dict[str, int]:
    """The source's orders and items up to the watermark against bronze's (taken or quarantined), and the
    source's items above every order: rows the watermark missed show as a difference."""
    watermark = taken_through(con)
    counts = {}
    with db.engine.connect() as conn:
        for name, table in (("orders", orders_table), ("items", items_table)):
            counts[f"source_{name}"] = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.orderId <= watermark)).scalar_one()
            counts[f"bronze_{name}"] = one_row(con.execute(
                f"SELECT (SELECT count(*) FROM bronze.{name}) + (SELECT count(*) FROM bronze._quarantine "
                "WHERE source = ?)", [name]))[0]
        highest_order = sa.select(sa.func.coalesce(sa.func.max(orders_table.c.orderId), 0)).scalar_subquery()
        counts["source_items_above_every_order"] = conn.execute(
            sa.select(sa.func.count()).select_from(items_table).where(items_table.c.orderId > highest_order)
        ).scalar_one()
    return {"watermark": watermark, **counts}
