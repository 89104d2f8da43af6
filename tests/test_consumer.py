"""The long-running streaming consumer as a user runs it: `dagster job execute -j streaming_consumer`
takes what the bus holds and what arrives while it runs, its batches summed into materializations of
every streaming asset every few seconds; Ctrl-C stops it without an error, with the lake's parts
holding every committed row."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from playground.io.bus.embedded import EmbeddedLog

from dagster_project.instance import prepare
from dagster_project.streaming.scenarios import OUTPUT_NAMES
from tests.conftest import ROOT
from tests.helpers import dataset_args, local_env, playground

pytestmark = pytest.mark.e2e
RAW = AssetKey(["streaming", "raw_pageviews"])


def batches(home: Path) -> list[dict]:
    """The metadata of each materialization of streaming/raw_pageviews so far."""
    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.fetch_materializations(RAW, limit=1000).records
        return [{k: v.value for k, v in r.asset_materialization.metadata.items()} for r in records
                if r.asset_materialization]


def on_the_bus(root: Path) -> int:
    """Events the embedded log holds, pageviews and stars."""
    log = EmbeddedLog(str(root / "events.db"), readonly=True)
    try:
        return sum(sum(log.end_sequences(topic).values()) for topic in ("pageviews", "stars"))
    finally:
        log.close()


def wait_for(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, f"no {what} within {seconds:.0f} s"
        time.sleep(1)


def test_the_consumer_takes_events_as_they_arrive_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = local_env(tmp_path)
    home = prepare(env["DAGSTER_HOME"])
    playground("generate", "pageviews", "--count", "3000", "--seed", "1", *dataset_args(tmp_path))
    first = on_the_bus(tmp_path)
    log = tmp_path / "consumer.log"
    consumer = subprocess.Popen([Path(sys.executable).parent / "dagster", "job", "execute", "-m",
                                 "dagster_project.definitions", "-j", "streaming_consumer"],
                                env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group, as a terminal's job
    try:
        wait_for(lambda: sum(b["events"] for b in batches(home)) == first, 180, "batch of the first events")
        playground("generate", "pageviews", "--count", "500", "--seed", "2", *dataset_args(tmp_path))
        wait_for(lambda: sum(b["events"] for b in batches(home)) == on_the_bus(tmp_path), 60,
                 "batch of the new events")
        os.killpg(consumer.pid, signal.SIGINT)  # Ctrl-C: to every process of the job, as a terminal sends it
        consumer.wait(60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(consumer.pid, signal.SIGKILL)
    output = log.read_text()
    assert consumer.returncode == 0 and "RUN_SUCCESS" in output, output[-3000:]
    assert "STEP_FAILURE" not in output and "InterruptedError" not in output, output[-3000:]

    seen = batches(home)  # newest first
    # Batches are reported together, every few seconds and once more at the stop: each batch in one report.
    assert len(seen) >= 2 and seen[0]["batch"] == sum(b["batches"] for b in seen)
    assert [b["batch"] for b in seen] == sorted((b["batch"] for b in seen), reverse=True)
    assert {key for key in seen[0]} >= {"rows_new", "rows_total", "events", "late", "dropped", "offsets", "batches"}
    with DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "streaming_consumer" and run.status == DagsterRunStatus.SUCCESS
        messages = [entry.user_message for entry in instance.all_logs(run.run_id)]
        assert any(m.startswith("consumer stopped") for m in messages), messages[-10:]
        for name in OUTPUT_NAMES:  # every output materialized by every report
            assert len(instance.fetch_materializations(AssetKey(["streaming", name]), limit=1000).records) \
                == len(seen)
    with duckdb.connect(env["PLAYGROUND_STREAMING"], read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM streaming.raw_pageviews").fetchone()[0]
        parts = con.execute(f"SELECT count(*) FROM '{tmp_path}/lake/bronze/streaming/raw_pageviews/*.parquet'"
                            ).fetchone()[0]
        offsets = con.execute("SELECT sum(next_sequence) FROM streaming._offsets").fetchone()[0]
    assert rows == sum(b["rows_new"] for b in seen) == seen[0]["rows_total"] and parts == rows
    assert offsets == on_the_bus(tmp_path) > first
    assert json.loads(json.dumps(seen[0]["offsets"]))  # the offsets a batch reached, shown in the UI


def test_the_consumer_ends_itself_after_its_run_hours_so_its_history_can_be_pruned(tmp_path: Path) -> None:
    """Issue 39 (storage): a run's events are kept while it runs; the keeper sensor starts the next run."""
    from dagster_project.solutions import LOCAL
    from dagster_project.streaming.assets import streaming_consumer
    from tests.helpers import local_resources

    playground("generate", "pageviews", "--count", "300", "--seed", "1", *dataset_args(tmp_path))
    began, instance = time.monotonic(), DagsterInstance.ephemeral()
    result = streaming_consumer(LOCAL).execute_in_process(
        resources=local_resources(tmp_path), instance=instance,
        run_config={"ops": {"consume_events": {"config": {"run_hours": 3 / 3600}}}})
    assert result.success and result.output_for_node("consume_events", "batches") >= 1
    assert 3 <= time.monotonic() - began < 60
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(m.startswith("consumer stopped (its run_hours passed)") for m in messages), messages[-5:]
