"""What Dagster keeps of its history: automatic runs a few hours, the others a week, never the run holding an
asset's newest materialization; a deleted run leaves no event, check execution, file or captured log; the
automation's evaluations go with the automatic runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AutomationCondition,
    DagsterInstance,
    asset,
    asset_check,
    evaluate_automation_conditions,
    materialize,
)
from dagster._core.storage.tags import SENSOR_NAME_TAG
from dagster._core.test_utils import instance_for_test
from playground.errors import PlaygroundError

from dagster_project.history import Keep, delete_runs, prune, runs_to_delete

pytestmark = pytest.mark.unit
SENSOR = {SENSOR_NAME_TAG: "new_data"}


@asset
def orders() -> None:
    return None


@asset_check(asset=orders)
def orders_are_there() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset
def users() -> None:
    return None


@asset
def broken() -> None:
    raise RuntimeError("a failed run")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def run(instance: DagsterInstance, assets: list, tags: dict[str, str] | None = None) -> str:
    result = materialize([*assets, orders_are_there] if orders in assets else assets, instance=instance,
                         tags=tags or {}, raise_on_error=False)
    return result.run_id


def test_runs_are_kept_by_who_launched_them_and_what_they_hold(instance: DagsterInstance, tmp_path: Path) -> None:
    older = run(instance, [orders], SENSOR)   # automatic, succeeded
    newest = run(instance, [orders], SENSOR)  # holds orders' newest materialization
    by_hand = run(instance, [users])          # from the UI or the CLI: holds users' newest too
    failed = run(instance, [broken], SENSOR)  # a failure is kept like a run by hand
    users_again = run(instance, [users])
    now = datetime.now(UTC)
    keep = Keep(automatic=timedelta(hours=3), other=timedelta(days=7))

    assert runs_to_delete(instance, keep, now) == []
    assert runs_to_delete(instance, keep, now + timedelta(hours=4)) == [older]
    assert runs_to_delete(instance, keep, now + timedelta(days=8)) == [older, by_hand, failed]
    assert newest not in runs_to_delete(instance, keep, now + timedelta(days=30))
    assert users_again not in runs_to_delete(instance, keep, now + timedelta(days=30))

    shard = tmp_path / "history" / "runs" / f"{older}.db"
    assert shard.exists() and instance.get_records_for_run(older).records and (tmp_path / "storage" / older).exists()
    assert delete_runs(instance, [older]) == 1
    assert instance.get_run_by_id(older) is None
    materialized = instance.fetch_materializations(orders.key, limit=10).records
    assert [record.run_id for record in materialized] == [newest]  # the index holds none of the deleted run's
    assert not shard.exists() and not (tmp_path / "storage" / older).exists()
    checks = instance.event_log_storage.get_asset_check_execution_history(orders_are_there.check_key, limit=10)
    assert [execution.run_id for execution in checks] == [newest]
    latest = instance.get_latest_materialization_event(orders.key)
    assert latest is not None and latest.run_id == newest  # the asset's page still shows its last run


def test_a_bad_keeping_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_KEEP_AUTOMATIC_HOURS", "three")
    with pytest.raises(PlaygroundError, match="PLAYGROUND_KEEP_AUTOMATIC_HOURS='three' is not a number"):
        Keep.from_environment()
    monkeypatch.setenv("PLAYGROUND_KEEP_AUTOMATIC_HOURS", "0.5")
    monkeypatch.setenv("PLAYGROUND_KEEP_DAYS", "1")
    assert Keep.from_environment() == Keep(timedelta(minutes=30), timedelta(days=1))
    assert os.environ["PLAYGROUND_KEEP_DAYS"] == "1"


@asset(automation_condition=AutomationCondition.missing())
def refreshed() -> None:
    return None


def test_the_automations_evaluations_are_kept_as_long_as_automatic_runs(instance: DagsterInstance) -> None:
    """Dagster keeps them 30 days, ~50 MB an hour under make up."""
    from dagster._core.definitions.declarative_automation.serialized_objects import (
        AutomationConditionEvaluationWithRunIds,
    )

    [result] = evaluate_automation_conditions(defs=[refreshed], instance=instance).results
    storage = instance.schedule_storage
    assert storage is not None
    storage.add_auto_materialize_asset_evaluations(
        1, [AutomationConditionEvaluationWithRunIds(result.serializable_evaluation, frozenset())])
    keep, now = Keep(automatic=timedelta(hours=3)), datetime.now(UTC)
    prune(instance, keep, now)
    assert len(storage.get_auto_materialize_asset_evaluations(refreshed.key, limit=10)) == 1
    prune(instance, keep, now + timedelta(hours=4))
    assert storage.get_auto_materialize_asset_evaluations(refreshed.key, limit=10) == []
