"""What Dagster keeps of its history. Under `make up` the sensors and the automation launch a run every few
seconds, and each run is a SQLite file of its own (~250 KB before its first event) with its events in the
index beside it: about 130 MB an hour (docs/BENCHMARKS.md). The job `prune_history`, every hour, deletes
the finished runs that are old enough, with their events, their file and their captured logs:

- a run that succeeded and that a sensor, a schedule or the automation launched: after
  PLAYGROUND_KEEP_AUTOMATIC_HOURS (default 3): they repeat, and the newest show what they do;
- every other run (launched in the UI or the CLI, failed or canceled ones): after PLAYGROUND_KEEP_DAYS
  (default 7);
- never a run holding an asset's newest materialization or observation (its page would say "never
  materialized"), nor one not finished.

The declarative automation's evaluations (~20 KB an asset every 30 s, ~50 MB an hour here; Dagster keeps
them 30 days) are kept as long as automatic runs. Sensor, schedule and automation ticks are kept by the
instance's own `retention` (dagster_instance.yaml).
(No `from __future__ import annotations`: Dagster reads the op's context annotation.)
"""

import os
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    JobDefinition,
    OpExecutionContext,
    RunsFilter,
    ScheduleDefinition,
    job,
    op,
)
from playground.errors import PlaygroundError

FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
# The tags Dagster gives a run a sensor, a schedule or the declarative automation launched.
LAUNCHED_BY_AUTOMATION = ("dagster/sensor_name", "dagster/schedule_name", "dagster/from_automation_condition",
                          "dagster/auto_materialize")
PER_PASS = 5_000  # runs looked at in one pass: an hour under make up is ~500


@dataclass(frozen=True)
class Keep:
    automatic: timedelta = timedelta(hours=3)
    other: timedelta = timedelta(days=7)

    @classmethod
    def from_environment(cls) -> "Keep":
        return cls(timedelta(hours=_number("PLAYGROUND_KEEP_AUTOMATIC_HOURS", 3)),
                   timedelta(days=_number("PLAYGROUND_KEEP_DAYS", 7)))


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, str(default))
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise PlaygroundError(f"{name}={text!r} is not a number of hours or days to keep runs: set a number "
                              f"(0 or more; default {default:g}) or unset it")
    return value


def newest_asset_runs(instance: DagsterInstance) -> set[str]:
    """The runs holding some asset's newest materialization or observation."""
    runs = set()
    for record in instance.get_asset_records():
        entry = record.asset_entry
        for last in (entry.last_materialization_record, entry.last_observation_record):
            if last is not None:
                runs.add(last.run_id)
    return runs


def runs_to_delete(instance: DagsterInstance, keep: Keep, now: datetime) -> list[str]:
    """The finished runs past their keeping, oldest first."""
    protected = newest_asset_runs(instance)
    every = instance.get_run_records(RunsFilter(statuses=FINISHED, updated_before=now - keep.other),
                                     limit=PER_PASS, ascending=True)
    succeeded = instance.get_run_records(
        RunsFilter(statuses=[DagsterRunStatus.SUCCESS], updated_before=now - keep.automatic),
        limit=PER_PASS, ascending=True)
    due = {record.dagster_run.run_id: record.update_timestamp for record in every}
    due |= {record.dagster_run.run_id: record.update_timestamp for record in succeeded
            if any(tag in record.dagster_run.tags for tag in LAUNCHED_BY_AUTOMATION)}
    return [run_id for run_id, _ in sorted(due.items(), key=lambda item: item[1]) if run_id not in protected]


def delete_runs(instance: DagsterInstance, run_ids: Iterable[str]) -> int:
    """Each run with its events, its check executions, its event file and its captured logs."""
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    events, logs = instance.event_log_storage, instance.compute_log_manager
    deleted = 0
    for run_id in run_ids:
        instance.delete_run(run_id)  # the run and its events (not its check executions, nor its SQLite file)
        if hasattr(events, "index_connection"):  # a SQL event log
            with events.index_connection() as conn:
                conn.execute(AssetCheckExecutionsTable.delete().where(AssetCheckExecutionsTable.c.run_id == run_id))
        if hasattr(events, "path_for_shard"):  # SQLite: a file a run
            for path in (events.path_for_shard(run_id), f"{events.path_for_shard(run_id)}-wal"):
                if os.path.exists(path):
                    os.remove(path)
        with suppress(NotImplementedError):  # a log manager that keeps no logs here
            logs.delete_logs(prefix=[run_id])
        deleted += 1
    return deleted


def prune(instance: DagsterInstance, keep: Keep, now: datetime) -> int:
    """Runs and automation evaluations past their keeping deleted: the runs deleted."""
    deleted = delete_runs(instance, runs_to_delete(instance, keep, now))
    if instance.schedule_storage and instance.schedule_storage.supports_auto_materialize_asset_evaluations:
        instance.schedule_storage.purge_asset_evaluations(before=(now - keep.automatic).timestamp())
    return deleted


@op(description="Deletes the finished runs and automation evaluations past their keeping "
                "(dagster_project/history.py).")
def prune_runs(context: OpExecutionContext) -> int:
    deleted = prune(context.instance, Keep.from_environment(), datetime.now(UTC))
    context.log.info(f"deleted {deleted:,} runs past their keeping, and the automation's older evaluations")
    return deleted


def prune_job() -> JobDefinition:
    @job(name="prune_history", tags={"kind": "dagster"},
         description="What Dagster keeps of its history: successful runs a sensor, schedule or the automation "
                     "launched for 3 hours (PLAYGROUND_KEEP_AUTOMATIC_HOURS), every other run 7 days "
                     "(PLAYGROUND_KEEP_DAYS); never the run holding an asset's newest materialization.")
    def prune_history():
        prune_runs()

    return prune_history


def prune_schedule(prune: JobDefinition, status: DefaultScheduleStatus) -> ScheduleDefinition:
    """Hourly (PLAYGROUND_PRUNE_CRON: the soak benchmark prunes every few minutes)."""
    return ScheduleDefinition(name="prune_history_hourly", job=prune,
                              cron_schedule=os.environ.get("PLAYGROUND_PRUNE_CRON", "17 * * * *"),
                              default_status=status, description="Deletes runs past their keeping (prune_history).")
