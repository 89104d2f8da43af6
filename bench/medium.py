"""The whole local playground at the medium scale: `python -m bench.medium` (several minutes).

Every asset of the local playground's main job, as `make demo` runs it but at the medium scale (1M
users, 10k products, 10M orders with ~55M items, 1M pageviews): landing, bronze with its checks,
silver and gold in dbt on DuckDB, the streaming scenarios. One fresh process in a temporary folder;
prints its seconds and the peak RSS of the largest process (the job's, or dbt's beside it), then each
step's seconds and the peak RSS, while it ran, of the job's process and of its largest child (dbt, the ML
scripts through Pipes): the executor runs one step at a time, and a thread samples the processes every 0.1 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
from playground.catalog import LANDING_OPS


@dataclass(frozen=True)
class StepUse:
    step: str
    seconds: float
    job_mib: int    # the job's process, at most, while the step ran
    child_mib: int  # its largest child process (dbt, an ML script), at most


def sample_memory(stop: threading.Event, samples: list[tuple[float, int, int]]) -> None:
    """(time, the process's RSS, its largest descendant's RSS) every 0.1 s until `stop`."""
    me = psutil.Process()
    while not stop.wait(0.1):
        children = 0
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                children = max(children, child.memory_info().rss)
        samples.append((time.time(), me.memory_info().rss, children))


def step_uses(instance, run_id: str, samples: list[tuple[float, int, int]]) -> list[StepUse]:  # type: ignore[no-untyped-def]
    from dagster import DagsterEventType

    began: dict[str, float] = {}
    uses = []
    for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}):
        step = entry.step_key or "?"
        if entry.dagster_event_type == DagsterEventType.STEP_START:
            began[step] = entry.timestamp
            continue
        during = [s for s in samples if began[step] <= s[0] <= entry.timestamp] or [(0.0, 0, 0)]
        uses.append(StepUse(step, entry.timestamp - began[step], max(s[1] for s in during) >> 20,
                            max(s[2] for s in during) >> 20))
    return uses


def run_job(scale: str) -> str:
    """The local main job in this process, at `scale`: its seconds and each step's use, as JSON."""
    from dagster import DagsterInstance

    from dagster_project.assembly import build_definitions

    job = build_definitions("local").resolve_implicit_global_asset_job_def()
    instance = DagsterInstance.get()
    samples: list[tuple[float, int, int]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(stop, samples), daemon=True)
    sampler.start()
    began = time.perf_counter()
    result = job.execute_in_process(instance=instance, raise_on_error=True,
                                    run_config={"ops": {op: {"config": {"scale": scale}} for op in LANDING_OPS}})
    seconds = time.perf_counter() - began
    stop.set()
    sampler.join()
    assert result.success
    steps = [asdict(use) for use in step_uses(instance, result.run_id, samples)]
    return json.dumps({"seconds": seconds, "steps": steps})


def in_fresh_playground(command: list[str]) -> str:
    """`command` run in a new process on a fresh local playground in a temporary folder (its stores and its
    Dagster home there): its standard output; its failure ends the benchmark with its error."""
    from dagster_project.instance import prepare
    from dagster_project.solutions import local_environment

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work / "dagster_home")
        result = subprocess.run(command, env=local_environment(str(work)), capture_output=True, text=True)
        if result.returncode:
            sys.exit(result.stderr[-3000:])
        return result.stdout


def scale_benchmark(doc: str | None, run: Callable[[str], object], report: Callable[[str], None]) -> None:
    """A benchmark's command line: `--scale` reports; the hidden `--run SCALE` is the child that measures and
    prints what `run` returns."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--scale", default="medium", help="small, medium or large")
    parser.add_argument("--run", metavar="SCALE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(run(args.run))
    else:
        report(args.scale)


def report(scale: str) -> None:
    *_, used, rss_kib = in_fresh_playground([sys.executable, "-m", "bench.peak_rss", sys.executable, "-m",
                                             "bench.medium", "--run", scale]).splitlines()
    run = json.loads(used)
    print(f"# the local playground's main job, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {scale} scale", flush=True)
    print(f"landing -> gold + streaming, {scale} scale   {run['seconds']:7.1f} s   "
          f"peak RSS {int(rss_kib) // 1024:,} MiB (the issue's trial, medium: 205 s, 6.1 GB)", flush=True)
    print(f"  {'step':<44} {'seconds':>8} {'job MiB':>8} {'child MiB':>9}  (child: dbt, an ML script through Pipes)")
    for use in sorted(run["steps"], key=lambda use: -use["seconds"]):
        print(f"  {use['step']:<44} {use['seconds']:8.1f} {use['job_mib']:8,} {use['child_mib']:9,}")


if __name__ == "__main__":
    scale_benchmark(__doc__, run_job, report)
