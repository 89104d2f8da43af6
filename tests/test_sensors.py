"""Sensors request bronze runs when, and only when, new data has arrived."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from playground.generators.run import write_products
from playground.io.lake import Lake

from dagster_project import sensors
from dagster_project.assembly import build_definitions
from dagster_project.sensors import bronze_sensor, consumer_keeper
from dagster_project.solutions import LOCAL, SOLUTIONS
from tests.helpers import dataset_args, local_resources, playground

SENSORS = {s.name: s for s in [bronze_sensor(LOCAL, DefaultSensorStatus.RUNNING), consumer_keeper(LOCAL)]}
new_data = SENSORS["new_data"]


@pytest.fixture(autouse=True)
def look_at_every_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ticks here come seconds apart: every part looks at each (the sensor spaces the lake's and the orders
    database's looks 30 s apart; test_the_lake_is_looked_at_every_30_s_the_bus_every_tick checks that)."""
    monkeypatch.setattr(sensors, "LOOK_EVERY_S", dict.fromkeys(sensors.LOOK_EVERY_S, 0.0))


def evaluate(sensor, root: Path, cursor: str | None, bus: str | None = None,  # type: ignore[no-untyped-def]
             instance: DagsterInstance | None = None):
    resources = local_resources(root, **({"PLAYGROUND_BUS": bus} if bus else {}))
    return sensor(build_sensor_context(cursor=cursor, resources=resources,
                                       instance=instance or DagsterInstance.ephemeral()))


def requested(result: SensorResult) -> list[str]:
    (request,) = result.run_requests
    return sorted(k.to_user_string() for k in request.asset_selection)


def skipped(result: SensorResult | SkipReason) -> str | None:
    """Why the tick requested nothing (None: it requested a run)."""
    if isinstance(result, SkipReason):
        return result.skip_message
    return None if result.run_requests else result.skip_reason.skip_message


def test_new_lake_files(tmp_path: Path) -> None:
    assert skipped(evaluate(new_data, tmp_path, None)) == "no new data"
    playground("generate", "users", "--count", "100", *dataset_args(tmp_path))
    playground("generate", "products", "--count", "10", *dataset_args(tmp_path))
    first = evaluate(new_data, tmp_path, None)
    assert requested(first) == ["bronze/products", "bronze/users", "bronze/vip_users"]
    assert skipped(evaluate(new_data, tmp_path, first.cursor)) == "no new data"
    write_products(Lake(str(tmp_path / "lake")), 42, 10, 12)
    second = evaluate(new_data, tmp_path, first.cursor)
    assert requested(second) == ["bronze/products"]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    # a file replaced through the lake's writer moves its write log; a file copied in by hand adds a name
    Lake(str(tmp_path / "lake")).write_bytes("landing/products/product_3.json", b'{"id": 3}\n')
    third = evaluate(new_data, tmp_path, second.cursor)
    assert requested(third) == ["bronze/products"]
    (tmp_path / "lake/landing/users/more.json").write_bytes(b'{"id": 1000}\n')
    assert requested(evaluate(new_data, tmp_path, third.cursor)) == ["bronze/users"]


def test_new_orders(tmp_path: Path) -> None:
    playground("generate", "orders", "--count", "50", *dataset_args(tmp_path))
    first = evaluate(new_data, tmp_path, None)
    assert requested(first) == ["bronze/items", "bronze/orders"]
    assert skipped(evaluate(new_data, tmp_path, first.cursor)) == "no new data"
    playground("generate", "orders", "--count", "60", *dataset_args(tmp_path))
    assert requested(evaluate(new_data, tmp_path, first.cursor)) == ["bronze/items", "bronze/orders"]


def test_new_events(tmp_path: Path) -> None:
    playground("generate", "pageviews", "--count", "200", *dataset_args(tmp_path))
    first = evaluate(new_data, tmp_path, None)
    assert requested(first) == ["bronze/pageviews", "bronze/stars"]
    assert skipped(evaluate(new_data, tmp_path, first.cursor)) == "no new data"


def test_every_source_that_moved_is_in_one_run(tmp_path: Path) -> None:
    playground("generate", "products", "--count", "10", *dataset_args(tmp_path))
    playground("generate", "orders", "--count", "50", *dataset_args(tmp_path))
    playground("generate", "pageviews", "--count", "200", *dataset_args(tmp_path))
    assert requested(evaluate(new_data, tmp_path, None)) == ["bronze/items", "bronze/orders", "bronze/pageviews",
                                                             "bronze/products", "bronze/stars"]


