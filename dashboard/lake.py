"""What the dashboard reads: only what the platform publishes into the lake — gold as
<lake>/gold/<model>/data.parquet (replaced whole after each build) or, for a cloud solution, the folder
its warehouse wrote that <lake>/gold/<model>/_latest names; the streaming outputs as Parquet parts under
<lake>/<tier>/streaming/<output>/; the order value model's training history and scores as
<lake>/gold/<output>/data.parquet, published like gold. Never a DuckDB file: a dashboard must not hold a
lock a Dagster run waits for.

The lake is PLAYGROUND_LAKE: a folder, or `abfs://` for a cloud solution's ADLS account. With
PLAYGROUND_SOLUTION=<its location> the dashboard first reads that solution's settings file, as its code
location does (.env.<location>, written by its provisioning job), and reaches the account with the same
settings as the solution's assets: AZURE_STORAGE_ACCOUNT_NAME with its key (AZURE_STORAGE_ACCOUNT_KEY),
else a SAS token (AZURE_STORAGE_SAS_TOKEN), else DefaultAzureCredential; or a connection string
(AZURE_STORAGE_CONNECTION_STRING)."""

from __future__ import annotations

import os
import re
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
# What the pages read of each published table: one without them is named on its page, not a KeyError.
COLUMNS = {
    "engagements": ("id", "user_name", "city", "orders", "total_orders_value", "pageviews", "avg_stars", "is_vip"),
    "daily_sales": ("order_day", "revenue", "orders", "avg_order_value"),
    "product_popularity": ("popularity_rank", "product_id", "name", "units_sold", "orders", "revenue", "price"),
    "stars_distribution": ("stars", "ratings", "share"),
    "order_value_scores": ("order_date", "predicted_value", "order_value", "model_version"),
    "order_value_history": ("registered_version", "trained_at", "cutoff", "best", "champion_version",
                            "champion_rmse", "baseline_mean_rmse"),
    "alert_high_latency_enriched": ("event_id", "event_timestamp", "latency", "http_method", "uri", "user_id",
                                    "user_name", "city"),
    "raw_vip_only": ("event_timestamp", "user_id", "http_method", "uri"),
    "agg_http_method": ("window_end", "pageviews", "http_method"),
    "pageviews_stars_correlation": ("user_id", "uri", "stars", "seconds_between"),
}
AZURE_PROTOCOLS = ("abfs", "abfss", "az")
SINGLE_PART, MERGED_PART = re.compile(r"part-(\d{8})\.parquet"), re.compile(r"part-(\d{8})-(\d{8})\.parquet")
LATEST = "_latest"  # dagster_project/publish.py
LISTINGS = 5  # a streaming output is listed and read again while its parts change under the reader
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
    """A plain table (its text is on the page, to read and to copy), keyed by its first column; times to the
    second."""
    times = {name: frame[name].dt.strftime("%Y-%m-%d %H:%M:%S") for name in frame.columns
             if pd.api.types.is_datetime64_any_dtype(frame[name])}
    key = frame.columns[0]  # as text: Streamlit hides an index that looks like row numbers (ranks, stars)
    where.table(frame.assign(**times).astype({key: str}).set_index(key).style.format(formats or {}, na_rep="–"))


def gold_files(model: str) -> list[str]:
    """The files of a gold table (or the model's outputs, published like gold) as last published: the folder
    _latest names (a cloud warehouse's), else data.parquet (Dagster's, locally); none before the first."""
    fs, root = lake()
    folder = _join(root, "gold", model)
    try:
        stamp = fs.cat_file(_join(folder, LATEST)).decode().strip()
    except FileNotFoundError:
        return [_join(folder, "data.parquet")] if fs.exists(_join(folder, "data.parquet")) else []
    return _data_files(fs.find(_join(folder, stamp)))


def streaming_files(output: str) -> list[str]:
    fs, root = lake()
    folder = _join(root, STREAMING[output], "streaming", output)
    return _not_merged([p for p in _data_files(fs.find(folder)) if p.endswith(".parquet")]) \
        if fs.exists(folder) else []


def _not_merged(paths: list[str]) -> list[str]:
    """The local engine merges an output's parts hourly: part-<first>-<last>.parquet holds the rows of every
    part-<n>.parquet of its folder with first <= n <= last, which are then removed (or, if the merge was
    stopped, left to the next). Those are not read (the rule of dagster_project/streaming/parts.py)."""
    merged = [(path.rsplit("/", 1)[0], int(found[1]), int(found[2])) for path in paths
              if (found := MERGED_PART.fullmatch(path.rsplit("/", 1)[-1]))]

    def covered(path: str) -> bool:
        folder, name = path.rsplit("/", 1)
        single = SINGLE_PART.fullmatch(name)
        return bool(single) and any(f == folder and low <= int(single[1]) <= high for f, low, high in merged)

    return [path for path in paths if not covered(path)]


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


