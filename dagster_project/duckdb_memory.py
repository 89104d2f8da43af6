"""How much memory each DuckDB the runs and dbt open may hold before it spills to disk."""

from __future__ import annotations

import os

from playground.generators.room import machine_memory


def duckdb_memory_limit() -> str:
    """PLAYGROUND_DUCKDB_MEMORY_LIMIT (such as 2GB), or an eighth of this machine's memory, at most 1 GiB.
    DuckDB's own default, 80% of RAM in each process, let a medium dbt build reach 7.7 GiB; past the limit
    DuckDB spills to `<file>.tmp` beside its file (docs/BENCHMARKS.md: Scale)."""
    if setting := os.environ.get("PLAYGROUND_DUCKDB_MEMORY_LIMIT"):
        return setting
    return f"{min(1024, (machine_memory() >> 20) // 8)}MiB"
