"""What the dashboard reads: only what the platform publishes into the lake — gold as
<lake>/gold/<model>/data.parquet (replaced whole after each build) or, for a cloud solution, the folder
its warehouse wrote that <lake>/gold/<model>/_latest names; the streaming outputs as Parquet parts under
<lake>/<tier>/streaming/<output>/; the order value model's training history and scores as
<lake>/ml/<output>/data.parquet. Never a DuckDB file: a dashboard must not hold a lock a Dagster run
waits for.

The lake is PLAYGROUND_LAKE: a folder, or `abfs://` for a cloud solution's ADLS account. With
PLAYGROUND_SOLUTION=<its location> the dashboard first reads that solution's settings file, as its code
location does (.env.<location>, written by its provisioning job), and reaches the account with the same
settings as the solution's assets: AZURE_STORAGE_ACCOUNT_NAME with its key (AZURE_STORAGE_ACCOUNT_KEY),
else a SAS token (AZURE_STORAGE_SAS_TOKEN), else DefaultAzureCredential; or a connection string
(AZURE_STORAGE_CONNECTION_STRING)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import streamlit as st
from dotenv import dotenv_values

GOLD = ("engagements", "daily_sales", "product_popularity", "stars_distribution")
# The streaming outputs the Live page shows, by the lake folder the local engine writes.
STREAMING = {"alert_high_latency_enriched": "silver", "raw_vip_only": "silver", "agg_http_method": "silver",
             "pageviews_stars_correlation": "silver", "alert_high_latency": "silver", "raw_pageviews": "bronze"}
WHAT_TO_RUN = ("Nothing published yet: run `make demo` (or materialize gold in the Dagster UI), "
               "then reload this page.")
AZURE_PROTOCOLS = ("abfs", "abfss", "az")
LATEST = "_latest"  # dagster_project/publish.py
REPO = Path(__file__).resolve().parents[1]


def load_solution_settings() -> None:
    """The settings file of PLAYGROUND_SOLUTION, if set: its values win, as in the solution's code location."""
    location = os.environ.get("PLAYGROUND_SOLUTION")
    if location:
        path = Path(os.environ.get("PLAYGROUND_SETTINGS_DIR") or REPO) / f".env.{location}"
        if not path.exists():
            raise RuntimeError(f"PLAYGROUND_SOLUTION={location}: no settings file {path}; run the solution's "
                               "provisioning job (README: Deploy to Azure), which writes it")
        os.environ.update({k: v for k, v in dotenv_values(path).items() if v is not None})


def azure_options(env: dict[str, str]) -> dict[str, object]:
    """adlfs' arguments from the settings, in the order the solution's lake resource takes them
    (dagster_project/azure_lake.py)."""
    if env.get("AZURE_STORAGE_CONNECTION_STRING"):
        return {"connection_string": env["AZURE_STORAGE_CONNECTION_STRING"]}
    if not env.get("AZURE_STORAGE_ACCOUNT_NAME"):
        raise RuntimeError("PLAYGROUND_LAKE is an ADLS lake but AZURE_STORAGE_ACCOUNT_NAME is not set: start the "
                           "dashboard with PLAYGROUND_SOLUTION=<solution's location>, or set it")
    options: dict[str, object] = {"account_name": env["AZURE_STORAGE_ACCOUNT_NAME"]}
    if env.get("AZURE_STORAGE_ACCOUNT_KEY"):
        options["account_key"] = env["AZURE_STORAGE_ACCOUNT_KEY"]
    elif env.get("AZURE_STORAGE_SAS_TOKEN"):
        options["sas_token"] = env["AZURE_STORAGE_SAS_TOKEN"]
    else:
        options["anon"] = False  # DefaultAzureCredential: a managed identity, `az login`, AZURE_CLIENT_*
    return options


@st.cache_resource
def lake() -> tuple[fsspec.AbstractFileSystem, str]:
    """The lake's filesystem and root path."""
    load_solution_settings()
    url = os.environ.get("PLAYGROUND_LAKE", "data/lake")
    protocol, _, rest = url.partition("://")
    if "://" in url:
        if protocol not in AZURE_PROTOCOLS:
            raise RuntimeError(f"PLAYGROUND_LAKE={url}: a folder or abfs:// (a cloud solution's ADLS lake)")
        from adlfs import AzureBlobFileSystem

        return AzureBlobFileSystem(**azure_options(dict(os.environ))), rest.strip("/")
    return fsspec.filesystem("file"), os.path.abspath(url)


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") if i else p.rstrip("/") for i, p in enumerate(parts) if p)