def test_the_lake_is_looked_at_every_30_s_the_bus_every_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sensors, "LOOK_EVERY_S", {"files": 30.0, "orders": 30.0, "events": 10.0})
    clock = [1_000.0]
    monkeypatch.setattr(sensors, "clock", lambda: clock[0])
    first = evaluate(new_data, tmp_path, None)
    playground("generate", "products", "--count", "10", *dataset_args(tmp_path))
    playground("generate", "pageviews", "--count", "200", *dataset_args(tmp_path))
    clock[0] += 10
    second = evaluate(new_data, tmp_path, first.cursor)
    assert requested(second) == ["bronze/pageviews", "bronze/stars"]  # the products wait for the lake's look
    clock[0] += 20
    assert requested(evaluate(new_data, tmp_path, second.cursor)) == ["bronze/products"]


def test_an_unreachable_source_does_not_hold_back_the_others(tmp_path: Path) -> None:
    playground("generate", "products", "--count", "10", *dataset_args(tmp_path))
    resources = local_resources(tmp_path, PLAYGROUND_ORDERS_URL="postgresql://nobody@127.0.0.1:1/none")
    result = new_data(build_sensor_context(resources=resources, instance=DagsterInstance.ephemeral()))
    assert requested(result) == ["bronze/products"]


def test_the_streaming_consumer_is_kept_running_once_events_exist(tmp_path: Path) -> None:
    """One consumer run at a time; a new one when it ends; after a failure a minute's wait, not a run a tick."""
    keeper, instance = SENSORS["streaming_consumer_running"], DagsterInstance.ephemeral()
    assert "no embedded event log" in evaluate(keeper, tmp_path, None, instance=instance).skip_message
    playground("generate", "pageviews", "--count", "20", *dataset_args(tmp_path))
    request = evaluate(keeper, tmp_path, None, instance=instance)
    assert isinstance(request, RunRequest) and not request.asset_selection  # the job: its batches report the assets
    run = instance.add_run(DagsterRun(job_name="streaming_consumer", status=DagsterRunStatus.NOT_STARTED))
    assert run.run_id[:8] in evaluate(keeper, tmp_path, None, instance=instance).skip_message
    instance.handle_new_event(_run_event(run, DagsterEventType.RUN_START))
    assert "started" in evaluate(keeper, tmp_path, None, instance=instance).skip_message
    instance.report_run_failed(run)
    assert "failed: started again in" in evaluate(keeper, tmp_path, None, instance=instance).skip_message
    later = instance.add_run(DagsterRun(job_name="streaming_consumer", status=DagsterRunStatus.STARTED))
    instance.handle_new_event(_run_event(later, DagsterEventType.RUN_SUCCESS))  # stopped by a user: start again
    assert isinstance(evaluate(keeper, tmp_path, None, instance=instance), RunRequest)


def _run_event(run: DagsterRun, kind: DagsterEventType):  # type: ignore[no-untyped-def]
    from dagster import EventLogEntry
    from dagster._core.events import DagsterEvent

    event = DagsterEvent(kind.value, job_name=run.job_name)
    return EventLogEntry(error_info=None, level="INFO", user_message="", run_id=run.run_id, timestamp=time.time(),
                         dagster_event=event)


def test_no_second_run_while_one_for_the_same_assets_is_queued_or_running(tmp_path: Path) -> None:
    """The queue holds at most one run a sensor: new data waits for the run in progress, whoever launched
    it, and is requested by the first tick after it ends (the cursor did not move meanwhile)."""
    playground("generate", "pageviews", "--count", "200", *dataset_args(tmp_path))
    instance = DagsterInstance.ephemeral()
    first = evaluate(new_data, tmp_path, None, instance=instance)
    keys = first.run_requests[0].asset_selection
    # as when the UI launched "Materialize" on one of them
    run = instance.add_run(DagsterRun(job_name="__ASSET_JOB", asset_selection=frozenset(keys[:1]),
                                      status=DagsterRunStatus.STARTED))
    playground("generate", "pageviews", "--count", "10", "--seed", "2", *dataset_args(tmp_path))
    waiting = evaluate(new_data, tmp_path, first.cursor, instance=instance)
    assert run.run_id[:8] in skipped(waiting)
    # once it ends, new data is requested; a run of other assets (a streaming micro-batch) does not hold it back
    instance.add_run(DagsterRun(job_name="__ASSET_JOB", asset_selection=frozenset([AssetKey(["streaming",
                                                                                              "raw_pageviews"])]),
                                status=DagsterRunStatus.STARTED))
    instance.report_run_failed(run)
    assert requested(evaluate(new_data, tmp_path, waiting.cursor, instance=instance)) == [
        "bronze/pageviews", "bronze/stars"]


