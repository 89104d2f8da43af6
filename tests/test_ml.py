"""The order value model end to end: point-in-time features built by dbt, training tracked in a local MLflow
(the ml/ environment, through Pipes), the champion alias, batch scores, and what a user meets when
something is wrong."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from dagster import AssetKey, DagsterInstance, Failure, materialize
from playground.catalog import LANDING_OPS

from dagster_project.ml.assets import MARGIN, ml_assets
from dagster_project.ml.tracking import (
    ML_CLUSTER_LIBRARIES,
    SCRIPT,
    DatabricksModelTracking,
    ModelTracking,
    StagedModelTracking,
)
from dagster_project.resources import LakeResource
from dagster_project.solutions import SOLUTIONS
from dagster_project.spark_jobs import LAUNCHER, DatabricksSparkJobs
from dagster_project.transform.dbt_cli import dbt_command
from tests.conftest import free_port
from tests.helpers import local_assets, local_env, local_resources

# Enough orders a user (10) for their earlier orders to say what they spend.
COUNTS = {"users": 500, "vip_users": 25, "products": 200, "orders": 5_000, "pageviews": 2_000}
MODEL, SCORES = AssetKey(["ml", "order_value_model"]), AssetKey(["ml", "order_value_scores"])
ML_BIN = Path(str(ModelTracking.model_fields["python"].default)).parent


@pytest.fixture(scope="module")
def built_instance() -> DagsterInstance:
    """The Dagster instance that built the features: training records their materialization."""
    return DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def ml_features(tmp_path_factory: pytest.TempPathFactory, built_instance: DagsterInstance) -> Path:
    """Landing -> bronze -> silver -> gold and features, in a temp dir (no model yet)."""
    root = tmp_path_factory.mktemp("ml")
    run_config = {"ops": {name: {"config": {"counts": COUNTS}} for name in LANDING_OPS}}
    result = materialize(local_assets("landing", "bronze", "gold"), resources=local_resources(root),
                         run_config=run_config, instance=built_instance)
    assert result.success
    return root


@pytest.fixture
def ml_playground(ml_features: Path, tmp_path: Path) -> Iterator[Path]:
    """A copy of the built playground, with an MLflow store of its own."""
    root = tmp_path / "root"
    shutil.copytree(ml_features, root, ignore=shutil.ignore_patterns("mlflow", "dagster_home"))
    yield root


def train(root: Path, instance: DagsterInstance, **config: Any) -> Any:
    run_config = {"ops": {"ml__order_value_model": {"config": config}}} if config else None
    return materialize(local_assets("ml"), resources=local_resources(root), instance=instance,
                       selection=[MODEL, SCORES], run_config=run_config, raise_on_error=False)


def metadata(result: Any, key: AssetKey) -> dict[str, Any]:
    [event] = [e for e in result.get_asset_materialization_events() if e.materialization.asset_key == key]
    return {name: getattr(value, "value", value) for name, value in event.materialization.metadata.items()}


def checks(result: Any) -> dict[str, Any]:
    return {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def failure_message(result: Any) -> str:
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    return (error.cause or error).message if error.cause and "Failure" in error.cause.cls_name else error.message


def test_an_orders_features_do_not_move_when_later_data_changes(ml_features: Path, tmp_path: Path) -> None:
    """Orders, pageviews and ratings dated after a moment arrive: the features of every order placed before
    it stay as they were. Pageviews dated before the later orders do move those."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(ml_features / "warehouse.duckdb", warehouse)
    query = "SELECT * FROM features.order_features ORDER BY order_id"
    with duckdb.connect(str(warehouse)) as con:
        before = pl.from_arrow(con.execute(query).to_arrow_table())
        moment = con.execute("SELECT quantile_disc(order_date, 0.5) FROM features.order_features").fetchone()[0]
        top = con.execute("SELECT max(orderId) FROM bronze.orders").fetchone()[0]
        viewed = dict(con.execute("SELECT user_id, count(*) FROM bronze.pageviews GROUP BY 1").fetchall())
        con.execute(f"""
            INSERT INTO bronze.orders SELECT orderId + {top}, userId, orderDate + INTERVAL 400 DAY, orderValue * 3,
                now()::TIMESTAMP, 'later' FROM bronze.orders WHERE orderDate > TIMESTAMP '{moment}';
            INSERT INTO bronze.items SELECT orderId + {top}, rowId, productId, now()::TIMESTAMP, 'later'
                FROM bronze.items
                WHERE orderId IN (SELECT orderId - {top} FROM bronze.orders WHERE _batch_id = 'later');
            INSERT INTO bronze.pageviews SELECT * REPLACE (event_id || '-later' AS event_id,
                strftime(TIMESTAMP '{moment}' + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%M:%S.000Z') AS event_time,
                now()::TIMESTAMP AS _ingested_at) FROM bronze.pageviews;
            INSERT INTO bronze.stars SELECT * REPLACE (event_id || '-later' AS event_id,
                strftime(TIMESTAMP '{moment}' + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%M:%S.000Z') AS event_time,
                now()::TIMESTAMP AS _ingested_at) FROM bronze.stars;""")
    env = local_env(tmp_path, PLAYGROUND_WAREHOUSE=str(warehouse))
    build = subprocess.run(dbt_command("build", "--select", "+order_features", scratch=str(tmp_path)),
                           cwd=Path(__file__).parents[1] / "dbt_project", env=env, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = pl.from_arrow(con.execute(query).to_arrow_table())
    earlier = pl.col("order_date") <= moment
    unchanged = before.filter(earlier).join(after, on="order_id", suffix="_after")
    for column in before.columns[1:]:
        differs = unchanged.filter(pl.col(column).ne_missing(pl.col(f"{column}_after")))
        assert differs.is_empty(), (column, differs.head(3))
    assert before.filter(earlier).height > 1_000
    # The test can tell: what came before the later orders is seen by them.
    later = before.filter(pl.col("order_date") > moment + timedelta(hours=1)).join(after, on="order_id",
                                                                                   suffix="_after")
    added = later["user_id"].replace_strict(viewed, default=0)
    assert (later["prior_pageviews_after"] == later["prior_pageviews"] + added).all()
    assert (added > 0).sum() > 100
    assert after.height > before.height


def test_training_registers_a_champion_that_beats_the_mean_and_scores_the_newest_orders(
        ml_playground: Path, built_instance: DagsterInstance) -> None:
    instance = built_instance
    first = train(ml_playground, instance)
    assert first.success
    model = metadata(first, MODEL)
    assert model["champion_version"] == model["registered_version"] == 1 and model["champion_moved"]
    assert model["best"] in ("gradient_boosting", "linear_regression")
    assert model["champion_rmse"] <= (1 - MARGIN) * model["baseline_mean_rmse"]
    assert model["gradient_boosting_rmse"] < model["baseline_mean_rmse"]
    assert model["train_orders"] + model["held_out_orders"] == 5_000
    found = checks(first)
    assert found["champion_beats_baseline"].passed and found["scores_cover_the_range"].passed
    assert found["training_is_reproducible"].passed
    assert found["training_is_reproducible"].metadata["earlier_runs_on_the_same_data"].value == 0

    scores = pl.read_parquet(ml_playground / "lake" / "gold" / "order_value_scores" / "data.parquet")
    newest = pl.read_parquet(ml_playground / "lake" / "features" / "order_features" / "data.parquet")
    since = newest["order_date"].max() - pl.duration(days=30)
    in_range = newest.filter(pl.col("order_date") > pl.select(since).item())
    assert sorted(scores["order_id"].to_list()) == sorted(in_range["order_id"].to_list())
    assert scores["model_version"].unique().to_list() == [1] and scores["predicted_value"].null_count() == 0

    # The same data again: the same metrics (the check compares), a new version, the champion stays.
    second = train(ml_playground, instance)
    again = metadata(second, MODEL)
    assert again["registered_version"] == 2 and again["champion_version"] == 1 and not again["champion_moved"]
    assert again["gradient_boosting_rmse"] == model["gradient_boosting_rmse"]
    reproducible = checks(second)["training_is_reproducible"]
    assert reproducible.passed and reproducible.metadata["earlier_runs_on_the_same_data"].value == 1

    # MLflow holds it: the run's parameters, metrics and data version, the model with its signature.
    ml_python = str(ModelTracking.model_fields["python"].default)
    tracked = subprocess.run([ml_python, "-c", MLFLOW_READ, f"sqlite:///{ml_playground}/mlflow/mlflow.db",
                              model["mlflow_run"]], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "MLFLOW_LOGGING_LEVEL": "ERROR"})
    assert tracked.returncode == 0, tracked.stderr[-2000:]
    params, tags, champion, signature = tracked.stdout.strip().split("\n")
    assert "cutoff" in params and "train_orders" in params
    assert "data_fingerprint" in tags and "features_run_id" in tags
    assert champion == "1"
    assert "prior_mean_value" in signature


