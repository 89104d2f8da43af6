"""The lake's parts of the local engine's outputs, and their hourly compaction.

The engine writes each output's rows every few seconds as <lake>/<tier>/streaming/<output>/part-<first
batch>.parquet: about 360 files an output an hour. Once the oldest rows not yet merged were processed an hour
ago, the parts of an output are merged into one, part-<first>-<last>.parquet, holding the rows of batches
first..last, written from the engine's own copy of those rows (the same query that wrote the parts).

The rule for every reader of such a folder (`parts_to_read`; the dashboard's lake.py keeps the same rule):
a merged part holds the rows of every part-<n> with first <= n <= last, so those are not read. The merged part
appears whole (the lake writes a file under a hidden name, then renames it), then the parts it merged are
removed: a reader never sees a row twice, and one that listed before the removal and reads after it sees a
part vanish and lists again. A compaction stopped between the two steps (Ctrl-C, kill -9) leaves the merged
part and some parts it covers; the rule hides them and the next compaction removes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import duckdb
from playground.io.lake import Lake

from dagster_project.bronze.store import one_row
from dagster_project.publish import write_parquet
from dagster_project.streaming.scenarios import OUTPUTS

COMPACT_AFTER = timedelta(hours=1)  # rows this old are merged with every later row not merged yet
PART = re.compile(r"part-(\d{8})(?:-(\d{8}))?\.parquet")


def part_name(first_batch: int, last_batch: int | None = None) -> str:
    return f"part-{first_batch:08d}.parquet" if last_batch is None else \
        f"part-{first_batch:08d}-{last_batch:08d}.parquet"


def _ranges(names: Iterable[str]) -> tuple[list[tuple[int, int]], dict[int, str]]:
    """The merged parts' batch ranges, and the parts not merged by their first batch."""
    merged, single = [], {}
    for name in names:
        if found := PART.fullmatch(name):
            first, last = found.groups()
            if last is None:
                single[int(first)] = name
            else:
                merged.append((int(first), int(last)))
    return merged, single


def _covered(first: int, merged: list[tuple[int, int]]) -> bool:
    return any(low <= first <= high for low, high in merged)


def parts_to_read(names: Iterable[str]) -> list[str]:
    """Of an output folder's names, the parts a reader reads: every merged part, and the parts none of them
    covers."""
    names = list(names)
    merged, single = _ranges(names)
    covered = {name for first, name in single.items() if _covered(first, merged)}
    return sorted(name for name in names if PART.fullmatch(name) and name not in covered)


def parts_written(con: duckdb.DuckDBPyConnection) -> tuple[int, float | None]:
    """The batch through which every output's rows are in the lake's parts (committed), and when they were
    written."""
    row = con.execute("SELECT through_batch, written_at FROM streaming._parts").fetchone()
    return row if row else (0, None)


def compact_parts(con: duckdb.DuckDBPyConnection, lake: Lake, now: datetime | None = None,
                  after: timedelta = COMPACT_AFTER) -> dict[str, int]:
    """Each output whose oldest rows not merged yet were processed `after` ago or more: its parts merged into
    one. Parts a stopped compaction left are removed. Returns the parts removed per output."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    through_batch = parts_written(con)[0]
    removed = {}
    for output in OUTPUTS:
        folder = output.lake_folder
        merged, single = _ranges(lake.list(folder))
        leftovers = [name for first, name in single.items() if _covered(first, merged)]
        waiting = sorted(first for first in single if first <= through_batch and not _covered(first, merged))
        if waiting and _oldest(con, output.name, waiting[0]) <= now - after:
            write_parquet(con, f"SELECT * EXCLUDE (_batch) FROM streaming.{output.name} "
                               f"WHERE _batch BETWEEN {waiting[0]} AND {through_batch}",
                          lake, f"{folder}/{part_name(waiting[0], through_batch)}")
            leftovers += [single[first] for first in waiting]
        for name in leftovers:
            lake.remove(f"{folder}/{name}")
        if leftovers:
            removed[output.name] = len(leftovers)
    return removed


def _oldest(con: duckdb.DuckDBPyConnection, output: str, first_batch: int) -> datetime:
    oldest = one_row(con.execute(f"SELECT min(processed_time) FROM streaming.{output} WHERE _batch >= ?",
                                 [first_batch]))[0]
    return oldest or datetime.max
