"""Lake files into bronze tables with Auto Loader semantics.

Each file is ingested once, tracked by path and checksum; new files are picked up
incrementally; a file whose content changed is ingested again as a new version. A line that is
not a JSON object of the source's schema (or lacks its key) goes to bronze._quarantine with the
file, line and reason; missing non-key fields stay NULL for silver to judge. Rows, quarantine and
bookkeeping of one run are committed in one DuckDB transaction.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from dagster_project.bronze.store import DUCKDB_TYPES, commit_batch, create_table
from generators.schema import (
    PRODUCT_TYPES,
    PRODUCTS_DIR,
    USER_TYPES,
    USERS_FILE,
    VIP_FILE,
    VIP_TYPES,
)
from generators.sinks.lake import Lake

POLARS_TYPES = {"int": pl.Int64, "float": pl.Float64, "str": pl.String, "list[str]": pl.List(pl.String)}
METADATA_COLUMNS = {"_source_file": "VARCHAR", "_line": "BIGINT", "_file_version": "INTEGER",
                    "_ingested_at": "TIMESTAMP", "_batch_id": "VARCHAR"}


@dataclass(frozen=True)
class FileSource:
    name: str
    folder: str
    types: dict[str, str]
    key: str = "id"


FILE_SOURCES = {
    "users": FileSource("users", USERS_FILE.rsplit("/", 1)[0], USER_TYPES),
    "vip_users": FileSource("vip_users", VIP_FILE.rsplit("/", 1)[0], VIP_TYPES),
    "products": FileSource("products", PRODUCTS_DIR, PRODUCT_TYPES),
}


@dataclass(frozen=True)
class IngestResult:
    source: str
    batch_id: str
    files: int
    new_rows: int
    quarantined: int
    total_rows: int


def ensure_tables(con: duckdb.DuckDBPyConnection, source: FileSource) -> None:
    create_table(con, source.name, {**{f: DUCKDB_TYPES[t] for f, t in source.types.items()}, **METADATA_COLUMNS})
    con.execute("CREATE TABLE IF NOT EXISTS bronze._files (source VARCHAR, path VARCHAR, checksum VARCHAR, "
                "version INTEGER, stamp VARCHAR, records BIGINT, quarantined BIGINT, batch_id VARCHAR, "
                "ingested_at TIMESTAMP, PRIMARY KEY (source, path, version))")


def parse_record(raw: bytes, types: dict[str, str], key: str) -> tuple[dict | None, str]:
    """A JSON record of the given field types, or None and why it cannot be a bronze row.
    Missing fields other than the key are allowed (NULL): silver judges them."""
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"malformed JSON: {getattr(exc, 'msg', exc)}"
    reason = _check(record, types, key)
    return (None, reason) if reason else ({f: record.get(f) for f in types}, "")


def _check(record: object, types: dict[str, str], key: str) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get(key) is None:
        return f"no key field {key!r}"
    for name, kind in types.items():
        value = record.get(name)
        if value is None:
            continue
        ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "str": lambda v: isinstance(v, str),
              "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)}[kind](value)
        if not ok:
            return f"field {name!r} is not {kind}"
    return None


def parse_lines(data: bytes, source: FileSource) -> tuple[list[dict], list[tuple[int, str, str]]]:
    """Good records (with their line numbers) and (line, reason, raw) of the bad ones."""
    good, bad = [], []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        record, reason = parse_record(line, source.types, source.key)
        if record is None:
            bad.append((number, reason, line.decode("utf-8", "replace")))
        else:
            record["_line"] = number
            good.append(record)
    return good, bad


def ingest_files(con: duckdb.DuckDBPyConnection, lake: Lake, source: FileSource) -> IngestResult:
    ensure_tables(con, source)
    # Listing is cheap, reading is not: a file with the size and time it had when last ingested is skipped
    # unread. The listing is compared with the bookkeeping in SQL: per known file, only its stat is paid.
    prefix = f"{source.folder}/"
    listed = lake.stamps(source.folder)
    con.register("listed", pl.DataFrame({"path": [prefix + n for n in listed], "stamp": list(listed.values())},
                                        schema={"path": pl.String, "stamp": pl.String}).to_arrow())
    candidates = con.execute(
        "SELECT l.path, l.stamp, f.checksum, f.version FROM listed l LEFT JOIN (SELECT * FROM bronze._files "
        "WHERE source = ? QUALIFY version = max(version) OVER (PARTITION BY path)) f USING (path) "
        "WHERE f.stamp IS DISTINCT FROM l.stamp ORDER BY l.path", [source.name]).fetchall()
    con.unregister("listed")
    batch_id, now = uuid.uuid4().hex, datetime.now(UTC).replace(tzinfo=None)
    good: list[dict] = []
    quarantine, files = [], []
    for path, stamp, last_checksum, last_version in candidates:
        data = lake.read_bytes(path)
        checksum = hashlib.sha256(data).hexdigest()
        if checksum == last_checksum:  # touched, not changed
            continue
        version = (last_version or 0) + 1
        records, bad = parse_lines(data, source)
        for record in records:
            record.update(_source_file=path, _file_version=version)
        good += records
        quarantine += [(source.name, path, line, reason, raw, batch_id, now) for line, reason, raw in bad]
        files.append((source.name, path, checksum, version, stamp, len(records), len(bad), batch_id, now))
    schema = {**{f: POLARS_TYPES[t] for f, t in source.types.items()}, "_line": pl.Int64,
              "_source_file": pl.String, "_file_version": pl.Int32}
    rows = pl.DataFrame(good, schema=schema, orient="row").with_columns(_ingested_at=pl.lit(now),
                                                                         _batch_id=pl.lit(batch_id))
    commit_batch(con, {source.name: rows, "_quarantine": quarantine, "_files": files})
    total = con.execute(f"SELECT count(*) FROM bronze.{source.name}").fetchone()[0]
    return IngestResult(source.name, batch_id, len(files), rows.height, len(quarantine), total)
