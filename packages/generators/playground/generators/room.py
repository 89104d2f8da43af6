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
# What the pipeline keeps of landed data where the warehouse is, at most at once: the warehouse, the lake's
# bronze copies, silver, gold and features, the streaming outputs, and DuckDB's spill while dbt builds. Large,
# 2026-12-07: 22.8 GB landed; a 20.2 GB warehouse, 7 GB of the rest, and up to 16.6 GB of spill.
KEPT_PER_LANDED = 2.0
# The main job's peak memory, its process and its largest child at once (bench.medium, 2026-12-07): small
# 743 + 302 MiB, medium 1,743 (bronze orders) or 465 + 1,939 MiB (training) with DuckDB's default limit here.
MEDIUM_LANDED = sum(source.counts.get("medium", 0) * source.landed_bytes for source in SOURCES.values())
SMALL_MEMORY, MEDIUM_MEMORY = 1_100 << 20, 2_500 << 20
# The warehouse file's size per landed byte (large, 2026-12-07: 22.8 GB landed, 20.2 GB after dbt). DuckDB's
# memory limit grows past medium with that file, at most a quarter of the machine's memory
# (dagster_project/duckdb_memory.py): the machine needs the file's size in memory for the limit to keep up.
WAREHOUSE_PER_LANDED = 0.9


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:,.{1 if size < 10 else 0}f} {unit}"
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


def check_room(counts: dict[str, int], lake: Lake, orders_url: str, bus: str, kept_at: str | None = None) -> None:
    """Refuse counts past what a sink can hold: ids past 64 bits (32 for orders in a server database), or
    more bytes than the disk of a local sink (lake folder, SQLite file, embedded log) has free. With
    `kept_at` (the warehouse's file), also what the pipeline keeps of them there and the memory it needs."""
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
    landed = sum(count * SOURCES[source].landed_bytes for source, count in counts.items())
    if kept_at:
        needs[kept_at] = needs.get(kept_at, 0) + int(landed * KEPT_PER_LANDED)
    wanted = ", ".join(f"{count:,} {source}" for source, count in counts.items())
    for paths in _by_disk(needs).values():
        need, free = sum(needs[path] for path in paths), _free_bytes(paths[0])
        if need > free:
            at = f"at {paths[0]}" if len(paths) == 1 else "on one disk (" + ", ".join(
                f"{_human(needs[path])} at {path}" for path in paths) + ")"
            raise PlaygroundError(f"{wanted} need about {_human(need)} {at}, whose disk has {_human(free)} "
                                  "free: lower --count (or --scale), or choose a sink with room")
    if kept_at and (memory := memory_needed(landed)) > (machine := machine_memory()):
        raise PlaygroundError(f"{wanted} need about {_human(memory)} of memory to go from landing to gold (the "
                              f"job's process and dbt's or the model's beside it), and this machine has "
                              f"{_human(machine)}: lower --count (or --scale), or run on a larger machine")


def _by_disk(needs: dict[str, int]) -> dict[int, list[str]]:
    """The paths of `needs` by the disk they are on."""
    disks: dict[int, list[str]] = {}
    for path in needs:
        folder = os.path.abspath(path)
        while not os.path.exists(folder):
            folder = os.path.dirname(folder)
        disks.setdefault(os.stat(folder).st_dev, []).append(path)
    return disks


def memory_needed(landed: int) -> int:
    """The memory the main job needs at once for data that lands in `landed` bytes: measured at the small and
    medium scales and drawn between them; past medium every step reads in pieces of a bounded size and DuckDB
    spills past its memory_limit, which grows with the warehouse (docs/BENCHMARKS.md: Scale)."""
    share = min(1.0, landed / MEDIUM_LANDED)
    return max(int(SMALL_MEMORY + (MEDIUM_MEMORY - SMALL_MEMORY) * share), int(landed * WAREHOUSE_PER_LANDED))


def machine_memory() -> int:
    """This machine's memory in bytes (the room check's, and DuckDB's memory_limit's, measure)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