MLFLOW_READ = """
import sys, mlflow
from mlflow.tracking import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
client = MlflowClient()
run = client.get_run(sys.argv[2])
print(sorted(run.data.params))
print(sorted(run.data.tags))
print(client.get_model_version_by_alias("order_value", "champion").version)
info = mlflow.models.get_model_info("models:/order_value/1")
print(info.signature.inputs.input_names())
"""


def test_a_champion_that_cannot_load_fails_scoring_naming_it_and_the_old_scores_stay(ml_playground: Path) -> None:
    instance = DagsterInstance.ephemeral()
    assert train(ml_playground, instance).success
    scores = ml_playground / "lake" / "gold" / "order_value_scores" / "data.parquet"
    kept = scores.read_bytes()
    shutil.rmtree(ml_playground / "mlflow" / "artifacts")  # the champion's files gone
    result = materialize(local_assets("ml"), resources=local_resources(ml_playground), instance=instance,
                         selection=[SCORES], raise_on_error=False)
    assert not result.success
    message = failure_message(result)
    assert "version 1 of model order_value cannot be loaded" in message
    assert "the scores of the previous run stay" in message
    assert scores.read_bytes() == kept


def test_a_training_set_too_small_to_split_says_so(ml_playground: Path) -> None:
    result = train(ml_playground, DagsterInstance.ephemeral(), cutoff="2010-09-01")
    assert not result.success
    message = failure_message(result)
    assert "too few orders to split at 2010-09-01" in message and "from it on (at least 100 each)" in message
    assert not (ml_playground / "lake" / "gold" / "order_value_scores" / "data.parquet").exists()


