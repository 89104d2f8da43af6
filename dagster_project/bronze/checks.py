"""Key checks on the bronze tables: not-null and unique keys, and items that belong to an order.

Bronze keeps what arrived, so a source that repeats a record (the generators' duplicate dirt)
leaves repeated keys for silver to deduplicate: those checks warn. Keys the ingestion itself
guarantees (a database primary key taken by watermark, items read in the same snapshot as their
order) are errors: breaking them means a batch was taken twice or torn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from playground.catalog import SOURCES

from dagster_project.bronze.store import one_row

if TYPE_CHECKING:  # the checks' names are read when definitions load; duckdb only when they run
    import duckdb

# The rows whose keys should be unique: a lake file's latest version repeats every record of the
# earlier ones, so only the latest version of each file counts.
# A join with each file's latest version, not a window: a window over one file keeps all its rows in memory
# at once (1 GB of one repeated line ran out of a 2 GB memory limit); the join streams them.
LATEST_FILE_VERSIONS = ("(SELECT {columns} FROM bronze.{table} SEMI JOIN (SELECT _source_file, "
                        "max(_file_version) AS _file_version FROM bronze.{table} GROUP BY _source_file) "
                        "USING (_source_file, _file_version))")


@dataclass(frozen=True)
class KeyRule:
    table: str
    key: tuple[str, ...]
    repeats_expected: bool  # the source may repeat a record: duplicates warn
    scope: str = "bronze.{table}"
    parent: str | None = None  # every row's key prefix is a key of this table

    @property
    def check_names(self) -> list[str]:
        return ["key_not_null", "key_unique", *([f"references_{self.parent}"] if self.parent else [])]

    @property
    def columns(self) -> str:
        return ", ".join(f'"{c}"' for c in self.key)


def key_rule(table: str) -> KeyRule:
    """The key rule of a source of the catalog, read when asked (a source registered later has one too)."""
    source = SOURCES[table]
    return KeyRule(source.name, source.key, source.repeats_expected,
                   LATEST_FILE_VERSIONS if source.lands == "lake" else "bronze.{table}", source.parent)


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool  # a failure is an error, not a warning
    metadata: dict[str, int]


def key_checks(con: duckdb.DuckDBPyConnection, table: str, batch_id: str) -> list[CheckOutcome]:
    """The checks on the rows not checked yet (the batch's, and those a run killed before its checks
    committed), against everything already there: the cost follows new rows (DuckDB pushes their key
    range into the scans of the history, and skips row groups ingested before the last check)."""
    rule = key_rule(table)
    con.execute("CREATE TABLE IF NOT EXISTS bronze._checked (table_name VARCHAR PRIMARY KEY, through TIMESTAMP)")
    checked = con.execute("SELECT through FROM bronze._checked WHERE table_name = ?", [table]).fetchone()
    through = checked[0] if checked else datetime.min  # no check yet: every row
    params = {"batch": batch_id, "through": through}
    batch = (f"(SELECT {rule.columns}, _ingested_at FROM bronze.{table} "
             "WHERE _batch_id = $batch OR _ingested_at > $through)")
    null_key = " OR ".join(f'"{c}" IS NULL' for c in rule.key)
    nulls, newest = one_row(con.execute(f"SELECT count(*) FILTER ({null_key}), max(_ingested_at) FROM {batch}",
                                        params))
    scope = rule.scope.format(table=table, columns=rule.columns)
    keys, extra = one_row(con.execute(
        f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {scope} "
        f"SEMI JOIN (SELECT DISTINCT {rule.columns} FROM {batch}) USING ({rule.columns}) GROUP BY {rule.columns} "
        "HAVING n > 1)", params))
    outcomes = [CheckOutcome("key_not_null", nulls == 0, True, {"null_keys": nulls}),
                CheckOutcome("key_unique", keys == 0, not rule.repeats_expected,
                             {"repeated_keys": keys, "extra_rows": int(extra)})]
    if rule.parent:
        orphans = one_row(con.execute(f"SELECT count(*) FROM {batch} b ANTI JOIN bronze.{rule.parent} "
                                      f"USING ({key_rule(rule.parent).columns})", params))[0]
        outcomes.append(CheckOutcome(f"references_{rule.parent}", orphans == 0, True, {"orphan_rows": orphans}))
    if newest is not None and newest > through:
        con.execute("INSERT OR REPLACE INTO bronze._checked VALUES (?, ?)", [table, newest])
    return outcomes


def source_matched(counts: dict[str, int]) -> bool:
    """The orders reconciliation passes: the source's orders and items up to the watermark are bronze's
    (taken or quarantined), and no source item is above every order."""
    return all(counts[f"source_{t}"] == counts[f"bronze_{t}"] for t in ("orders", "items")) \
        and not counts["source_items_above_every_order"]


def check_description(name: str) -> str:
    if name.startswith("references_"):
        return f"Every row belongs to a row of bronze.{name.removeprefix('references_')} (read in one snapshot)."
    return {"key_not_null": "Every row has its key.",
            "key_unique": "No key appears twice (a lake file counts in its latest version)."}[name]
