"""Faults and bad input a user meets: each probe here failed before its fix (issue 20)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dagster_project.instance import prepare
from tests.conftest import ROOT

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
