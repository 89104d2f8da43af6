"""Sensors that turn new data into bronze runs (new lake files, new order rows, new events), the one
that keeps the streaming consumer running, the cloud's landing reports, and the jobs and schedules of a
solution.

The new-data sensor keeps its cursor in Dagster: per source a fingerprint of the file names and write
logs, the highest orderId, the end sequence numbers of the bus partitions. A run is requested only for the
sources whose part moved, with the cursor as run key, so the same data never asks twice; and never while a
run for the same assets is queued or running, so the queue holds at most one run a sensor. A source's part
stays where it was then, and the first tick after that run ends requests what arrived meanwhile.
"""

import hashlib
import json
import os
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DagsterRun,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)
from playground.catalog import EVENT_SOURCES, FILE_SOURCES, MANIFESTS, SOURCES

from dagster_project.bronze.assets import bronze_key
from dagster_project.landing.assets import materializations
from dagster_project.resources import BusResource, LakeResource, OrdersDBResource
from dagster_project.solutions import BRONZE, LANDING, STREAMING, Solution

if TYPE_CHECKING:  # what define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

RESTART_AFTER_S = 60
IN_PROGRESS = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
               DagsterRunStatus.STARTED]


def runs_in_progress(context: SensorEvaluationContext) -> list[DagsterRun]:
    """Queued or running runs, whoever launched them (read once a tick)."""
    return list(context.instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS), limit=100))


def run_in_progress(runs: list[DagsterRun], keys: list[AssetKey]) -> str | None:
    """The id of one of `runs` that materializes any of these assets."""
    wanted = set(keys)
    return next((run.run_id for run in runs if run.asset_selection and wanted & run.asset_selection), None)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _folder_state(lake, folder: str) -> str | None:
    """What a bronze run would see change in the folder: its names and its write log's end or, where it
    keeps no log, every file's size and time. A digest: the cursor stays small with 100k files."""
    _, mark = lake.written_since(folder, None)
    if mark is not None:
        return _digest({"names": lake.list(folder), "written": mark})
    return _digest(stamps) if (stamps := lake.stamps(folder)) else None


def _bus_ends(bus: BusResource) -> dict | SkipReason:
    path = bus.embedded_log_path()
    if path is not None and not os.path.exists(path):
        return SkipReason(f"no embedded event log at {bus.spec} yet")
    log = bus.open_reader()
    try:
        state = {topic: {str(p): n for p, n in log.end_sequences(topic).items()} for topic in EVENT_SOURCES}
    finally:
        log.close()
    return state if any(state.values()) else SkipReason("no events yet")


# How often each part of the new-data sensor looks: the bus at every tick (micro-batches), the lake and the
# orders database less often (listing an ADLS folder of 100k files is not free).
LOOK_EVERY_S = {"files": 30.0, "orders": 30.0, "events": 10.0}
clock = time.time  # when a look happens (tests set the hour)