def test_events_sensor_on_kafka(tmp_path: Path, kafka_bootstrap: str) -> None:
    bus = f"kafka://{kafka_bootstrap}"
    assert skipped(evaluate(new_data, tmp_path, None, bus)) == "no new data"  # no topics yet
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = bus
    playground("generate", "pageviews", "--count", "200", *args)
    first = evaluate(new_data, tmp_path, None, bus)
    assert requested(first) == ["bronze/pageviews", "bronze/stars"]
    assert skipped(evaluate(new_data, tmp_path, first.cursor, bus)) == "no new data"
    playground("generate", "pageviews", "--count", "10", "--seed", "2", *args)
    assert requested(evaluate(new_data, tmp_path, first.cursor, bus)) == ["bronze/pageviews", "bronze/stars"]


def test_each_solution_has_its_own_sensors_and_cloud_ones_start_stopped() -> None:
    bronze = ["new_data", "refresh_silver_and_gold"]  # the refresh: declarative automation
    cloud = [*bronze, "landing_manifests", "terraform_changed"]  # the cloud's streaming engines run on their own
    expected = {"local": [*bronze, "streaming_consumer_running"],
                "databricks": [f"databricks_{name}" for name in cloud],
                "microsoft": [f"microsoft_{name}" for name in cloud]}
    for name, solution in SOLUTIONS.items():
        defs = build_definitions(name)
        sensors = list(defs.sensors)
        assert [s.name for s in sensors] == expected[name]
        assert {s.default_status for s in sensors} == {
            DefaultSensorStatus.RUNNING if name == "local" else DefaultSensorStatus.STOPPED}, name
        prefix = list(solution.key_prefix)
        for sensor in sensors[:1]:  # the bronze sensor requests its own solution's assets only
            keys = sensor.asset_selection.resolve(defs.resolve_asset_graph())
            assert keys and all(key.path[:len(prefix)] == prefix and len(key.path) == len(prefix) + 2 for key in keys)


def test_the_refresh_runs_at_most_once_a_tick_and_only_what_new_data_reaches() -> None:
    """Declarative automation (sensors.refresh_condition), cron */15: what new bronze orders reach is
    requested at the first evaluation after a tick, once a period; nothing new since the refresh, nothing
    requested; a failed refresh is tried again at the next tick."""
    from datetime import UTC, datetime

    from dagster import AssetMaterialization, DagsterInstance, evaluate_automation_conditions

    defs = build_definitions("local")
    graph = defs.resolve_asset_graph()
    instance = DagsterInstance.ephemeral()
    cursor = None

    def made(keys: set[str] | None = None) -> None:
        """Materialized in the graph's order, as a run does."""
        for key in graph.toposorted_asset_keys:
            if keys is None or key.to_user_string() in keys:
                instance.report_runless_asset_event(AssetMaterialization(key))

    def requested_at(hour: int, minute: int) -> set[str]:
        nonlocal cursor
        result = evaluate_automation_conditions(defs, instance, cursor=cursor,
                                                evaluation_time=datetime(2026, 12, 6, hour, minute, tzinfo=UTC))
        cursor = result.cursor
        return {key.to_user_string() for key in result._requested_partitions_by_asset_key}

    def new_orders() -> None:
        made({"bronze/orders", "bronze/items"})

    made()  # as make demo leaves it
    assert requested_at(10, 1) == set()
    new_orders()
    assert requested_at(10, 5) == set()  # no tick since
    reached = requested_at(10, 16)
    assert {"silver/orders", "silver/items", "gold/daily_sales", "ml/order_value_model"} <= reached
    assert not {"silver/users", "silver/products", "silver/pageviews", "silver/stars"} & reached
    made(reached)  # the refresh run
    assert requested_at(10, 17) == requested_at(10, 31) == set()  # nothing new since it
    new_orders()
    assert requested_at(10, 32) == reached  # the first new data after the 10:30 tick
    made(reached)
    new_orders()
    assert requested_at(10, 40) == set()  # once a period
    assert requested_at(10, 46) == reached  # the orders of 10:40, newer than the refresh
    # That run fails (nothing materialized): the next tick tries again, new data or not.
    assert requested_at(10, 50) == set()
    assert requested_at(11, 1) == reached