def table(frame: pd.DataFrame, formats: dict[str, object] | None = None, where: object = st) -> None:
    """A plain table (its text is on the page, to read and to copy), keyed by its first column."""
    key = frame.columns[0]  # as text: Streamlit hides an index that looks like row numbers (ranks, stars)
    where.table(frame.astype({key: str}).set_index(key).style.format(formats or {}, na_rep="–"))


def gold_files(model: str, tier: str = "gold") -> list[str]:
    """The files of a gold table (or the ML tier's outputs) as last published: the folder _latest names (a
    cloud warehouse's), else data.parquet (Dagster's, locally); none before the first."""
    fs, root = lake()
    folder = _join(root, tier, model)
    try:
        stamp = fs.cat_file(_join(folder, LATEST)).decode().strip()
    except FileNotFoundError:
        return [_join(folder, "data.parquet")] if fs.exists(_join(folder, "data.parquet")) else []
    return _data_files(fs.find(_join(folder, stamp)))


def streaming_files(output: str) -> list[str]:
    fs, root = lake()
    folder = _join(root, STREAMING[output], "streaming", output)
    return [p for p in _data_files(fs.find(folder)) if p.endswith(".parquet")] if fs.exists(folder) else []


def _data_files(paths: list[str]) -> list[str]:
    """Data files, skipping hidden (being written) and `_` (bookkeeping) names, as Spark does."""
    return sorted(p for p in paths if not p.rsplit("/", 1)[-1].startswith((".", "_")))


def _mtime_ns(info: dict) -> int:
    modified = info.get("mtime", info.get("last_modified"))
    return int((modified.timestamp() if isinstance(modified, datetime) else float(modified or 0)) * 1e9)


def _stamp(paths: list[str]) -> tuple:
    fs, _ = lake()
    stamps = []
    for path in paths:
        try:
            info = fs.info(path)
        except FileNotFoundError:  # replaced or removed between listing and stat
            continue
        stamps.append((path, info["size"], _mtime_ns(info)))
    return tuple(stamps)


def _read_file(path: str) -> pa.Table:
    """One Parquet file through one open handle: if the file is replaced meanwhile, the handle still
    reads the old copy whole (pyarrow opening the path twice could see the two copies' halves)."""
    fs, _ = lake()
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle)


def _read(paths: list[str], attempts: int = 4) -> pd.DataFrame:
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
    return _read([path for path, _, _ in stamp])


def gold(model: str, tier: str = "gold") -> pd.DataFrame | None:
    """A gold table (or an ML output), or None before it is first published."""
    stamp = _stamp(gold_files(model, tier))
    return _cached(stamp) if stamp else None


def gold_page(title: str, model: str, tier: str = "gold") -> pd.DataFrame | None:
    """A gold page's title and table; None, having said what to run, before the table is published."""
    st.title(title)
    frame = gold(model, tier)
    if frame is None:
        st.info(WHAT_TO_RUN)
    return frame


def streaming(output: str) -> pd.DataFrame:
    """Every part of a streaming output written so far (empty before the first)."""
    return _cached(_stamp(streaming_files(output)))


@dataclass(frozen=True)
class Freshness:
    table: str
    location: str
    rows: int | None
    files: int
    last_published: datetime | None


def _rows(path: str) -> int:
    fs, _ = lake()
    try:
        with fs.open(path, "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return 0


def freshness() -> list[Freshness]:
    """When each published table was last written, and how many rows it holds."""
    found = []
    for name, files, folder in ([(f"gold.{m}", gold_files(m), _join("gold", m)) for m in GOLD]
                                + [(f"streaming.{o}", streaming_files(o), _join(t, "streaming", o))
                                   for o, t in STREAMING.items()]):
        stamp = _stamp(files)
        found.append(Freshness(name, f"<lake>/{folder}", sum(_rows(p) for p in files) if stamp else None,
                               len(stamp), _when(stamp)))
    return found


def _when(stamp: tuple) -> datetime | None:
    return datetime.fromtimestamp(max(ns for _, _, ns in stamp) / 1e9, UTC) if stamp else None
