"""How much memory each DuckDB the runs and dbt open may hold before it spills to disk."""

from __future__ import annotations

import os

from playground.generators.room import machine_memory

BASE_LIMIT = 1 << 30


def duckdb_memory_limit(database: str | None = None) -> str:
    """PLAYGROUND_DUCKDB_MEMORY_LIMIT (such as 2GB), or an eighth of this machine's memory, at most 1 GiB; for
    a `database` file past 4 GiB, a quarter of its size, up to a quarter of the machine's memory. DuckDB's own
    default, 80% of RAM in each process, let a medium dbt build reach 7.7 GiB; past the limit DuckDB spills to
    `<file>.tmp` beside its file. But some of a query's tables cannot spill: at the large scale (a 16 GB
    warehouse, 100M orders) an aggregate's 512 MiB table and the user totals' join ran out of 1 and 2 GiB
    (docs/BENCHMARKS.md: Scale)."""
    if setting := os.environ.get("PLAYGROUND_DUCKDB_MEMORY_LIMIT"):
        return setting
    machine = machine_memory()
    size = os.path.getsize(database) if database and os.path.exists(database) else 0
    grown = min(size // 4, machine // 4) >> 30 << 30  # whole GiB: dbt parses again when its profile changes
    return f"{max(min(BASE_LIMIT, machine // 8), grown) >> 20}MiB"
