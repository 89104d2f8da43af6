"""The `make up` stack under a steady stream: `python -m bench.soak [--minutes M]`.

After `make demo`'s data, `make up` (stream at 50 events/s, the trickle of products and orders,
`dagster dev` with every sensor and the refresh's declarative automation on) runs for a few minutes in a
temporary folder, the refresh's cron set to tick every minute so gold refreshes within the soak. Every
10 s the run queue is sampled from Dagster's instance. Baseline: the queue's bound when no sensor
requests a second run while one for its assets is in progress (one a sensor, plus the UI Materialize of
gold/daily_sales the soak sends halfway, timed end to end; the refresh's runs, which are bounded per
asset, counted as one and their most in flight at once printed apart). Every run's wait from queued to
started is printed per sensor, and every check that did not pass. Storage is sampled every minute: Dagster's
home, and the streaming parts (bytes, files), with the growth per hour of each half of the soak. With
`--keep-automatic-hours H` the history is pruned every 5 minutes instead of hourly, keeping automatic runs H
hours (a one-hour soak then shows where it levels off). At the end, one Ctrl-C (SIGINT to the stack's
process group) and the seconds until every process has gone.

    python -m bench.soak --minutes 70 --keep-automatic-hours 0.25
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
IN_PROGRESS = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
REFRESH = "refresh_silver_and_gold"  # the declarative automation sensor (dagster_project/sensors.py)
LOCATIONS = len(yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"])


@dataclass
class Soak:
    minutes: float
    ui_seconds: float = 0.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s since start, queued, running)
    refreshes: list[int] = field(default_factory=list)  # refresh runs queued or running, at each sample
    runs: Counter = field(default_factory=Counter)                      # (what, final status) -> runs
    failures: list[str] = field(default_factory=list)
    waits: dict[str, list[float]] = field(default_factory=dict)          # what -> [requested -> run start, s]
    materialize: tuple[float, float] | None = None  # the UI's Materialize of gold/daily_sales: (queued, end to end) s
    stop_seconds: float = 0.0
    bound: int = 0
    storage: list[tuple[float, int, int, int]] = field(default_factory=list)  # (min, home B, parts B, part files)
    failed_checks: Counter = field(default_factory=Counter)  # "asset check" -> evaluations that did not pass
    keep_automatic_hours: float | None = None
    growth: tuple[float, float, int] = (0.0, 0.0, 0)  # Dagster's home MB, the lake's streaming parts: (MB, files)

    @property
    def most_in_queue(self) -> int:
        """Runs in flight at once, the refresh's counted as one (it has a bound of its own, below)."""
        return max((q + r - max(0, n - 1) for (_, q, r), n in zip(self.samples, self.refreshes, strict=True)),
                   default=0)



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def _what(run) -> str:  # type: ignore[no-untyped-def]
    return run.tags.get("dagster/sensor_name") or run.tags.get("dagster/schedule_name") or run.job_name