def bronze_sensor(solution: Solution, status: DefaultSensorStatus) -> SensorDefinition:
    """New data of any source -> one bronze run for every source whose data moved (one run worker, not a
    run a source: on 2 cores the workers' start-up was what runs queued behind). `status`: where it starts
    (a cloud location's starts stopped, until its settings are in the environment)."""
    order_keys = [bronze_key(name, solution) for name, source in SOURCES.items() if source.lands == "orders_db"]
    event_keys = [bronze_key(t, solution) for t in EVENT_SOURCES]

    def look(part: str, lake: LakeResource, orders_db: OrdersDBResource, bus: BusResource
             ) -> dict[str, tuple[object, list[AssetKey]]]:
        """The part's sources: name -> (what bronze would see change, its assets); none where nothing is."""
        if part == "files":
            files = lake.open()
            return {name: (digest, [bronze_key(name, solution)]) for name, source in FILE_SOURCES.items()
                    if (digest := _folder_state(files, source.folder))}
        if part == "orders":
            with orders_db.open() as db:
                db.ensure()
                top = db.max_order_id() or 0
            return {"orders": (top, order_keys)} if top else {}
        ends = _bus_ends(bus)
        return {} if isinstance(ends, SkipReason) else {"events": (ends, event_keys)}

    def new_data(context: SensorEvaluationContext, lake: LakeResource, orders_db: OrdersDBResource,
                 bus: BusResource):
        previous = json.loads(context.cursor) if context.cursor else {}
        seen, looked = dict(previous.get("seen", {})), dict(previous.get("looked", {}))
        now, state, failed = clock(), {}, []
        for part, every in LOOK_EVERY_S.items():
            if now - looked.get(part, 0) < every:
                continue
            try:
                state.update(look(part, lake, orders_db, bus))
                looked[part] = now
            except Exception as exc:  # one source unreachable does not stop the others' ingestion
                context.log.warning(f"{part}: {exc}")
                failed.append(exc)
        changed = [name for name, (value, _) in state.items() if seen.get(name) != value]
        going = runs_in_progress(context) if changed else []
        busy = {name: run for name in changed if (run := run_in_progress(going, state[name][1]))}
        ready = [name for name in changed if name not in busy]
        if failed and not ready:
            raise failed[0]
        cursor = {"seen": {**seen, **{name: state[name][0] for name in ready}}, "looked": looked}
        if not ready:
            waiting = "; ".join(f"{name} once run {run[:8]} for its assets ends" for name, run in busy.items())
            return SensorResult(skip_reason=SkipReason(f"new data: {waiting}" if busy else "no new data"),
                                cursor=json.dumps(cursor, sort_keys=True))
        keys = [key for name in ready for key in state[name][1]]
        run_key = _digest(cursor["seen"])[:16]
        return SensorResult(run_requests=[RunRequest(run_key=run_key, asset_selection=keys)],
                            cursor=json.dumps(cursor, sort_keys=True))

    keys = [bronze_key(name, solution) for name in SOURCES]
    return sensor(name=solution.job_name("new_data"), minimum_interval_seconds=int(min(LOOK_EVERY_S.values())),
                  default_status=status, asset_selection=keys,
                  description=f"{solution.title}: new or changed lake files (looked at every 30 s), orders above the "
                              "last orderId (every 30 s), new events on the bus (every 10 s) -> one bronze run for "
                              "all of them.")(new_data)


def consumer_keeper(solution: Solution) -> SensorDefinition:
    """Keeps one run of the long-running streaming consumer going once events exist, and starts another
    when it ends (stopped, killed: the run monitor marks a killed run failed). After a failure it waits
    RESTART_AFTER_S, so a consumer that cannot start fills the run list slowly, not every tick."""
    job_name = solution.job_name("streaming_consumer")

    def streaming_consumer_running(context: SensorEvaluationContext, bus: BusResource):
        runs = context.instance.get_runs(filters=RunsFilter(job_name=job_name), limit=1)
        if runs and runs[0].status in (*IN_PROGRESS, DagsterRunStatus.CANCELING):
            return SkipReason(f"consumer run {runs[0].run_id[:8]} is {runs[0].status.value.lower()}")
        if runs and runs[0].status == DagsterRunStatus.FAILURE:
            record = context.instance.get_run_record_by_id(runs[0].run_id)
            ended = (record.end_time if record else None) or 0
            if (wait := ended + RESTART_AFTER_S - time.time()) > 0:
                return SkipReason(f"consumer run {runs[0].run_id[:8]} failed: started again in {wait:.0f} s")
        state = _bus_ends(bus)
        return state if isinstance(state, SkipReason) else RunRequest()

    return sensor(name=solution.job_name("streaming_consumer_running"), job_name=job_name, minimum_interval_seconds=15,
                  default_status=DefaultSensorStatus.RUNNING,
                  description=f"{solution.title}: keeps the streaming consumer (job {job_name}) running once "
                              "the bus has events; each of its micro-batches is a materialization of every "
                              "streaming output.")(streaming_consumer_running)


