"""`make demo`: the main job on the embedded default, headless, with one line of progress per step
and a summary of every tier at the end.

It runs every asset of the local playground in this process against the Dagster instance in
DAGSTER_HOME (so `make up` shows the run afterwards), keeps Dagster's own log to errors, and reads
each step's progress from the run's events as they are stored.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
import warnings
from typing import Any

from dagster import (
    BetaWarning,
    DagsterEventType,
    DagsterInstance,
    PreviewWarning,
    SupersessionWarning,
)
from rich.console import Console

for category in (BetaWarning, PreviewWarning, SupersessionWarning):  # Dagster's notes to its own API's users
    warnings.filterwarnings("ignore", category=category)

STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
               DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION,
               DagsterEventType.ENGINE_EVENT}
BLOCKED = "Step blocked by limit for pool "  # Dagster's engine event when a step waits for a pool's slot
SAY_WAIT_AFTER_S = 3.0


class StepProgress:
    """One line per finished step: what it made, how many checks passed, how long it took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started: dict[str, float] = {}
        self.assets: dict[str, int] = {}
        self.checks: dict[str, list[bool]] = {}
        self.failed_checks: list[str] = []
        self.waiting: dict[str, tuple[str, float]] = {}  # step -> (pool, since when), until it starts
        self.said_waiting: set[str] = set()  # pools

    def see(self, event) -> None:
        step, kind = event.step_key, event.dagster_event_type
        if kind == DagsterEventType.ENGINE_EVENT and step and event.message.startswith(BLOCKED):
            self.waiting.setdefault(step, (event.message.removeprefix(BLOCKED), event.timestamp))
        elif kind == DagsterEventType.STEP_START:
            self.waiting.pop(step, None)
            self.started[step] = event.timestamp
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            self.assets[step] = self.assets.get(step, 0) + 1
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.dagster_event.event_specific_data
            self.checks.setdefault(step, []).append(evaluation.passed)
            if not evaluation.passed:
                self.failed_checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                                          f"({evaluation.severity.value.lower()})")
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds = event.timestamp - self.started.get(step, event.timestamp)
            checks = self.checks.get(step, [])
            assets = self.assets.get(step, 0)
            done = f"{assets} asset{'s' * (assets != 1)}" + (f", {sum(checks)}/{len(checks)} checks passed"
                                                            if checks else "")
            if kind == DagsterEventType.STEP_SUCCESS:
                self.console.print(f"  [green]done[/]  {step:<24} {seconds:6.1f} s  {done}")
            else:
                error = event.dagster_event.step_failure_data.error
                self.console.print(f"  [red]FAILED[/] {step:<23} {seconds:6.1f} s  "
                                   f"{error.message.strip() if error else 'see the run in the Dagster UI'}")

    def say_waits(self, instance: DagsterInstance) -> None:
        """Once steps have waited a few seconds for a pool: for what, who holds it, and how to free it."""
        pools: dict[str, list[str]] = {}
        for step, (pool, since) in self.waiting.items():
            if time.time() - since >= SAY_WAIT_AFTER_S:
                pools.setdefault(pool, []).append(step)
        for pool, steps in pools.items():
            if pool in self.said_waiting:
                continue
            self.said_waiting.add(pool)
            holders = {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots}
            held = ", ".join(f"run {run_id}" for run_id in sorted(holders)) or "another run"
            home = os.environ.get("DAGSTER_HOME", ".dagster")
            self.console.print(
                f"  [yellow]waiting[/] for pool {pool} (one writer to its DuckDB file: {', '.join(sorted(steps))}), "
                f"held by {held}. It goes on when that run ends. If that run's process is gone (a killed `make "
                f"demo`), free its slot: `DAGSTER_HOME={home} .venv/bin/dagster run delete <run id>`, or start "
                "`make up`, whose monitoring fails such a run and frees it within a minute. Ctrl-C stops this run.",
                soft_wrap=True)

    @property
    def check_totals(self) -> tuple[int, int]:
        results = [passed for checks in self.checks.values() for passed in checks]
        return sum(results), len(results)


def main() -> int:
    from dagster_project.definitions import build_definitions
    from dagster_project.summary import print_summary

    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 120, highlight=False)
    instance = DagsterInstance.get()
    job = build_definitions("local").resolve_implicit_global_asset_job_def()
    run_id = str(uuid.uuid4())
    outcome: dict = {}

    def run() -> None:
        try:
            # dagster-dbt echoes dbt's log to stdout (the UI keeps it with the run); here one line a step says enough.
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                outcome["result"] = job.execute_in_process(
                    instance=instance, run_id=run_id, raise_on_error=False,
                    run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
        except BaseException as error:  # shown below, after the steps that did run
            outcome["error"] = error

    console.print(f"[bold]Data Playground demo[/]: every asset of the local playground (run {run_id[:8]}, "
                  "see it later in `make up`)")
    progress = StepProgress(console)
    worker = threading.Thread(target=run, daemon=True)
    began = time.time()
    worker.start()
    try:
        follow(instance, run_id, progress, worker)
    except KeyboardInterrupt:  # Ctrl-C: the run is canceled and gives back any pool slot it holds
        if (stopped := instance.get_run_by_id(run_id)) and not stopped.is_finished:
            instance.report_run_canceled(stopped, message="Ctrl-C in the terminal of `make demo`")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        console.print(f"[bold]Stopped[/] (Ctrl-C): run {run_id[:8]} canceled; what it committed stays")
        return 130
    if "error" in outcome:
        raise outcome["error"]
    success = outcome["result"].success
    passed, total = progress.check_totals
    console.print(f"[bold]{'Finished' if success else 'Failed'}[/] in {time.time() - began:.0f} s; "
                  f"asset checks: {passed} of {total} passed"
                  + (f" (failed: {', '.join(progress.failed_checks)})" if progress.failed_checks else ""))
    if success:
        console.print(model_line(instance))
        print_summary(console)
    return 0 if success else 1


def follow(instance: DagsterInstance, run_id: str, progress: StepProgress, worker: threading.Thread) -> None:
    """Each step's line from the run's events as they are stored, until the run's thread ends."""
    cursor = None
    while True:
        alive = worker.is_alive()
        if instance.has_run(run_id):  # only the events stored since the last look
            connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=STEP_EVENTS)
            for record in connection.records:
                progress.see(record.event_log_entry)
            cursor = connection.cursor
            progress.say_waits(instance)
        if not alive:
            return
        time.sleep(0.3)


def model_line(instance: DagsterInstance) -> str:
    """The order value model this run trained: the baseline's held-out RMSE against the champion's."""
    from dagster_project.solutions import LOCAL, ML

    event = instance.get_latest_materialization_event(LOCAL.key(ML, "order_value_model"))
    if event is None or event.asset_materialization is None:
        return "[bold]Order value model[/]: not trained"
    found: dict[str, Any] = {name: getattr(value, "value", value)
                             for name, value in event.asset_materialization.metadata.items()}
    baseline, champion = found["baseline_mean_rmse"], found["champion_rmse"]
    return (f"[bold]Order value model[/]: held-out RMSE {baseline:,.0f} (baseline: the mean) vs {champion:,.0f} "
            f"(champion, version {found['champion_version']}, {champion / baseline:.2f} of the baseline); "
            f"best this run: {found['best']}")


if __name__ == "__main__":
    sys.exit(main())