def soak(minutes: float, keep_automatic_hours: float | None = None) -> Soak:
    from dagster import DagsterInstance

    from dagster_project.assembly import build_definitions
    from dagster_project.instance import prepare
    from dagster_project.solutions import local_environment
    from dagster_project.ui_ready import wait_for_ui

    result = Soak(minutes, keep_automatic_hours=keep_automatic_hours)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        port = free_port()
        pruning = {} if keep_automatic_hours is None else {
            "PLAYGROUND_KEEP_AUTOMATIC_HOURS": str(keep_automatic_hours), "PLAYGROUND_PRUNE_CRON": "*/5 * * * *"}
        env = local_environment(str(work), UI_PORT=str(port), PLAYGROUND_REFRESH_CRON="* * * * *", **pruning)
        prepare(work / "dagster_home")
        subprocess.run([sys.executable, "-m", "dagster_project.demo"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        defs = build_definitions("local")
        # One run a sensor or schedule, and the Materialize the soak clicks halfway.
        result.bound = len(list(defs.sensors)) + len(list(defs.schedules)) + 1
        log = (work / "up.log").open("wb")
        stack = subprocess.Popen(["make", "--no-print-directory", "up"], cwd=ROOT, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            began = time.time()
            wait_for_ui(f"http://127.0.0.1:{port}")
            result.ui_seconds = every_location_loaded(f"http://127.0.0.1:{port}", began)
            instance = DagsterInstance.from_config(str(work / "dagster_home"))
            soak_began = time.time()
            home_before, parts_before = folder_size(work / "dagster_home"), folder_size(work / "lake", "part-*")
            materialize_at, materialize_run = soak_began + minutes * 30, None
            check_keys, checks_seen, sampled = list(defs.resolve_asset_graph().asset_check_keys), {}, 0.0
            failed_checks(instance, check_keys, checks_seen, result.failed_checks)
            while time.time() - soak_began < minutes * 60:
                if time.time() - sampled >= 60:
                    sampled = time.time()
                    home, parts = folder_size(work / "dagster_home"), folder_size(work / "lake", "part-*")
                    result.storage.append(((sampled - soak_began) / 60, home[0], *parts))
                    failed_checks(instance, check_keys, checks_seen, result.failed_checks)
                if materialize_run is None and time.time() >= materialize_at:
                    materialize_run = launch_materialize(f"http://127.0.0.1:{port}", ["gold", "daily_sales"])
                runs = instance.get_runs(limit=500)
                statuses = Counter(r.status.value for r in runs)
                result.samples.append((time.time() - soak_began, statuses["QUEUED"],
                                       sum(statuses[s] for s in IN_PROGRESS[1:])))
                result.refreshes.append(sum(r.status.value in IN_PROGRESS and r.tags.get("dagster/sensor_name")
                                            == REFRESH for r in runs))
                time.sleep(10)
            hours = (time.time() - soak_began) / 3600
            home_after, parts_after = folder_size(work / "dagster_home"), folder_size(work / "lake", "part-*")
            result.growth = ((home_after[0] - home_before[0]) / hours / 1e6, (parts_after[0] - parts_before[0])
                             / hours / 1e6, round((parts_after[1] - parts_before[1]) / hours))
        finally:
            os.killpg(stack.pid, signal.SIGINT)  # Ctrl-C
            stopped = time.time()
            with contextlib.suppress(subprocess.TimeoutExpired):
                stack.wait(60)
            while time.time() - stopped < 60 and _group_alive(stack.pid):
                time.sleep(0.2)
            result.stop_seconds = time.time() - stopped
            with contextlib.suppress(ProcessLookupError):
                os.killpg(stack.pid, signal.SIGKILL)
        for record in instance.get_run_records(limit=1000):
            run = record.dagster_run
            if "dagster/sensor_name" not in run.tags and "dagster/schedule_name" not in run.tags:
                continue  # the demo's
            result.runs[(_what(run), run.status.value)] += 1
            if run.status.value == "FAILURE":
                failed = [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_failure]
                why = failed[-1].dagster_event.message if failed else "no failure event"
                when = "after the Ctrl-C" if record.end_time and record.end_time >= stopped else "during the soak"
                result.failures.append(f"{_what(run)} {run.run_id[:8]} {when}: {(why or '').splitlines()[0][:200]}")
            if record.start_time:
                result.waits.setdefault(_what(run), []).append(record.start_time - record.create_timestamp.timestamp())
        if materialize_run and (record := instance.get_run_record_by_id(materialize_run)) and record.end_time \
                and record.dagster_run.status.value == "SUCCESS":
            created = record.create_timestamp.timestamp()
            result.materialize = ((record.start_time or created) - created, record.end_time - created)
    return result


def failed_checks(instance, keys: list, seen: dict, found: Counter) -> None:  # type: ignore[no-untyped-def]
    """Counts into `found` the executions of each check newer than those in `seen` that did not pass, then
    marks them seen (read as they come: pruning deletes old runs). The first call only marks."""
    first = not seen
    for key in keys:
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=200)
        for execution in history:
            if not first and execution.id > seen.get(key, 0) and execution.status.value == "FAILED":
                found[f"{key.asset_key.to_user_string()} {key.name}"] += 1
        seen[key] = max([seen.get(key, 0), *(execution.id for execution in history)])


def folder_size(folder: Path, pattern: str = "*") -> tuple[int, int]:
    """Bytes and files under folder whose name matches pattern."""
    sizes = []
    for path in folder.rglob(pattern):
        with contextlib.suppress(FileNotFoundError):  # removed since listed (SQLite's -shm, a pruned run)
            if path.is_file():
                sizes.append(path.stat().st_size)
    return sum(sizes), len(sizes)


def launch_materialize(url: str, path: list[str]) -> str | None:
    """What the UI's Materialize button sends (GraphQL launchPipelineExecution) for one asset of the playground."""
    query = """mutation Launch($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
    params = {"selector": {"repositoryLocationName": "playground", "repositoryName": "__repository__",
                           "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": path}],
                           "assetCheckSelection": []},
              "mode": "default", "executionMetadata": {"tags": [{"key": "soak", "value": "materialize"}]}}
    body = json.dumps({"query": query, "variables": {"params": params}}).encode()
    request = urllib.request.Request(f"{url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)["data"]["launchPipelineExecution"]
    return answer["run"]["runId"] if answer["__typename"] == "LaunchRunSuccess" else None


def every_location_loaded(url: str, began: float, timeout_s: float = 300) -> float:
    """Seconds from `began` until the UI lists every code location of workspace.yaml as loaded (nan: never)."""
    query = json.dumps({"query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"})
    request = urllib.request.Request(f"{url}/graphql", query.encode(), {"Content-Type": "application/json"})
    while time.time() - began < timeout_s:
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
            if len(entries) == LOCATIONS and all(e["loadStatus"] == "LOADED" for e in entries):
                return time.time() - began
        time.sleep(0.5)
    return float("nan")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def report(result: Soak) -> None:
    print(f"# make up soak, {result.minutes:g} min, stream 50 events/s, refresh every minute", flush=True)
    print(f"{'UI answering after make up':<34} {result.ui_seconds:6.1f} s (every code location loaded; goal < 30 s)")
    queue = " ".join(f"{q}+{r}" for _, q, r in result.samples)
    print(f"{'queue over time (queued+running)':<34} {queue}")
    print(f"{'most runs queued or running':<34} {result.most_in_queue} runs  bound {result.bound} runs  "
          f"ratio {result.most_in_queue / result.bound:.2f} (the refresh's runs counted as one)")
    # The refresh requests an asset only while no run of it, or of what it reads, is in flight: a second
    # run may start beside one that goes, for assets whose inputs that one does not make.
    print(f"{'refresh runs in flight at once':<34} at most {max(result.refreshes, default=0)}  "
          f"(one per asset at most)")
    for (what, status), count in sorted(result.runs.items()):
        print(f"  {what:<32} {status:<8} {count}")
    every = sorted(w for waits in result.waits.values() for w in waits)
    for what, waits in sorted(result.waits.items()) + ([("every run", every)] if every else []):
        waits = sorted(waits)
        print(f"  queued -> started  {what:<30} median {waits[len(waits) // 2]:5.1f} s  max {waits[-1]:5.1f} s  "
              f"({len(waits)} runs)")
    if result.materialize:
        print(f"{'UI Materialize gold/daily_sales':<34} queued {result.materialize[0]:.1f} s, "
              f"end to end {result.materialize[1]:.1f} s (goal <= 20 s)")
    else:
        print(f"{'UI Materialize gold/daily_sales':<34} did not succeed within the soak")
    for failure in result.failures:
        print(f"  failed: {failure}")
    home, parts_mb, parts = result.growth
    print(f"{'growth per hour, extrapolated':<34} Dagster's home {home:.0f} MB, streaming parts {parts_mb:.1f} MB "
          f"in {parts:,} files")
    keeping = "project defaults" if result.keep_automatic_hours is None else \
        f"automatic runs kept {result.keep_automatic_hours:g} h, pruned every 5 min"
    print(f"{'storage over time':<34} ({keeping})")
    for minute, home_b, parts_b, files in result.storage[::10] + result.storage[-1:]:
        print(f"  {minute:5.0f} min  Dagster's home {home_b / 1e6:7.1f} MB  streaming parts {parts_b / 1e6:6.1f} MB "
              f"in {files:,} files")
    if len(result.storage) >= 4:
        half = len(result.storage) // 2
        for name, (a, b) in (("first half", (result.storage[0], result.storage[half])),
                             ("second half", (result.storage[half], result.storage[-1]))):
            hours = (b[0] - a[0]) / 60
            print(f"  growth per hour, {name:<11} Dagster's home {(b[1] - a[1]) / 1e6 / hours:7.1f} MB, "
                  f"part files {(b[3] - a[3]) / hours:+,.0f}")
    print(f"{'checks that did not pass':<34} {sum(result.failed_checks.values())}")
    for check, count in sorted(result.failed_checks.items()):
        print(f"  {check}: {count}")
    print(f"{'stopped after one Ctrl-C':<34} {result.stop_seconds:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--keep-automatic-hours", type=float, default=None,
                        help="keep automatic runs this long and prune every 5 minutes (default: the project's)")
    arguments = parser.parse_args()
    report(soak(arguments.minutes, arguments.keep_automatic_hours))
