"""The whole local playground at the medium scale: `python -m bench.medium` (several minutes).

Every asset of the local playground's main job, as `make demo` runs it but at the medium scale (1M
users, 10k products, 10M orders with ~55M items, 1M pageviews): landing, bronze with its checks,
silver and gold in dbt on DuckDB, the streaming scenarios. One fresh process in a temporary folder;
prints its seconds and the peak RSS of the largest process (the job's, or dbt's beside it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playground.catalog import LANDING_OPS


def run_job(scale: str) -> float:
    """The local main job in this process, at `scale`: its seconds."""
    from dagster import DagsterInstance

    from dagster_project.assembly import build_definitions

    job = build_definitions("local").resolve_implicit_global_asset_job_def()
    began = time.perf_counter()
    result = job.execute_in_process(instance=DagsterInstance.get(), raise_on_error=True,
                                    run_config={"ops": {op: {"config": {"scale": scale}} for op in LANDING_OPS}})
    assert result.success
    return time.perf_counter() - began


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
    seconds, rss_kib = in_fresh_playground([sys.executable, "-m", "bench.peak_rss", sys.executable, "-m",
                                            "bench.medium", "--run", scale]).split()[-2:]
    print(f"# the local playground's main job, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {scale} scale", flush=True)
    print(f"landing -> gold + streaming, {scale} scale   {float(seconds):7.1f} s   "
          f"peak RSS {int(rss_kib) // 1024:,} MiB (the issue's trial, medium: 205 s, 6.1 GB)", flush=True)


if __name__ == "__main__":
    scale_benchmark(__doc__, run_job, report)
