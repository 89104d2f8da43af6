"""Room in the sinks: counts they cannot hold are refused before anything is written."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from playground.catalog import SOURCES
from playground.errors import PlaygroundError
from playground.io.bus import embedded_log_path
from playground.io.lake import Lake

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

MAX_ID = 2**63 - 1  # ids are 64-bit integers everywhere
MAX_ORDER_ID_IN_SQL = 2**31 - 1  # orderId is an INTEGER: 32 bits in PostgreSQL and SQL Server


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:,.0f} {unit}"
        size /= 1000
    return f"{size:,.0f} EB"


def _free_bytes(path: str) -> int:
    folder = os.path.abspath(path)
    while not os.path.exists(folder):  # the sink's folder is made when written
        folder = os.path.dirname(folder)
    return shutil.disk_usage(folder).free


def _orders_url(url: str) -> URL | None:
    from sqlalchemy.engine import make_url  # SQLAlchemy only where orders are written
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:  # not a URL: the orders DB says so, with what to do, when it is opened
        return None


def check_room(counts: dict[str, int], lake: Lake, orders_url: str, bus: str) -> None:
    """Refuse counts past what a sink can hold: ids past 64 bits (32 for orders in a server database), or
    more bytes than the disk of a local sink (lake folder, SQLite file, embedded log) has free."""
    lands = {source: SOURCES[source].lands for source in counts}
    orders_db = _orders_url(orders_url) if "orders_db" in lands.values() else None
    sqlite_orders = orders_db is not None and orders_db.get_backend_name() == "sqlite"
    where = {"orders_db": orders_db.database if orders_db and sqlite_orders else None, "bus": embedded_log_path(bus),
             "lake": lake.root if lake.local else None}
    needs: dict[str, int] = {}
    for source, count in counts.items():
        limit = MAX_ORDER_ID_IN_SQL if lands[source] == "orders_db" and not sqlite_orders else MAX_ID
        if count > limit:
            raise PlaygroundError(f"{count:,} {source} is more than the sink can number (ids up to {limit:,}): "
                                  "lower --count")
        if local := where[lands[source]]:  # bytes a record takes where it lands, by the catalog
            needs[local] = needs.get(local, 0) + count * SOURCES[source].landed_bytes
    for path, need in needs.items():
        free = _free_bytes(path)
        if need > free:
            wanted = ", ".join(f"{count:,} {source}" for source, count in counts.items())
            raise PlaygroundError(f"{wanted} need about {_human(need)} at {path}, whose disk has {_human(free)} "
                                  "free: lower --count (or --scale), or choose a sink with room")
