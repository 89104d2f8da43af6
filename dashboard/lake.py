"""What the dashboard reads: only what the platform publishes into the lake (PLAYGROUND_LAKE, a
folder) — gold as <lake>/gold/<model>/data.parquet, replaced whole after each build, and the
streaming outputs as Parquet parts under <lake>/<tier>/streaming/<output>/. Never a DuckDB file:
a dashboard must not hold a lock a Dagster run waits for."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import streamlit as st

GOLD = ("engagements", "daily_sales", "product_popularity", "stars_distribution")
# The streaming outputs the Live page shows, by the lake folder the local engine writes.
STREAMING = {"alert_high_latency_enriched": "silver", "raw_vip_only": "silver", "agg_http_method": "silver",
             "pageviews_stars_correlation": "silver", "alert_high_latency": "silver", "raw_pageviews": "bronze"}
WHAT_TO_RUN = ("Nothing published yet: run `make demo` (or materialize gold in the Dagster UI), "
               "then reload this page.")


def table(frame: pd.DataFrame, formats: dict[str, object] | None = None, where: object = st) -> None:
    """A plain table (its text is on the page, to read and to copy), keyed by its first column."""
    key = frame.columns[0]  # as text: Streamlit hides an index that looks like row numbers (ranks, stars)
    where.table(frame.astype({key: str}).set_index(key).style.format(formats or {}, na_rep="–"))


def root() -> Path:
    return Path(os.environ.get("PLAYGROUND_LAKE", "data/lake"))


def gold_path(model: str) -> Path:
    return root() / "gold" / model / "data.parquet"


def streaming_path(output: str) -> Path:
    return root() / STREAMING[output] / "streaming" / output


def _parts(folder: Path) -> list[Path]:
    """Data parts, skipping hidden (being written) and `_` (bookkeeping) names, as Spark does."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))


def _stamp(paths: list[Path]) -> tuple:
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:  # replaced or removed between listing and stat
            continue
        stamps.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def _read_file(path: Path) -> pa.Table:
    """One Parquet file through one open handle: if the file is replaced meanwhile, the handle still
    reads the old copy whole (pyarrow opening the path twice could see the two copies' halves)."""
    with path.open("rb") as handle:
        return pq.read_table(handle)


def _read(paths: list[Path], attempts: int = 4) -> pd.DataFrame:
    """The files as one table. A file replaced while it is read (gold is, after every build) is read
    again: a reader sees the old copy or the new one, never an error."""
    for attempt in range(attempts):
        try:
            tables = [_read_file(path) for path in paths]
            return pa.concat_tables(tables, promote_options="default").to_pandas() if tables else pd.DataFrame()
        except (FileNotFoundError, pa.ArrowInvalid, OSError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


@st.cache_data(max_entries=64)
def _cached(stamp: tuple) -> pd.DataFrame:
    return _read([Path(path) for path, _, _ in stamp])


def gold(model: str) -> pd.DataFrame | None:
    """A gold table, or None before it is first published."""
    path = gold_path(model)
    stamp = _stamp([path])
    return _cached(stamp) if stamp else None


def gold_page(title: str, model: str) -> pd.DataFrame | None:
    """A gold page's title and table; None, having said what to run, before the table is published."""
    st.title(title)
    frame = gold(model)
    if frame is None:
        st.info(WHAT_TO_RUN)
    return frame


def streaming(output: str) -> pd.DataFrame:
    """Every part of a streaming output written so far (empty before the first)."""
    return _cached(_stamp(_parts(streaming_path(output))))


@dataclass(frozen=True)
class Freshness:
    table: str
    location: str
    rows: int | None
    files: int
    last_published: datetime | None


def _rows(path: Path) -> int:
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return 0


def freshness() -> list[Freshness]:
    """When each published table was last written, and how many rows it holds."""
    found = []
    for model in GOLD:
        stamp = _stamp([gold_path(model)])
        found.append(Freshness(f"gold.{model}", _in_lake(gold_path(model)), _rows(gold_path(model)) if stamp else None,
                               len(stamp), _when(stamp)))
    for output in STREAMING:
        parts = _parts(streaming_path(output))
        stamp = _stamp(parts)
        found.append(Freshness(f"streaming.{output}", _in_lake(streaming_path(output)),
                               sum(_rows(p) for p in parts) if parts else None, len(stamp), _when(stamp)))
    return found


def _in_lake(path: Path) -> str:
    return f"<lake>/{path.relative_to(root())}"


def _when(stamp: tuple) -> datetime | None:
    return datetime.fromtimestamp(max(ns for _, _, ns in stamp) / 1e9, UTC) if stamp else None
