"""`make up` in a real terminal: it says where everything is, then about a line a minute, and one Ctrl-C
stops every process it started (the stream, the trickle, the dashboard, the MLflow UI, Dagster's
webserver, daemon and code servers), a line each."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.helpers import local_env

pytestmark = pytest.mark.e2e


def descendants(root: int) -> set[int]:
    """Every live process below root, or in root's session (a child that left the tree stays counted)."""
    parents, sessions = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":  # state; a zombie has stopped
            parents[int(entry)], sessions[int(entry)] = int(fields[1]), int(fields[3])
    found = {pid for pid, session in sessions.items() if session == root}
    grew = True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in found | {root}} - found
        found |= below
        grew = bool(below)
    return found - {root}


def naming(text: str) -> set[int]:
    """Live processes whose command line names text: Dagster's code servers carry their instance's
    folder, and one started while the stack stops belongs to neither its tree nor its session (cleaned up
    here whatever the outcome)."""
    found = set()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes() \
                    and Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.add(int(entry))
    return found


def read_until(fd: int, needle: bytes, timeout_s: float, seen: bytearray) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if select.select([fd], [], [], 1)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return needle in seen
        if needle in seen:
            return True
    return False


def test_one_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """In a real terminal: the addresses, then about a line a minute (no Dagster log lines, no warnings);
    one Ctrl-C prints a line per service stopped, every process is gone within 20 s, make exits 0 without a
    traceback, and no run starts after the Ctrl-C. Every service's output is in the logs folder named at start."""
    from dagster import DagsterInstance

    port, dashboard, mlflow = free_port(), free_port(), free_port()
    env = local_env(tmp_path, UI_PORT=str(port), DASHBOARD_PORT=str(dashboard), MLFLOW_PORT=str(mlflow), TERM="xterm")
    pid, terminal = pty.fork()  # the child leads a new session whose controlling terminal is this pty
    if pid == 0:
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "up"], env)
    seen = bytearray()
    try:
        assert read_until(terminal, f"Dagster UI ready at http://127.0.0.1:{port}".encode(), 300, seen), \
            seen.decode(errors="replace")[-3000:]
        ready = len(seen)
        read_until(terminal, b"\0", 65, seen)  # a minute of the sensors' runs
        minute = seen[ready:].decode(errors="replace").strip().splitlines()
        assert 1 <= len(minute) <= 3, minute  # the minute's summary (and a failed run's line, were there one)
        assert "runs finished in the last minute" in minute[-1]
        shown = seen.decode(errors="replace")
        assert f"Dashboard at http://127.0.0.1:{dashboard}" in shown
        assert f"MLflow UI at http://127.0.0.1:{mlflow}" in shown
        logs = ROOT / shown.split("Logs of every service: ")[1].split()[0]
        assert (logs / "dagster.log").stat().st_size > 0 and (logs / "stream.log").exists()
        for health in (f"http://127.0.0.1:{dashboard}/_stcore/health", f"http://127.0.0.1:{mlflow}/health"):
            with urllib.request.urlopen(health, timeout=10) as answer:
                assert answer.status == 200
        running = descendants(pid)
        assert len(running) >= 8, running  # stream, trickle, dashboard, MLflow (and its uvicorn), dagster dev,
        # its webserver and daemon
        stopping = len(seen)
        os.write(terminal, b"\x03")  # Ctrl-C, as typed
        began = time.time()
        while (left := descendants(pid) | {p for p in running if Path(f"/proc/{p}").exists()
                                           and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]}) \
                and time.time() - began < 20:
            read_until(terminal, b"\0", 0.5, seen)
        assert not left, f"still running 20 s after Ctrl-C: {sorted(left)}\n" + seen.decode(errors="replace")[-2000:]
        print(f"stopped {len(running)} processes in {time.time() - began:.1f} s")
        read_until(terminal, b"\0", 2, seen)
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 0
        print(seen.decode(errors="replace"))  # what the terminal showed, in the test's log
        after = seen[stopping:].decode(errors="replace")
        assert after.count("  stopped ") == 5, after
        for noise in ("Traceback", "KeyboardInterrupt", "make: ***", "DEBUG", "Warning"):
            assert noise not in seen.decode(errors="replace"), noise
        instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
        late = [r.dagster_run.run_id for r in instance.get_run_records(limit=500)
                if r.start_time and r.start_time > began]
        assert late == [], "runs started after the Ctrl-C"
    finally:
        for leftover in (descendants(pid) | {pid} if pid else set()) | naming(f"{env['DAGSTER_HOME']}/"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)
        if pid:
            os.waitpid(pid, 0)
        os.close(terminal)
