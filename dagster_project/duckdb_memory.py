"""How much memory each DuckDB the runs and dbt open may hold before it spills to disk, and how many threads
dbt's queries take."""

from __future__ import annotations

import math
import os

from playground.generators.room import machine_memory

GIB = 1 << 30
BASE_LIMIT = GIB
# A medium warehouse stays under 2.3 GB; the large scale's is 5.9 GB when dbt first builds it (bronze alone).
GROWS_PAST = 3 * GIB


def duckdb_memory_limit(database: str | None = None) -> str:
    """PLAYGROUND_DUCKDB_MEMORY_LIMIT (such as 2GB), or an eighth of this machine's memory, at most 1 GiB; for
    a `database` file past 3 GiB, 0.9x its size rounded up to a whole GiB, at most a quarter of the machine's
    memory. DuckDB's own default, 80% of RAM in each process, let a medium dbt build reach 7.7 GiB; past the
    limit DuckDB spills to `<file>.tmp` beside its file. But some of a query's tables cannot spill: at the large
    scale (100M orders) the user totals' join needs 3 GiB on dbt's first build, when the warehouse holds bronze
    alone in 5.9 GB (docs/BENCHMARKS.md: Scale). Read when a connection opens: the file grows during a run."""
    if setting := os.environ.get("PLAYGROUND_DUCKDB_MEMORY_LIMIT"):
        return setting
    machine = machine_memory()
    size = _size(database)
    # whole GiB: dbt parses again when its profile changes
    grown = min(math.ceil(size * 0.9 / GIB), machine // 4 // GIB) * GIB if size > GROWS_PAST else 0
    return f"{max(min(BASE_LIMIT, machine // 8), grown) >> 20}MiB"


def dbt_duckdb_threads(database: str) -> int:
    """Threads a dbt query takes on `database`: two while the file is under 3 GiB (the base limit's range), one
    past it. A query on two threads needs 1.3-2.5x the memory of one: at the medium scale the user totals need
    640 MiB on two (the limit is 1 GiB) and dbt's build takes 60% of the time; at the large scale they need 3 GiB
    on one, so 4-7.5 GiB on two against the first build's 5 GiB (not tried: docs/BENCHMARKS.md, Scale)."""
    return min(2, os.cpu_count() or 1) if _size(database) <= GROWS_PAST else 1


def _size(database: str | None) -> int:
    """The file's bytes, 0 before it exists."""
    return os.path.getsize(database) if database and os.path.exists(database) else 0
