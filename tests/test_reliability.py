"""Faults and bad input a user meets: each probe here failed before its fix (issue 20)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from dagster_project.bronze.files import FILE_SOURCES, ingest_files
from dagster_project.instance import prepare
from generators.run import generate_users
from generators.schema import USERS_FILE, VIP_FILE
from generators.sinks.bus import embedded
from generators.sinks.bus.embedded import EmbeddedLog
from generators.sinks.lake import Lake
from tests.conftest import ROOT
from tests.helpers import manifest

POOL_HOLDER = ROOT / "tests/fixtures/dagster/pool_holder.py"
FIRST_USE = """
import sys, time
from dagster import DagsterInstance
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
instance = DagsterInstance.get()
instance.get_runs(limit=1)
list(instance.all_instigator_state())
"""


def test_runs_starting_together_on_a_new_home_leave_it_usable(tmp_path: Path) -> None:
    """Six processes using a just-prepared DAGSTER_HOME at the same instant (without `prepare`, they create
    its storage together and stamp two schema versions: every later command fails)."""
    home = prepare(tmp_path / "home")
    env = {"DAGSTER_HOME": str(home), "PATH": "/usr/bin:/bin"}
    start = time.time() + 8  # after every interpreter has imported Dagster
    racers = [subprocess.Popen([sys.executable, "-c", FIRST_USE, str(start)], cwd=ROOT, env=env,
                               stderr=subprocess.PIPE, text=True) for _ in range(6)]
    for racer in racers:
        assert racer.wait(120) == 0, racer.stderr.read()[-2000:] if racer.stderr else ""
    after = subprocess.run([sys.executable, "-c", FIRST_USE, "0"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert after.returncode == 0, after.stderr[-2000:]
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster_instance.yaml").read_text()


def test_two_generators_on_one_lake_leave_one_whole_run(tmp_path: Path) -> None:
    """Two `playground generate users` at once on one lake (they shared one temporary name: the run that
    succeeded left the other's users beside its own VIP list and manifest, and the other failed)."""
    lake = tmp_path / "lake"
    playground_bin = Path(sys.executable).parent / "playground"
    runs = [subprocess.Popen([str(playground_bin), "generate", "users", "--count", "300000", "--seed", str(seed),
                              "--lake", str(lake), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    for run in runs:
        assert run.wait(300) == 0, run.stderr.read() if run.stderr else ""
    seed = manifest(tmp_path, "users")["seed"]
    assert manifest(tmp_path, "vip_users")["seed"] == seed
    reference = Lake(str(tmp_path / f"seed{seed}"))
    generate_users(reference, seed, 300_000, 100)
    for file in (USERS_FILE, VIP_FILE):
        assert (lake / file).read_bytes() == reference.read_bytes(file), file
    assert not list((lake / "landing").rglob("*.inprogress"))


def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    records = b'{"id": 1, "name": "first"}\n{"id": 2, "name": "second"}\n'
    lake.write_bytes("landing/products/bom.json", "\N{BYTE ORDER MARK}".encode() + records)
    con = duckdb.connect()
    result = ingest_files(con, lake, FILE_SOURCES["products"])
    assert (result.new_rows, result.quarantined) == (2, 0)
    assert con.execute("SELECT id, name FROM bronze.products ORDER BY id").fetchall() == [(1, "first"), (2, "second")]


def test_a_killed_run_is_failed_by_monitoring_and_its_pool_moves_on(tmp_path: Path) -> None:
    """kill -9 of a run holding a DuckDB file's pool (it stayed STARTED holding the slot, and every later
    run of that pool waited for ever)."""
    home = prepare(tmp_path / "home")
    env = {**os.environ, "DAGSTER_HOME": str(home), "HOLD_S": "600"}
    bin_dir = Path(sys.executable).parent
    materialize = [str(bin_dir / "dagster"), "asset", "materialize", "-f", str(POOL_HOLDER), "--select",
                   "holds_the_pool"]
    doomed = subprocess.Popen(materialize, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    instance = DagsterInstance.from_config(str(home))

    def slots_claimed() -> int:
        return len(instance.event_log_storage.get_concurrency_info("duckdb_warehouse").claimed_slots)

    wait_until(lambda: slots_claimed() == 1, 120, "the run to claim the pool's slot")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait()
    run = instance.get_runs(limit=1)[0]
    assert run.status == DagsterRunStatus.STARTED  # nobody is left to say otherwise
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-f", str(POOL_HOLDER)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE, 120,
                   "monitoring to fail the killed run")
        wait_until(lambda: slots_claimed() == 0, 60, "the killed run's slot to be freed")
        after = subprocess.run(materialize, cwd=tmp_path, env={**env, "HOLD_S": "0"}, capture_output=True,
                               text=True, timeout=120)
        assert after.returncode == 0 and "RUN_SUCCESS" in after.stderr, after.stderr[-2000:]
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(60)
    failure = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
    assert "is gone: it was killed or crashed" in failure[0].event_log_entry.message


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_each_partition_s_enqueued_times_follow_its_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A producer that read the clock before another committed (it waited for the write lock) appends after
    it: its events are stamped no earlier than the partition's last (they were stamped before the lock)."""
    path = str(tmp_path / "events.db")
    first, second = EmbeddedLog(path), EmbeddedLog(path)
    first.send("pageviews", [0, 1], [b"a", b"b"])
    now = time.time()
    monkeypatch.setattr(embedded.time, "time", lambda: now - 10)  # its clock read 10 s before the append
    second.send("pageviews", [0, 1], [b"c", b"d"])
    for partition in (0, 1):
        stamps = [record.enqueued_time for record in first.read("pageviews", partition, 0)]
        assert len(stamps) == 2 and stamps == sorted(stamps), stamps
    first.close()
    second.close()