def landing_reports(solution: Solution) -> SensorDefinition:
    """In the cloud the generator containers write the sources and a manifest per generation: each new or
    changed manifest is reported as its sources' materialization (external assets: Dagster runs nothing)."""

    def landing_manifests(context: SensorEvaluationContext, lake: LakeResource):
        from playground.generators.run import load_manifest

        files = lake.open()
        seen = json.loads(context.cursor) if context.cursor else {}
        state: dict[str, str] = {}
        events: list[AssetMaterialization] = []
        for name in MANIFESTS:
            if (manifest := load_manifest(files, name)) is None:
                continue
            state[name] = _digest(asdict(manifest))
            if state[name] != seen.get(name):
                events += materializations(manifest, solution)
        if not events:
            return SkipReason("no new manifests")
        return SensorResult(asset_events=events, cursor=json.dumps(state, sort_keys=True))

    return sensor(name=solution.job_name("landing_manifests"), minimum_interval_seconds=60,
                  default_status=DefaultSensorStatus.STOPPED,
                  description=f"{solution.title}: each manifest the generator containers write in "
                              "<lake>/landing/_manifests/ -> its sources' materialization (counts, dirt, seed).")(
        landing_manifests)


def landing_job(solution: Solution) -> "UnresolvedAssetJobDefinition":
    return define_asset_job(solution.job_name("landing"), selection=AssetSelection.groups(solution.group(LANDING)),
                            description=f"{solution.title}: generate every source.")


def refresh_job(solution: Solution) -> "UnresolvedAssetJobDefinition":
    return define_asset_job(solution.job_name("refresh_downstream_of_bronze"),
                            selection=AssetSelection.groups(solution.group(BRONZE)).downstream(include_self=False),
                            description=f"{solution.title}: silver and gold (dbt) from what bronze holds now.")


def observe_streaming_job(solution: Solution) -> "UnresolvedAssetJobDefinition":
    return define_asset_job(solution.job_name("observe_streaming"),
                            selection=AssetSelection.groups(solution.group(STREAMING), include_sources=True),
                            description=f"{solution.title}: what the streaming engine has written into the lake.")


def refresh_cron() -> str:
    """Every 15 minutes, as the original's trigger ran its notebooks (the soak benchmark: every minute)."""
    return os.environ.get("PLAYGROUND_REFRESH_CRON", "*/15 * * * *")


def refresh_condition(cron: str) -> AutomationCondition:
    """Silver, gold and the model are made again at most once a cron period: at the first evaluation after
    a tick at which something they are made from was materialized after they last were (or is requested
    with them), and never while they or what they read are being made. Nothing new, no run: the schedule
    this replaces ran dbt on every tick.

    "After they last were" compares materialization times (not Dagster's `since_last_handled`, which
    forgets an input that lands while the run goes): where bronze and dbt share DuckDB's pool, bronze
    commits before a dbt step reads or after it ends, so an input newer than the model is one it has not
    read; a failed run leaves it newer, and the next tick tries again."""
    behind = AutomationCondition.any_deps_match(AutomationCondition.newly_updated()).since(
        AutomationCondition.newly_updated())
    requested = AutomationCondition.newly_requested() | AutomationCondition.initial_evaluation()
    return (AutomationCondition.in_latest_time_window()
            & AutomationCondition.cron_tick_passed(cron).since(requested)
            & (behind | AutomationCondition.any_deps_match(AutomationCondition.will_be_requested()))
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()).with_label(f"refresh on {cron} when its inputs changed")


def refreshed(assets: AssetsDefinition, condition: AutomationCondition) -> AssetsDefinition:
    return assets.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))


def refresh_automation(solution: Solution, status: DefaultSensorStatus) -> AutomationConditionSensorDefinition:
    """Evaluates the refresh condition of everything downstream of bronze (Dagster's declarative automation:
    each evaluation is listed under the sensor and on every asset's Automation tab)."""
    return AutomationConditionSensorDefinition(
        solution.job_name("refresh_silver_and_gold"), default_status=status, minimum_interval_seconds=30,
        target=AssetSelection.groups(solution.group(BRONZE)).downstream(include_self=False),
        description=f"{solution.title}: silver, gold and the model, at most once per cron tick "
                    f"({refresh_cron()}) and only when something they read changed.")


def observe_schedule(solution: Solution, job: "UnresolvedAssetJobDefinition",
                     status: DefaultScheduleStatus) -> ScheduleDefinition:
    """A cloud engine's outputs observed every minute."""
    return ScheduleDefinition(name=solution.job_name("observe_streaming_outputs"), job=job, cron_schedule="* * * * *",
                              default_status=status, description=f"{job.description} Every minute.")
