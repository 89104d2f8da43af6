"""`make up`: the stream, the trickle, the dashboard, the MLflow UI and `dagster dev`, with a quiet terminal.

The terminal shows where each thing is, a line a minute of what the runs did (and a line at once for a run
that failed), and on Ctrl-C one line per service stopped; then `make up` ends with status 0. Everything the
services print goes to a log file of its own in a folder named at start (.dagster/logs/up-<time>/; the
newest ten folders are kept).

Ctrl-C reaches this process only: it takes the terminal's foreground for its own process group and starts
each service in a session of its own, then stops them in order — Dagster first, after marking the instance
as stopping so that a run its daemon launches meanwhile is canceled rather than started (run_launcher.py),
and canceling a run launched just before whose process has not begun it — and gives the terminal back.
(Were the services in the foreground, each would print its own traceback, and make its `*** Interrupt`.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from dagster_project.run_launcher import STOPPING
from dagster_project.ui_ready import ready_line, wait_for_ui

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEPT_LOGS = 10
STOP_WAIT_S = 15.0
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


@dataclass
class Service:
    name: str  # as the terminal says it
    log: str  # its file in the logs folder
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    def start(self, logs: Path) -> None:
        with open(logs / self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env={**os.environ, **self.env},
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def stop(self) -> float:
        """Seconds until its process group ended (after stop_signal, then SIGKILL past STOP_WAIT_S)."""
        began = time.time()
        if self.process is None or self.process.poll() is not None:
            return 0.0
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        try:
            self.process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # what it started and left behind in its group
            os.killpg(self.process.pid, signal.SIGKILL)
        return time.time() - began


def services(args: argparse.Namespace, ui: str, dashboard: str, mlflow: str) -> list[Service]:
    """In the order they start; they stop in the reverse order, Dagster first."""
    store = Path(args.mlflow_store)
    streamlit = ROOT / "dashboard" / ".venv" / "bin" / "streamlit"
    mlflow_bin = ROOT / "ml" / ".venv" / "bin" / "mlflow"
    return [
        Service("the stream (50 events/s)", "stream.log", [str(BIN / "playground"), "stream", "--rate", "50"]),
        Service("the trickle (0.2 products/s, 20 orders/s)", "trickle.log",
                [str(BIN / "playground"), "trickle", "--products-per-s", "0.2", "--orders-per-s", "20"]),
        Service("the dashboard", "dashboard.log", [
            str(streamlit), "run", "dashboard/app.py", "--server.headless", "true", "--server.address", args.host,
            "--server.port", str(args.dashboard_port), "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]),
        # No telemetry, and no job runner (MLflow's GenAI jobs: seven worker processes that outlive a stopped server).
        Service("the MLflow UI", "mlflow.log", [
            str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{store}/mlflow.db",
            "--default-artifact-root", str(store / "artifacts"), "--host", args.host, "--port", str(args.mlflow_port)],
            env={"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}),
        Service("Dagster (webserver, daemon, code servers)", "dagster.log", [
            str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.ui_port)],
            env={"PLAYGROUND_DASHBOARD_URL": dashboard, "PLAYGROUND_MLFLOW_URL": mlflow}, stop_signal=signal.SIGINT),
    ]


def logs_folder(home: Path) -> Path:
    """A new folder for this `make up`'s logs; the oldest beyond KEPT_LOGS go."""
    parent = home / "logs"
    folder = parent / f"up-{datetime.now():%Y%m%d-%H%M%S}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(parent.glob("up-*"))[:-KEPT_LOGS]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def code_servers(home: Path) -> list[int]:
    """Code servers Dagster started for this instance that outlive it (they wait 45 s for a heartbeat)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "--instance-ref" in command and f"{home}/" in command:
            found.append(process.info["pid"])
    return found


class Progress:
    """What the runs did, from the instance: a line a minute, and a line at once for each failure."""

    def __init__(self, home: Path) -> None:
        from dagster import DagsterInstance

        self.instance = DagsterInstance.from_config(str(home))
        self.seen: set[str] = {r.run_id for r in self.instance.get_runs(limit=1000)}
        self.minute: Counter = Counter()

    def poll(self, say: Callable[[str], None]) -> None:
        for run in self.instance.get_runs(limit=200):
            if run.run_id in self.seen or run.status.value not in FINISHED:
                continue
            self.seen.add(run.run_id)
            self.minute[run.status.value] += 1
            if run.status.value == "FAILURE":
                what = run.tags.get("dagster/sensor_name") or run.job_name
                say(f"run failed: {what} {run.run_id[:8]} (the UI's Runs page says why)")

    def cancel_launched(self) -> list[str]:
        """Runs launched whose process has not begun (STARTING): canceled, so none begins after the Ctrl-C (a
        run's process checks its status before it starts: "Not starting execution since the run was canceled")."""
        from dagster import DagsterRunStatus, RunsFilter

        launched = self.instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTING]), limit=100)
        for run in launched:
            self.instance.report_run_canceled(run, message="Not started: `make up` is stopping (Ctrl-C).")
        return [run.run_id for run in launched]

    def summary(self) -> str:
        from dagster import DagsterRunStatus, RunsFilter

        waiting = Counter(r.status.value for r in self.instance.get_runs(
            filters=RunsFilter(statuses=[DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED]), limit=100))
        done = ", ".join(f"{n} {status.lower()}" for status, n in sorted(self.minute.items())) or "none"
        self.minute.clear()
        return f"runs finished in the last minute: {done}; queued {waiting['QUEUED']}, running {waiting['STARTED']}"


