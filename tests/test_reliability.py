"""Faults and bad input a user meets: each probe here failed before its fix (issue 20)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb

from dagster_project.bronze.files import FILE_SOURCES, ingest_files
from dagster_project.instance import prepare
from generators.run import generate_users
from generators.schema import USERS_FILE, VIP_FILE
from generators.sinks.lake import Lake
from tests.conftest import ROOT
from tests.helpers import manifest

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