class LakeError(Exception):
    """A published file the pages cannot use: said on the page, naming it and what to run, not a traceback."""


def _read_file(path: str) -> pa.Table:
    """One Parquet file through one open handle: if the file is replaced meanwhile, the handle still
    reads the old copy whole (pyarrow opening the path twice could see the two copies' halves)."""
    fs, _ = lake()
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle)


def _read_one(path: str, attempts: int = 4) -> pa.Table:
    """A file replaced while it is read (gold is, after every build) is read again: a reader sees the old copy
    or the new one. One that stays unreadable (truncated, empty, not Parquet) is a LakeError naming it."""
    for attempt in range(attempts):
        try:
            return _read_file(path)
        except (FileNotFoundError, pa.ArrowInvalid, OSError) as error:
            if attempt == attempts - 1:
                raise LakeError(f"{path} cannot be read as Parquet ({str(error).splitlines()[0]})") from error
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _frame(tables: list[pa.Table]) -> pd.DataFrame:
    return pa.concat_tables(tables, promote_options="default").to_pandas() if tables else pd.DataFrame()


@st.cache_data(max_entries=64)
def _cached(stamp: tuple) -> pd.DataFrame:
    return _frame([_read_one(path) for path, _, _ in stamp])


@st.cache_data(max_entries=64)
def _cached_parts(stamp: tuple) -> tuple[pd.DataFrame, list[str]]:
    """The parts that can be read, and why each other one cannot."""
    tables, unreadable = [], []
    for path, _, _ in stamp:
        try:
            tables.append(_read_one(path))
        except LakeError as error:
            unreadable.append(str(error))
    return _frame(tables), unreadable


def _missing(frame: pd.DataFrame, table: str) -> list[str]:
    return [column for column in COLUMNS.get(table, ()) if column not in frame.columns]


def gold(model: str) -> pd.DataFrame | None:
    """A gold table (or an ML output), or None before it is first published; a LakeError when it cannot be
    read or lacks a column a page reads."""
    stamp = _stamp(gold_files(model))
    if not stamp:
        return None
    frame = _cached(stamp)
    if missing := _missing(frame, model):
        raise LakeError(f"gold/{model} as published has no column {', '.join(missing)}")
    return frame


def gold_page(title: str, model: str, asset: str = "") -> pd.DataFrame | None:
    """A gold page's title and table; None, having said what to run, before the table is published or when
    it cannot be used. `asset`: the one that publishes it, when not gold/<model>."""
    st.title(title)
    try:
        frame = gold(model)
    except LakeError as error:
        st.error(f"{error}: publish it again (`make demo`, or materialize {asset or f'gold/{model}'} in the "
                 "Dagster UI), then reload this page.")
        return None
    if frame is None:
        st.info(WHAT_TO_RUN)
    return frame


def streaming(output: str) -> pd.DataFrame:
    """Every part of a streaming output written so far that can be read (empty before the first). A part
    that cannot be read is left out, and one output without a column the page reads is shown empty: the
    page says which, and shows the rest."""
    for _ in range(LISTINGS):  # until the parts read are the parts listed after: none merged away meanwhile
        stamp = _stamp(streaming_files(output))
        frame, unreadable = _cached_parts(stamp)
        if _stamp(streaming_files(output)) == stamp:
            break
    for reason in unreadable:
        st.warning(f"{reason}: left out of {output} (remove the part, or run `make demo` to write the outputs "
                   "again).")
    if frame.empty:
        return frame
    if missing := _missing(frame, output):
        st.error(f"streaming.{output} has no column {', '.join(missing)} (written by another version of the "
                 "streaming engine): run `make demo` to write it again.")
        return pd.DataFrame(columns=list(COLUMNS[output]))
    return frame


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


def published(tier: str) -> list[str]:
    """The tables published in a tier's folder of the lake: every one, not only those a page shows."""
    fs, root = lake()
    folder = _join(root, tier)
    names = [path.rstrip("/").rsplit("/", 1)[-1] for path in fs.ls(folder, detail=False)] if fs.exists(folder) else []
    return sorted(name for name in names if not name.startswith((".", "_")))


def freshness() -> list[Freshness]:
    """When each published table was last written, and how many rows it holds: gold (the pages' tables listed
    before anything is published; the ML outputs are published there too), the streaming outputs."""
    found = []
    for name, files, folder in ([(f"gold.{m}", gold_files(m), _join("gold", m))
                                 for m in sorted(set(published("gold")) | set(GOLD))]
                                + [(f"streaming.{o}", streaming_files(o), _join(t, "streaming", o))
                                   for o, t in STREAMING.items()]):
        stamp = _stamp(files)
        found.append(Freshness(name, f"<lake>/{folder}", sum(_rows(p) for p in files) if stamp else None,
                               len(stamp), _when(stamp)))
    return found


def _when(stamp: tuple) -> datetime | None:
    return datetime.fromtimestamp(max(ns for _, _, ns in stamp) / 1e9, UTC) if stamp else None
