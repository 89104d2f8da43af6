"""Sensors that turn new data into bronze runs (new lake files, new order rows, new events), and
the schedule that refreshes everything downstream of bronze.

Each keeps its cursor in Dagster: a fingerprint of the file names and write logs, the highest
orderId, the end sequence numbers of the bus partitions. A run is requested only when the cursor
moves, with the cursor as run key, so the same data never asks twice.
"""

import hashlib
import json

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from dagster_project.assets.bronze import bronze_key
from dagster_project.assets.streaming import streaming_key
from dagster_project.resources import PlaygroundResource
from dagster_project.streaming.scenarios import OUTPUT_NAMES

FILE_SOURCES = ("users", "vip_users", "products")
EVENT_TOPICS = ("pageviews", "stars")
STREAMING_KEYS = [streaming_key(name) for name in OUTPUT_NAMES]


# Runs are queued per database they write (dagster_instance.yaml): one writer at a time per DuckDB
# file, while a streaming micro-batch never waits behind a dbt build.
DATABASE_TAG = "playground/database"
WAREHOUSE_RUN = {DATABASE_TAG: "warehouse"}
STREAMING_RUN = {DATABASE_TAG: "streaming"}


def _moved(context: SensorEvaluationContext, state: dict, keys: list[AssetKey], what: str,
           tags: dict[str, str] = WAREHOUSE_RUN) -> SensorResult | SkipReason:
    cursor = json.dumps(state, sort_keys=True)
    if cursor == context.cursor:
        return SkipReason(f"no new {what}")
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return SensorResult(run_requests=[RunRequest(run_key=run_key, asset_selection=keys, tags=tags)], cursor=cursor)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _folder_state(lake, folder: str) -> str | None:
    """What a bronze run would see change in the folder: its names and its write log's end or, where it
    keeps no log, every file's size and time. A digest: the cursor stays small with 100k files."""
    _, mark = lake.written_since(folder, None)
    if mark is not None:
        return _digest({"names": lake.list(folder), "written": mark})
    return _digest(stamps) if (stamps := lake.stamps(folder)) else None


def new_lake_files(context: SensorEvaluationContext, playground: PlaygroundResource):
    from dagster_project.bronze.files import FILE_SOURCES as SOURCES

    lake = playground.open_lake()
    state = {name: digest for name in FILE_SOURCES if (digest := _folder_state(lake, SOURCES[name].folder))}
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = [bronze_key(name) for name in state if state[name] != previous.get(name)]
    if not changed:
        return SkipReason("no new lake files")
    return _moved(context, state, changed, "lake files")


def new_orders(context: SensorEvaluationContext, playground: PlaygroundResource):
    with playground.open_orders_db() as db:
        db.ensure()
        top = db.max_order_id() or 0
    if not top:
        return SkipReason("no orders yet")
    return _moved(context, {"orderId": top}, [bronze_key("orders"), bronze_key("items")], "orders")


def _bus_ends(playground: PlaygroundResource) -> dict | SkipReason:
    import os

    path = playground.event_log_path()
    if path is not None and not os.path.exists(path):
        return SkipReason(f"no embedded event log at {playground.bus} yet")
    log = playground.open_bus_reader()
    try:
        state = {topic: {str(p): n for p, n in log.end_sequences(topic).items()} for topic in EVENT_TOPICS}
    finally:
        log.close()
    return state if any(state.values()) else SkipReason("no events yet")


def new_events(context: SensorEvaluationContext, playground: PlaygroundResource):
    state = _bus_ends(playground)
    if isinstance(state, SkipReason):
        return state
    return _moved(context, state, [bronze_key(t) for t in EVENT_TOPICS], "events")


def new_events_for_streaming(context: SensorEvaluationContext, playground: PlaygroundResource):
    state = _bus_ends(playground)
    if isinstance(state, SkipReason):
        return state
    return _moved(context, state, STREAMING_KEYS, "events", STREAMING_RUN)


def sensors_for(target: str) -> list[SensorDefinition]:
    """On locally; in a cloud location they start stopped, until its settings are in the environment."""
    status = DefaultSensorStatus.RUNNING if target == "local" else DefaultSensorStatus.STOPPED
    specs = (
        (new_lake_files, 30, [bronze_key(s) for s in FILE_SOURCES],
         "New or changed files in the lake's landing folders -> their bronze assets."),
        (new_orders, 30, [bronze_key("orders"), bronze_key("items")],
         "Orders above the last orderId seen -> bronze orders and items."),
        (new_events, 10, [bronze_key(t) for t in EVENT_TOPICS],
         "New events on the bus -> a micro-batch of bronze pageviews and stars."),
        (new_events_for_streaming, 5, STREAMING_KEYS,
         "New events on the bus -> a micro-batch of every streaming scenario."),
    )
    return [sensor(name=fn.__name__, minimum_interval_seconds=interval, default_status=status, asset_selection=keys,
                   description=description)(fn) for fn, interval, keys, description in specs]


refresh_job = define_asset_job(
    "refresh_downstream_of_bronze", selection=AssetSelection.groups("bronze").downstream(include_self=False),
    description="Silver and gold (dbt) from what bronze holds now.", tags=WAREHOUSE_RUN)


def schedules_for(target: str) -> list[ScheduleDefinition]:
    """Every 15 minutes, as the original's trigger ran its notebooks; on locally, stopped in the cloud."""
    status = DefaultScheduleStatus.RUNNING if target == "local" else DefaultScheduleStatus.STOPPED
    return [ScheduleDefinition(name="every_15_minutes", job=refresh_job, cron_schedule="*/15 * * * *",
                               default_status=status)]