def say(text: str) -> None:
    print(f"{datetime.now():%H:%M:%S}  {text}", flush=True)


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """This process's own group in the terminal's foreground while it runs (Ctrl-C reaches it alone)."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
        original = os.tcgetpgrp(terminal)
    except OSError:  # no terminal (a pipe, CI): signals come as sent
        yield
        return
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not set the foreground
    try:
        if os.getpgrp() != os.getpid():
            os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, original)
        signal.signal(signal.SIGTTOU, previous)
        os.close(terminal)


class Stop(Exception):
    def __init__(self, status: int = 0) -> None:
        self.status = status  # make up's exit status once everything stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ui-port", type=int, default=3000)
    parser.add_argument("--dashboard-port", type=int, default=8501)
    parser.add_argument("--mlflow-port", type=int, default=5000)
    parser.add_argument("--mlflow-store", default=str(ROOT / "data" / "mlflow"))
    parser.add_argument("--dashboard-only", action="store_true", help="the dashboard alone, in the foreground")
    args = parser.parse_args(argv)
    home = Path(os.environ["DAGSTER_HOME"])
    ui, dashboard, mlflow = (f"http://{args.host}:{port}" for port in (args.ui_port, args.dashboard_port,
                                                                          args.mlflow_port))
    running = services(args, ui, dashboard, mlflow)
    if args.dashboard_only:  # `make dashboard`: on the data make demo left
        print(f"Dashboard at {dashboard} (Ctrl-C stops it)", flush=True)
        [board] = [s for s in running if s.log == "dashboard.log"]
        os.chdir(ROOT)
        os.execv(board.command[0], board.command)
    (home / STOPPING).unlink(missing_ok=True)
    Path(args.mlflow_store).mkdir(parents=True, exist_ok=True)
    logs = logs_folder(home)
    progress: Progress | None = None

    def stop(*_: object) -> None:
        raise Stop(0)

    with foreground():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            print(f"Logs of every service: {logs.relative_to(ROOT) if logs.is_relative_to(ROOT) else logs}/",
                  flush=True)
            for service in running:
                service.start(logs)
            print(f"Dashboard at {dashboard}\nMLflow UI at {mlflow}", flush=True)
            seconds = wait_for_ui(ui)
            if seconds is None:
                say(f"the Dagster UI did not answer at {ui}: see {logs / 'dagster.log'}")
                raise Stop(1)
            print(ready_line(ui, seconds), flush=True)
            progress = Progress(home)
            next_summary = time.time() + 60
            while True:
                time.sleep(5)
                for service in running:
                    if service.process and service.process.poll() is not None and service.process.returncode != 0:
                        say(f"{service.name} ended (exit {service.process.returncode}): see {logs / service.log}")
                        service.process = None
                progress.poll(say)
                if time.time() >= next_summary:
                    say(progress.summary())
                    next_summary += 60
        except Stop as stopping:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the stopping short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("\nStopping:", flush=True)
            (home / STOPPING).touch()  # a run the daemon launches from now on is canceled, not started
            (progress or Progress(home)).cancel_launched()  # and so is one launched just before
            for service in reversed(running):
                seconds = service.stop()
                for pid in code_servers(home) if service.name.startswith("Dagster") else []:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                print(f"  stopped {service.name} in {seconds:.1f} s", flush=True)
            (home / STOPPING).unlink(missing_ok=True)
            return stopping.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
