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
CHECK_ROWS = 10_000_000  # a batch's rows checked at a time (`key_ranges`)


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
    range into the scans of the history, and skips row groups ingested before the last check). A large
    batch is checked a range of its first key column at a time (`key_ranges`)."""
    rule = key_rule(table)
    con.execute("CREATE TABLE IF NOT EXISTS bronze._checked (table_name VARCHAR PRIMARY KEY, through TIMESTAMP)")
    checked = con.execute("SELECT through FROM bronze._checked WHERE table_name = ?", [table]).fetchone()
    through = checked[0] if checked else datetime.min  # no check yet: every row
    params = {"batch": batch_id, "through": through}
    batch = (f"(SELECT {rule.columns}, _ingested_at FROM bronze.{table} "
             "WHERE _batch_id = $batch OR _ingested_at > $through)")
    first = f'"{rule.key[0]}"'
    null_key = " OR ".join(f'"{c}" IS NULL' for c in rule.key)
    nulls, null_first, newest, low, high, rows = one_row(con.execute(
        f"SELECT count(*) FILTER ({null_key}), count(*) FILTER ({first} IS NULL), max(_ingested_at), "
        f"min({first}), max({first}), count(*) FROM {batch}", params))
    scope = rule.scope.format(table=table, columns=rule.columns)
    ranges = key_ranges(low, high, rows, CHECK_ROWS)

    def within(relation: str, bounds: tuple[int, int] | None) -> str:
        return f"(SELECT * FROM {relation} WHERE {first} BETWEEN {bounds[0]} AND {bounds[1]})" if bounds else relation

    keys = extra = orphans = 0
    for bounds in ranges:
        # The range's repeated keys, then those the batch has: a key's rows are all in its group or none, so
        # grouping first counts the same, and the join then holds the few repeated keys, not the batch's
        # (the medium scale's items: 14 s to 6 s).
        repeated, repeats = one_row(con.execute(
            f"SELECT count(*), coalesce(sum(n - 1), 0) FROM (SELECT {rule.columns}, count(*) AS n "
            f"FROM {within(scope, bounds)} GROUP BY {rule.columns} HAVING n > 1) SEMI JOIN {within(batch, bounds)} "
            f"USING ({rule.columns})", params))
        keys, extra = keys + repeated, extra + int(repeats)
        if rule.parent:
            orphans += one_row(con.execute(
                f"SELECT count(*) FROM {within(batch, bounds)} b ANTI JOIN {within('bronze.' + rule.parent, bounds)} "
                f"USING ({key_rule(rule.parent).columns})", params))[0]
    outcomes = [CheckOutcome("key_not_null", nulls == 0, True, {"null_keys": nulls}),
                CheckOutcome("key_unique", keys == 0, not rule.repeats_expected,
                             {"repeated_keys": keys, "extra_rows": extra})]
    if rule.parent:  # in ranges, a row without its first key column is in none: it belongs to no parent
        orphans += null_first if ranges != [None] else 0
        outcomes.append(CheckOutcome(f"references_{rule.parent}", orphans == 0, True, {"orphan_rows": orphans}))
    if newest is not None and newest > through:
        con.execute("INSERT OR REPLACE INTO bronze._checked VALUES (?, ?)", [table, newest])
    return outcomes


def key_ranges(low: object, high: object, rows: int, per_range: int) -> list[tuple[int, int] | None]:
    """Ranges of a batch's first key column (its `low`..`high`, `rows` rows) of about `per_range` rows each;
    [None] (the batch at once) when it is small or its first key is not a whole number. A check's hash tables
    then hold a range's keys: 550M items at once spilled 16 GB past DuckDB's memory limit, and kept on."""
    if rows <= per_range or not isinstance(low, int) or not isinstance(high, int):
        return [None]
    count = -(-rows // per_range)
    width = -(-(high - low + 1) // count)
    return [(start, min(high, start + width - 1)) for start in range(low, high + 1, width)]


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