def test_a_tracking_store_of_another_mlflow_is_named_and_left_as_it_is(ml_playground: Path) -> None:
    """A store whose database another MLflow version wrote (its schema revision unknown here): one error naming
    the store and what to do; the database is not touched."""
    import sqlite3

    store = ml_playground / "mlflow" / "mlflow.db"
    store.parent.mkdir()
    made = subprocess.run([str(ML_BIN / "python"), "-c", "import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); "
                           "mlflow.search_experiments()", f"sqlite:///{store}"], capture_output=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    with sqlite3.connect(store) as db:  # as a later MLflow leaves it: a revision this one does not know
        db.execute("UPDATE alembic_version SET version_num = '0123456789ab'")
    def contents() -> list[tuple]:
        with sqlite3.connect(store) as db:
            return [(name, db.execute(f"SELECT * FROM {name}").fetchall()) for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    kept = contents()
    result = train(ml_playground, DagsterInstance.ephemeral())
    message = failure_message(result)
    assert not result.success and f"cannot open the tracking store sqlite:///{store}" in message
    assert "Move the store aside (or point PLAYGROUND_MLFLOW at a new folder)" in message
    assert contents() == kept


def test_without_the_ml_environment_one_error_says_how_to_install_it(tmp_path: Path) -> None:
    tracking = ModelTracking(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", python=str(tmp_path / "missing/python"))
    with pytest.raises(Failure, match=r"the ML environment is missing .*run `make setup`"):
        tracking.run(None, "train", {})  # type: ignore[arg-type]


@pytest.mark.integration
def test_on_plain_data_the_champion_cannot_beat_the_mean_and_the_check_says_so(tmp_path: Path) -> None:
    """Without the shop's behaviour an order's value is random draws: nothing about a user predicts it, so the
    check that demands a margin over the mean fails (it is not a check that cannot fail)."""
    plain = {"counts": COUNTS, "plain": True}
    instance = DagsterInstance.ephemeral()
    built = materialize(local_assets("landing", "bronze", "gold"), resources=local_resources(tmp_path),
                        run_config={"ops": {name: {"config": plain} for name in LANDING_OPS}}, instance=instance)
    assert built.success
    result = train(tmp_path, instance)
    beats = checks(result)["champion_beats_baseline"]
    assert not beats.passed
    assert beats.metadata["ratio"].value > 1 - MARGIN


DATABRICKS = SOLUTIONS["databricks"]


@pytest.mark.e2e
def test_the_databricks_solution_trains_and_scores_on_spark_tables_like_the_local_one(
        ml_playground: Path, tmp_path: Path) -> None:
    """The Databricks solution's ML assets, its training code run on local PySpark by Pipes' subprocess client
    and tracked to a local MLflow: the features a Spark table, the scores and the history Spark tables (Unity
    Catalog's on Databricks). On the same features: the same candidates' metrics and the same scores as the
    local solution's."""
    instance = DagsterInstance.ephemeral()
    local = train(ml_playground, instance)
    assert local.success
    tables = tmp_path / "spark"
    (tables / "features" / "order_features").mkdir(parents=True)
    shutil.copy(ml_playground / "lake" / "features" / "order_features" / "data.parquet",
                tables / "features" / "order_features" / "part-0.parquet")
    tracking = ModelTracking(tracking_uri=f"sqlite:///{tmp_path}/mlflow/mlflow.db",
                             artifact_location=(tmp_path / "mlflow" / "artifacts").as_uri(), catalog="spark_catalog",
                             table_format="parquet", table_folders=str(tables))
    spark = materialize(ml_assets(DATABRICKS, dashboard=False), resources={"model_tracking": tracking},
                        instance=instance, raise_on_error=False)
    assert spark.success
    here, there = metadata(local, MODEL), metadata(spark, AssetKey(["databricks", *MODEL.path]))
    for name in ("baseline_mean", "linear_regression", "gradient_boosting"):
        for metric in ("rmse", "mae", "r2"):
            assert there[f"{name}_{metric}"] == pytest.approx(here[f"{name}_{metric}"], rel=1e-9), (name, metric)
    assert (there["best"], there["champion_version"], there["train_orders"]) == (
        here["best"], 1, here["train_orders"])
    assert there["history"] == "spark_catalog.ml.order_value_history"
    assert all(result.passed for result in checks(spark).values()), checks(spark)

    scored = metadata(spark, AssetKey(["databricks", *SCORES.path]))
    assert scored["location"] == "spark_catalog.ml.order_value_scores"
    on_spark = pl.read_parquet(tables / "ml" / "order_value_scores" / "*.parquet").sort("order_id")
    locally = pl.read_parquet(ml_playground / "lake" / "gold" / "order_value_scores" / "data.parquet")
    assert on_spark["order_id"].to_list() == locally["order_id"].to_list() and scored["rows"] == locally.height
    assert (on_spark["predicted_value"] - locally["predicted_value"]).abs().max() < 1e-9
    assert on_spark["model_version"].unique().to_list() == [1]
    assert pl.read_parquet(tables / "ml" / "order_value_history" / "*.parquet")["registered_version"].to_list() == [1]


def test_on_databricks_training_runs_the_wheel_on_an_ml_job_cluster_registering_in_unity_catalog() -> None:
    jobs = DatabricksSparkJobs(host="adb-1.azuredatabricks.net", token="t", storage_account="acct",
                               catalog="playground", volume="/Volumes/playground/bronze/artifacts/",
                               wheels="data_playground-0.1.0-py3-none-any.whl,playground_generators-0.1.0-py3-none-any.whl",
                               secret_scope="playground",
                               streaming_job_id="123")
    tracking = DatabricksModelTracking(jobs=jobs, catalog="playground", experiment="/Shared/dp-order-value")
    task = tracking.task("train")
    assert "-ml-" in task["new_cluster"]["spark_version"]  # Databricks Runtime ML
    assert task["spark_python_task"] == {
        "python_file": f"/Volumes/playground/bronze/artifacts/{LAUNCHER}",
        "parameters": ["/Volumes/playground/bronze/artifacts/data_playground-0.1.0-py3-none-any.whl,"
                       "/Volumes/playground/bronze/artifacts/playground_generators-0.1.0-py3-none-any.whl",
                       "dagster_project.on_ml.order_value", "train"]}
    assert (tracking.tracking_uri, tracking.registry_uri, tracking.registered_name) == (
        "databricks", "databricks-uc", "playground.ml.order_value")
    assert tracking.data() == {"store": "tables", "table_format": "delta", "table_folders": "",
                               "features": "playground.features.order_features",
                               "scores": "playground.ml.order_value_scores",
                               "history": "playground.ml.order_value_history"}
    assert tracking.model_url(3) == ("https://adb-1.azuredatabricks.net/explore/data/models/playground/ml/"
                                     "order_value/version/3")
    # The cluster installs what the ML environment locks: a model saved on one side loads on the other.
    lock = (Path(__file__).parents[1] / "ml" / "uv.lock").read_text()
    for pin in ML_CLUSTER_LIBRARIES:
        name, version = pin.split("==")
        assert f'name = "{name}"\nversion = "{version}"' in lock, pin
    assert {lib["pypi"]["package"] for lib in task["libraries"]} == set(ML_CLUSTER_LIBRARIES)


MICROSOFT = SOLUTIONS["microsoft"]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """An MLflow tracking server over HTTP (what Azure Machine Learning's MLflow endpoint is to the plugin)."""
    port = free_port()
    store = tmp_path / "server"
    store.mkdir()
    log = (store / "server.log").open("w")
    server = subprocess.Popen(
        [str(ML_BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{store}/mlflow.db",
         "--artifacts-destination", (store / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError as error:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"no MLflow server at {url}: {(store / 'server.log').read_text()[-2000:]}"
                                       ) from error
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def published_features(ml_playground: Path, lake: Path) -> None:
    """The features as a cloud warehouse publishes them: parts in a stamped folder named by _latest."""
    folder = lake / "gold" / "order_features"
    table = pl.read_parquet(ml_playground / "lake" / "features" / "order_features" / "data.parquet")
    (folder / "20261206T101500000000").mkdir(parents=True)
    half = table.height // 2
    table.head(half).write_parquet(folder / "20261206T101500000000" / "part-00000.parquet")
    table.tail(table.height - half).write_parquet(folder / "20261206T101500000000" / "part-00001.parquet")
    (folder / "_latest").write_text("20261206T101500000000")


@pytest.mark.e2e
def test_the_microsoft_solution_trains_on_the_published_features_tracked_to_an_mlflow_server(
        ml_playground: Path, tmp_path: Path, mlflow_server: str) -> None:
    """The Microsoft solution's ML assets: the features Synapse published to the lake, training in the ML
    environment tracked to an MLflow server over HTTP (Azure Machine Learning's, here a local one), the model
    registered there with its champion, the scores and history written back to the lake. On the same features:
    the same metrics and scores as the local solution's."""
    instance = DagsterInstance.ephemeral()
    local = train(ml_playground, instance)
    assert local.success
    lake = tmp_path / "azure_lake"
    tracking = StagedModelTracking(tracking_uri=mlflow_server, published=LakeResource(root=str(lake)))
    missing = materialize(ml_assets(MICROSOFT, dashboard=False), resources={"model_tracking": tracking},
                          instance=instance, raise_on_error=False, selection=[AssetKey(["microsoft", *MODEL.path])])
    assert "no order features published at" in failure_message(missing)

    published_features(ml_playground, lake)
    azure = materialize(ml_assets(MICROSOFT, dashboard=False), resources={"model_tracking": tracking},
                        instance=instance, raise_on_error=False)
    assert azure.success
    here, there = metadata(local, MODEL), metadata(azure, AssetKey(["microsoft", *MODEL.path]))
    for name in ("baseline_mean", "linear_regression", "gradient_boosting"):
        assert there[f"{name}_rmse"] == pytest.approx(here[f"{name}_rmse"], rel=1e-9), name
    assert there["mlflow_run_url"].startswith(f"{mlflow_server}/#/experiments/")
    assert all(result.passed for result in checks(azure).values()), checks(azure)

    # The registry is the server's: the champion alias and the version with its signature.
    with urllib.request.urlopen(f"{mlflow_server}/api/2.0/mlflow/registered-models/alias?name=order_value"
                                "&alias=champion", timeout=10) as answer:
        assert json.load(answer)["model_version"]["version"] == "1"
    scores = pl.read_parquet(lake / "gold" / "order_value_scores" / "data.parquet")
    locally = pl.read_parquet(ml_playground / "lake" / "gold" / "order_value_scores" / "data.parquet")
    assert scores["order_id"].to_list() == locally["order_id"].to_list()
    assert (scores["predicted_value"] - locally["predicted_value"]).abs().max() < 1e-9
    assert metadata(azure, AssetKey(["microsoft", *SCORES.path]))["location"] == str(
        lake / "gold" / "order_value_scores" / "data.parquet")
    assert pl.read_parquet(lake / "gold" / "order_value_history" / "data.parquet").height == 1


@pytest.mark.integration
def test_without_azure_credentials_training_says_how_to_sign_in(
        ml_playground: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    lake = tmp_path / "azure_lake"
    published_features(ml_playground, lake)
    uri = ("azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/0/resourceGroups/playground/providers/"
           "Microsoft.MachineLearningServices/workspaces/playground-ml")
    tracking = StagedModelTracking(tracking_uri=uri, published=LakeResource(root=str(lake)))
    result = materialize(ml_assets(MICROSOFT, dashboard=False), resources={"model_tracking": tracking},
                         instance=DagsterInstance.ephemeral(), raise_on_error=False,
                         selection=[AssetKey(["microsoft", *MODEL.path])])
    message = failure_message(result)
    assert f"Failure: could not sign in to {uri} (" in message
    assert "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET" in message
    assert not (lake / "gold" / "order_value_scores").exists()  # nothing written


def test_the_split_reads_only_its_samples_in_order_id_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 40: the split holds the keys and its two samples, read in pieces, never every order's features."""
    import numpy as np
    import pyarrow as pa

    from dagster_project.on_ml import order_value

    monkeypatch.setattr(order_value, "MIN_ORDERS", 1)
    monkeypatch.setattr(order_value, "MAX_TRAINING_ORDERS", 3)
    monkeypatch.setattr(order_value, "MAX_HELD_OUT_ORDERS", 2)
    ids = [7, 3, 9, 1, 5, 8, 2, 6, 4, 10]  # the file's order is not the ids'
    days = [f"2024-01-{1 + (i > 5) * 10:02d}" for i in ids]  # ids 1-5 before the 11th, 6-10 from it on
    table = pa.table({"order_id": ids, "order_date": pa.array(days).cast(pa.timestamp("us")),
                      "order_value": [float(i) if i != 3 else None for i in ids], "is_vip": [i % 2 for i in ids]})
    pieces = [table.slice(0, 4), *table.slice(4).to_batches(max_chunksize=3)]

    def rows(*id_sets: np.ndarray) -> list:
        return order_value.rows_of(pieces, id_sets)

    first, again = (order_value.split(table, "2024-01-11", rows) for _ in range(2))
    train, test = list(first.train["order_id"]), list(first.test["order_id"])
    assert len(train) == 3 and set(train) <= {1, 2, 4, 5} and train == sorted(train)  # 3 has no value
    assert len(test) == 2 and set(test) <= {6, 7, 8, 9, 10} and test == sorted(test)
    assert (list(again.train["order_id"]), list(again.test["order_id"])) == (train, test)  # seeded
    assert list(first.train["is_vip"]) == [i % 2 for i in train]  # each id's own row


SIGNATURES = """
import sys
import numpy as np, pandas as pd
from mlflow.models import infer_signature
sys.path.insert(0, sys.argv[1])
from order_value import signature_rows
frame = pd.DataFrame({"always": np.arange(5_000.0), "late_gap": np.arange(5_000.0), "early_gap": np.arange(5_000.0)})
frame.loc[4_321, "late_gap"] = np.nan  # past the first rows
frame.loc[3, "early_gap"] = np.nan
rows = signature_rows(frame)
whole, sampled, head = (infer_signature(f).to_dict() for f in (frame, rows, frame.head(1_000)))
print(len(rows), sampled == whole, head == whole, whole["inputs"])
"""


@pytest.mark.integration
def test_the_models_signature_is_inferred_from_a_few_rows_as_from_every_row() -> None:
    """Issue 40: MLflow's inference looked at all 1M training rows in Python (17 s of the medium training)."""
    found = subprocess.run([str(ML_BIN / "python"), "-c", SIGNATURES, str(Path(SCRIPT).parent)], capture_output=True,
                           text=True, timeout=120, env={**os.environ, "MLFLOW_LOGGING_LEVEL": "ERROR"})
    assert found.returncode == 0, found.stderr[-2000:]
    count, same, head_alone_same, inputs = found.stdout.strip().split(" ", 3)
    # the first thousand rows and the late gap's row; the head alone would call late_gap required
    assert (count, same, head_alone_same) == ("1001", "True", "False")
    assert '"name": "late_gap", "required": false' in inputs and '"name": "always", "required": true' in inputs
