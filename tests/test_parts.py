"""The streaming outputs' parts merged hourly: one file an output an hour instead of 360, and a reader never
sees a row twice or misses one, also when a compaction is stopped halfway."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_project.streaming.engine import process_batch
from dagster_project.streaming.parts import compact_parts, parts_to_read
from dagster_project.streaming.scenarios import OUTPUTS
from tests.conftest import ROOT
from tests.test_streaming import BASE, Stream, pageview

T0 = datetime(2030, 1, 1, 10, 0)
RAW = "bronze/streaming/raw_pageviews"
ALERTS = "silver/streaming/alert_high_latency"


def batches(stream: Stream, minutes: list[int], start: int = 0) -> None:
    """One slow pageview a batch, each batch processed `minutes` after T0 and written as a part at once."""
    for n, minute in enumerate(minutes, start=start):
        stream.send("pageviews", 0, pageview(f"e{n}", 0, 0, latency=3000), BASE + n)
        process_batch(stream.con, stream.log, stream.lake, stream.time, processed_at=T0 + timedelta(minutes=minute))


def read(lake: Path, folder: str) -> list[str]:
    """The event ids in an output's parts, read by the readers' rule."""
    names = parts_to_read(os.listdir(lake / folder))
    return sorted(row[0] for name in names for row in duckdb.sql(
        f"SELECT event_id FROM '{lake / folder / name}'").fetchall())


def names(lake: Path, folder: str) -> list[str]:
    return sorted(name for name in os.listdir(lake / folder) if name.startswith("part-"))


@pytest.mark.unit
def test_readers_leave_out_the_parts_a_merged_part_holds() -> None:
    found = ["part-00000001-00000004.parquet", "part-00000002.parquet", "part-00000004.parquet",
             "part-00000005.parquet", "notes.txt"]
    assert parts_to_read(found) == ["part-00000001-00000004.parquet", "part-00000005.parquet"]
    assert parts_to_read(["part-00000001.parquet", "part-00000002.parquet"]) == [
        "part-00000001.parquet", "part-00000002.parquet"]


@pytest.mark.unit
def test_an_outputs_parts_are_merged_once_its_oldest_unmerged_rows_are_an_hour_old(tmp_path: Path) -> None:
    stream, lake = Stream(tmp_path), tmp_path / "lake"
    batches(stream, [0, 20, 40])
    assert names(lake, RAW) == [f"part-0000000{n}.parquet" for n in (1, 2, 3)]
    assert compact_parts(stream.con, stream.lake, now=T0 + timedelta(minutes=59)) == {}  # not an hour yet
    merged = compact_parts(stream.con, stream.lake, now=T0 + timedelta(minutes=61))
    assert merged["raw_pageviews"] == 3 and merged["alert_high_latency"] == 3
    assert names(lake, RAW) == ["part-00000001-00000003.parquet"]
    assert read(lake, RAW) == read(lake, ALERTS) == ["e0", "e1", "e2"]
    assert set(merged) <= {o.name for o in OUTPUTS}

    batches(stream, [70, 80], start=3)  # the next hour's parts are left until their own rows are an hour old
    assert compact_parts(stream.con, stream.lake, now=T0 + timedelta(minutes=125)) == {}
    assert names(lake, RAW) == ["part-00000001-00000003.parquet", "part-00000004.parquet", "part-00000005.parquet"]
    compact_parts(stream.con, stream.lake, now=T0 + timedelta(minutes=131))
    assert names(lake, RAW) == ["part-00000001-00000003.parquet", "part-00000004-00000005.parquet"]
    assert read(lake, RAW) == ["e0", "e1", "e2", "e3", "e4"]


@pytest.mark.unit
def test_a_compaction_stopped_halfway_shows_no_row_twice_and_the_next_one_finishes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stream, lake = Stream(tmp_path), tmp_path / "lake"
    batches(stream, [0, 10, 20])
    before = read(lake, RAW)
    removals = []

    def stopped_after_one(relative: str) -> None:  # Ctrl-C after the merged part and one removal
        if removals:
            raise KeyboardInterrupt
        removals.append(relative)
        os.remove(lake / relative)

    monkeypatch.setattr(stream.lake, "remove", stopped_after_one)
    with pytest.raises(KeyboardInterrupt):
        compact_parts(stream.con, stream.lake, now=T0 + timedelta(hours=2))
    monkeypatch.undo()
    left = names(lake, RAW)
    assert "part-00000001-00000003.parquet" in left and len(left) == 3  # the merged part, two it holds
    assert read(lake, RAW) == before == ["e0", "e1", "e2"]
    compact_parts(stream.con, stream.lake, now=T0 + timedelta(hours=2))
    assert names(lake, RAW) == ["part-00000001-00000003.parquet"] and read(lake, RAW) == before


@pytest.mark.integration
def test_the_dashboard_reads_the_parts_by_the_same_rule(tmp_path: Path) -> None:
    """dashboard/lake.py keeps the rule apart (the dashboard has its own environment): on a folder a stopped
    compaction left, it lists the files parts_to_read does."""
    stream, lake = Stream(tmp_path), tmp_path / "lake"
    batches(stream, [0, 10, 20])
    compact_parts(stream.con, stream.lake, now=T0 + timedelta(hours=2))
    batches(stream, [130], start=3)
    for name in ("part-00000002.parquet", "part-00000003.parquet"):  # as a stopped compaction leaves them
        (lake / RAW / name).write_bytes(b"covered")
    script = "import json, lake; print(json.dumps(lake.streaming_files('raw_pageviews')))"
    listed = subprocess.run([str(ROOT / "dashboard/.venv/bin/python"), "-c", script], cwd=ROOT / "dashboard",
                            env={**os.environ, "PLAYGROUND_LAKE": str(lake)}, capture_output=True, text=True,
                            check=True).stdout.splitlines()[-1]
    assert sorted(Path(p).name for p in json.loads(listed)) == parts_to_read(os.listdir(lake / RAW)) == [
        "part-00000001-00000003.parquet", "part-00000004.parquet"]
