"""The order value model: trained, registered and scored where MLflow and scikit-learn live (the ml/
environment locally, a job cluster on Databricks), launched by Dagster through Pipes. Imports nothing of
the project: it runs where only those packages are installed.

The features it reads and the scores and history it writes are Parquet files in the local lake (`Files`),
or Spark tables (`Tables`): Unity Catalog on Databricks, where scoring runs on the cluster's workers.

`train`: orders before a cut-off date are the training set, the orders after it the held-out set. The
mean (baseline), a linear regression (the original's train_LR) and gradient-boosted trees are trained and
tracked as one MLflow run each, nested in the training run; the best is registered as a new version of
the model, and the alias `champion` moves to it only when it beats the current champion on this held-out
set. `score`: the champion's predictions for the newest orders, with the version that made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

FEATURES = ["is_vip", "order_month", "order_weekday", "prior_orders", "prior_mean_value", "prior_max_value",
            "days_since_previous_order", "prior_pageviews", "prior_ratings", "prior_mean_stars"]
LABEL = "order_value"
CHAMPION = "champion"
HELD_OUT_SHARE = 0.2  # without a cut-off date: the newest fifth of the orders is held out
MIN_ORDERS = 100  # on each side of the cut-off
SCORE_BATCH = 1_000_000  # orders scored at a time
# The candidates learn from at most this many orders before the cut-off, and are compared on at most that many
# after it, seeded samples: at the medium scale (8M before the cut-off) the trees would take minutes and
# gigabytes for little gain, and at the large scale the 20M held out would take 2 GiB to hold.
MAX_TRAINING_ORDERS = 1_000_000
MAX_HELD_OUT_ORDERS = 2_000_000
SEED = 0
# What the candidates' saved form (skops, MLflow's safe format for scikit-learn) holds beyond scikit-learn.
TRUSTED_TYPES = ["numpy.dtype", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


class ModelError(Exception):
    """What the user must fix, said in one sentence."""


@dataclass(frozen=True)
class Split:
    cutoff: pd.Timestamp
    train: pd.DataFrame
    test: pd.DataFrame


READ_COLUMNS = ["order_id", "order_date", *FEATURES, LABEL]
KEY_COLUMNS = ["order_id", "order_date", LABEL]
READ_BATCH = 500_000  # feature rows read at a time
SCORE_COLUMNS = ["order_id", "user_id", "order_date", "predicted_value", "order_value", "model_version"]


def missing_features(where: str) -> ModelError:
    return ModelError(f"no order features at {where}: materialize features/order_features first")


def since_newest(newest: Any, days: int) -> pd.Timestamp:
    if newest is None or pd.isna(newest):
        raise ModelError("no orders to score: the order features are empty")
    return pd.Timestamp(newest) - pd.Timedelta(days=days)


def scored_frame(batch: pd.DataFrame, predicted: np.ndarray, version: int) -> pd.DataFrame:
    return pd.DataFrame({"order_id": batch["order_id"].to_numpy(), "user_id": batch["user_id"].to_numpy(),
                         "order_date": batch["order_date"].to_numpy(), "predicted_value": predicted,
                         "order_value": batch[LABEL].to_numpy(), "model_version": version})


class Files:
    """Parquet files: the features one file (the local lake's) or a folder of parts (a warehouse's, staged), the
    scores and the history written whole, one file each."""

    def __init__(self, extras: dict[str, Any]):
        self.features, self.outputs = extras["features"], {"scores": extras["scores"], "history": extras["history"]}

    def keys(self) -> pa.Table:
        """What the split is made from (KEY_COLUMNS), as Arrow."""
        import pyarrow.parquet as pq

        if not os.path.exists(self.features):
            raise missing_features(self.features)
        return pq.read_table(self.features, columns=KEY_COLUMNS)

    def rows(self, *id_sets: np.ndarray) -> list[pd.DataFrame]:
        """The features' rows of each set of order ids, read in pieces: at the medium scale the whole file
        (10M orders) took 1.6 GiB to hold, the two sets of the split 0.3 GiB."""
        import pyarrow.dataset as ds

        return rows_of(ds.dataset(self.features, format="parquet").to_batches(
            columns=READ_COLUMNS, batch_size=READ_BATCH, batch_readahead=1, fragment_readahead=1), id_sets)

    def fingerprint(self) -> str:
        """The features' bytes: the file's, or the folder's parts' in name order (hidden and `_` names are not
        data, as pyarrow reads a folder)."""
        paths = ([os.path.join(self.features, name) for name in sorted(os.listdir(self.features))
                  if not name.startswith((".", "_"))] if os.path.isdir(self.features) else [self.features])
        digest = hashlib.sha256()
        for path in paths:
            with open(path, "rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
        return digest.hexdigest()[:16]

    def write(self, name: str, frame: pd.DataFrame) -> str:
        """Readers see the old file or the new one, whole."""
        target = self.outputs[name]
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=os.path.dirname(target), prefix=".", suffix=".parquet",
                                         delete=False) as tmp:
            frame.to_parquet(tmp.name, index=False)
        os.replace(tmp.name, target)
        return target

    def score(self, model: Any, version: int, days: int) -> dict[str, Any]:
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        if not os.path.exists(self.features):
            raise missing_features(self.features)
        dates = pq.read_table(self.features, columns=["order_date"])["order_date"].to_numpy()
        since = since_newest(dates.max() if len(dates) else None, days)
        columns = list(model.feature_names_in_)
        parts, predict_seconds = [], 0.0
        # A million orders at a time: memory stays bounded however many days are scored.
        for batch in ds.dataset(self.features, format="parquet").to_batches(
                columns=["order_id", "user_id", "order_date", *columns, LABEL], batch_size=SCORE_BATCH,
                batch_readahead=1, fragment_readahead=1, filter=self._after(since)):  # (pyarrow reads 16 ahead)
            newest = batch.to_pandas()
            began = time.perf_counter()
            predicted = model.predict(features_of(newest, columns)) if len(newest) else np.array([], "float64")
            predict_seconds += time.perf_counter() - began
            parts.append(scored_frame(newest, predicted, version))
        scores = pd.concat(parts) if parts else pd.DataFrame(columns=SCORE_COLUMNS)
        where = self.write("scores", scores.sort_values("order_id", kind="stable").reset_index(drop=True))
        return {"predict_seconds": predict_seconds, "since": since, "location": where}

    @staticmethod
    def _after(since: pd.Timestamp) -> Any:
        import pyarrow.dataset as ds

        return ds.field("order_date") > pa.scalar(since.to_pydatetime(), pa.timestamp("us"))

    def coverage(self, since: pd.Timestamp) -> dict[str, int]:
        """What the scores file holds against the features of the scored days, each read again."""
        import pyarrow.compute as pc
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        scores = pq.read_table(self.outputs["scores"], columns=["order_id", "predicted_value"])
        return {"orders_in_range": ds.dataset(self.features, format="parquet").count_rows(filter=self._after(since)),
                "scores": scores.num_rows, "distinct_orders": pc.count_distinct(scores["order_id"]).as_py(),
                "without_a_prediction": scores["predicted_value"].null_count}


class Tables:
    """Spark tables: the features `<catalog>.features.order_features`, the outputs `<catalog>.ml.<name>` (Unity
    Catalog and Delta on Databricks). Locally, with `table_folders`, the session's catalog over folders
    `<folders>/<schema>/<table>` in Parquet (Delta's jars would be downloaded)."""

    def __init__(self, extras: dict[str, Any]):
        from pyspark.sql import SparkSession

        self.folders = extras.get("table_folders") or ""
        builder = SparkSession.builder.appName("order_value")
        if self.folders:  # a local session: Spark's own files under the folders, not the working directory
            builder = builder.config("spark.sql.warehouse.dir", f"{self.folders}/_spark").config(
                "spark.ui.enabled", "false")
        self.spark = builder.getOrCreate()
        # Dates as the files have them (UTC), and pandas frames through Arrow.
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
        self.format = extras.get("table_format") or "delta"
        self.features, self.outputs = extras["features"], {"scores": extras["scores"], "history": extras["history"]}
        self._fingerprint = ""
        self._read = pa.table({})  # the features, once keys() read them
        if self.folders:  # the features' files are there already: a table over them
            self._schema(self.features)
            self.spark.sql(f"CREATE TABLE IF NOT EXISTS {self.features} USING parquet "
                           f"LOCATION '{self._folder(self.features)}'")

    def _folder(self, table: str) -> str:
        schema, name = table.split(".")[-2:]
        return f"{self.folders}/{schema}/{name}"

    def _schema(self, table: str) -> None:
        schema = table.rsplit(".", 1)[0]
        where = f" LOCATION '{self.folders}/{schema.split('.')[-1]}'" if self.folders else ""
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema}{where}")

    def _table(self) -> Any:
        from pyspark.errors import AnalysisException

        try:
            return self.spark.table(self.features)
        except AnalysisException as error:
            raise missing_features(f"table {self.features}") from error

    def keys(self) -> pa.Table:
        """The features on the driver, as Arrow, numbers as doubles; their fingerprint a hash of the rows
        whatever their order (Spark's files and partitions give no order)."""
        from pyspark.sql import functions as F

        frame = self._table().select(
            F.col("order_id").cast("bigint"), F.col("order_date").cast("timestamp"),
            *[F.col(name).cast("double") for name in [*FEATURES, LABEL]]).toPandas()
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        self._fingerprint = hashlib.sha256(f"{len(rows)}:{int(rows.sum(dtype='uint64'))}".encode()).hexdigest()[:16]
        self._read = pa.Table.from_pandas(frame, preserve_index=False)
        return self._read

    def rows(self, *id_sets: np.ndarray) -> list[pd.DataFrame]:
        return rows_of([self._read], id_sets)

    def fingerprint(self) -> str:
        return self._fingerprint

    def _save(self, frame: Any, name: str) -> str:
        table = self.outputs[name]
        self._schema(table)
        writer = frame.write.mode("overwrite").format(self.format)
        if self.format == "delta":
            writer = writer.option("overwriteSchema", "true")
        if self.folders:
            writer = writer.option("path", self._folder(table))
        writer.saveAsTable(table)
        return table

    def write(self, name: str, frame: pd.DataFrame) -> str:
        return self._save(self.spark.createDataFrame(frame), name)

    def _since(self, days: int) -> pd.Timestamp:
        from pyspark.sql import functions as F

        # As text in the session's time zone: Python datetimes from Spark would be in the process's.
        [newest] = self._table().agg(F.date_format(F.max("order_date"), "yyyy-MM-dd HH:mm:ss.SSSSSS")).first()
        return since_newest(newest, days)

    def _after(self, since: pd.Timestamp) -> Any:
        from pyspark.sql import functions as F

        return F.col("order_date") > F.to_timestamp(F.lit(f"{since:%Y-%m-%d %H:%M:%S.%f}"))

    def score(self, model: Any, version: int, days: int) -> dict[str, Any]:
        """Scored on the cluster's workers, a partition at a time; written as the scores table."""
        from pyspark.sql import functions as F

        since = self._since(days)
        columns = list(model.feature_names_in_)
        rows = self._table().where(self._after(since)).select(
            F.col("order_id").cast("bigint"), F.col("user_id").cast("bigint"), F.col("order_date").cast("timestamp"),
            *[F.col(name).cast("double") for name in dict.fromkeys([*columns, LABEL])])
        seconds = self.spark.sparkContext.accumulator(0.0)

        def predict(batches: Any) -> Any:
            for batch in batches:
                began = time.perf_counter()
                predicted = model.predict(features_of(batch, columns)) if len(batch) else np.array([], "float64")
                seconds.add(time.perf_counter() - began)
                yield scored_frame(batch, predicted, version)

        schema = ("order_id bigint, user_id bigint, order_date timestamp, predicted_value double, "
                  "order_value double, model_version bigint")
        where = self._save(rows.mapInPandas(predict, schema=schema), "scores")
        return {"predict_seconds": seconds.value, "since": since, "location": where}

    def coverage(self, since: pd.Timestamp) -> dict[str, int]:
        from pyspark.sql import functions as F

        scores = self.spark.table(self.outputs["scores"])
        [(total, distinct, unscored)] = scores.agg(
            F.count(F.lit(1)), F.countDistinct("order_id"), F.count(F.when(F.col("predicted_value").isNull(), 1))
        ).collect()
        return {"orders_in_range": self._table().where(self._after(since)).count(), "scores": total,
                "distinct_orders": distinct, "without_a_prediction": unscored}


def store_for(extras: dict[str, Any]) -> Files | Tables:
    return Tables(extras) if extras.get("store") == "tables" else Files(extras)


def rows_of(pieces: Iterable[pa.Table | pa.RecordBatch], id_sets: tuple[np.ndarray, ...]) -> list[pd.DataFrame]:
    """The rows of each set of order ids among `pieces`, each set's in order_id order. Ids are looked up in an
    array indexed by id, the sets' numbers (one byte an id up to the highest: 10 MB for 10M orders)."""
    highest = max((int(ids.max()) for ids in id_sets if len(ids)), default=-1)
    set_of = np.zeros(highest + 2, np.int8)  # 0: in no set (and every id above the highest)
    for number, ids in enumerate(id_sets, 1):
        set_of[ids] = number
    found: list[list[pa.Table]] = [[] for _ in id_sets]
    for piece in pieces:
        ids = piece["order_id"].to_numpy()
        numbers = set_of[np.minimum(ids, highest + 1)]
        for number, rows in enumerate(found, 1):
            taken = piece.filter(pa.array(numbers == number))
            rows.append(pa.Table.from_batches([taken]) if isinstance(taken, pa.RecordBatch) else taken)
    frames = []
    for rows in found:  # each set's Arrow memory given back as its frame is made
        table = pa.concat_tables(rows).sort_by("order_id")
        rows.clear()
        frames.append(table.to_pandas(split_blocks=True, self_destruct=True))
        del table
    return frames


def sample_of(rows: np.ndarray, most: int) -> np.ndarray:
    """At most `most` of `rows`, a seeded sample in their order."""
    if len(rows) <= most:
        return rows
    return rows[np.sort(np.random.default_rng(SEED).choice(len(rows), most, replace=False))]


def split(keys: pa.Table, cutoff: str | None, rows: Callable[..., list[pd.DataFrame]]) -> Split:
    """The orders with a value before the cut-off to train on, those from it on held out (at most
    MAX_TRAINING_ORDERS and MAX_HELD_OUT_ORDERS of them, seeded samples), each by order_id whatever the file's
    order; the cut-off defaults to the day that leaves HELD_OUT_SHARE of the orders after it. `keys` holds
    KEY_COLUMNS of every order, `rows` reads the features of sets of order ids."""
    valid = keys[LABEL].is_valid().to_numpy(zero_copy_only=False)
    dates = keys["order_date"].to_numpy().astype("datetime64[ns]")
    nanoseconds = int(np.quantile(dates[valid].astype("int64"), 1 - HELD_OUT_SHARE)) if valid.any() else 0
    when = pd.Timestamp(cutoff) if cutoff else pd.Timestamp(nanoseconds).normalize()
    before = dates < when.to_datetime64()
    ids = keys["order_id"].to_numpy()

    def by_id(rows: np.ndarray) -> np.ndarray:
        return rows[np.argsort(ids[rows], kind="stable")]

    train_rows, test_rows = by_id(np.flatnonzero(valid & before)), by_id(np.flatnonzero(valid & ~before))
    train_rows, test_rows = sample_of(train_rows, MAX_TRAINING_ORDERS), sample_of(test_rows, MAX_HELD_OUT_ORDERS)
    if len(train_rows) < MIN_ORDERS or len(test_rows) < MIN_ORDERS:
        raise ModelError(f"too few orders to split at {when:%Y-%m-%d}: {len(train_rows):,} before it and "
                         f"{len(test_rows):,} from it on (at least {MIN_ORDERS} each); generate more orders or move "
                         "the cut-off")
    return Split(when, *rows(ids[train_rows], ids[test_rows]))


def candidates() -> dict[str, Any]:
    from sklearn.dummy import DummyRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    return {
        "baseline_mean": DummyRegressor(strategy="mean"),
        "linear_regression": make_pipeline(SimpleImputer(strategy="median", add_indicator=True), LinearRegression()),
        # 30 small trees: as accurate here as 200 full ones (held-out RMSE within 0.3%), and over 1M
        # predictions a second on 2 cores.
        "gradient_boosting": HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=15, learning_rate=0.2,
                                                           random_state=SEED),
    }


def features_of(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    return frame[columns or FEATURES].astype("float64")


def signature_rows(frame: pd.DataFrame, head: int = 1_000) -> pd.DataFrame:
    """Rows enough for MLflow to infer `frame`'s signature as from every row: each column's type is its dtype's,
    and a column is optional when any value is missing, so the first rows and each column's first missing value.
    MLflow looks at every value in Python: 17 s of the medium scale's training for 1M rows."""
    missing = frame.isna().to_numpy()
    firsts = missing.argmax(axis=0)[missing.any(axis=0)]
    return frame.iloc[np.union1d(np.arange(min(head, len(frame))), firsts)]


def requirements() -> list[str]:
    """The packages a saved model needs, pinned as here (MLflow would otherwise infer them, seconds a model)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("scikit-learn", "numpy", "pandas", "scipy")]


def metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {"rmse": float(np.sqrt(mean_squared_error(actual, predicted))),
            "mae": float(mean_absolute_error(actual, predicted)), "r2": float(r2_score(actual, predicted))}


def experiment_id(name: str, artifact_location: str | None) -> str:
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location)


def use_tracking(extras: dict[str, Any]) -> None:
    """MLflow pointed at the tracking store and registry; a store this MLflow cannot open is named."""
    import importlib.util

    import mlflow

    uri = extras["tracking_uri"]
    if uri.startswith("azureml://") and importlib.util.find_spec("azureml.mlflow") is None:
        raise ModelError("tracking to Azure Machine Learning takes MLflow's azureml-mlflow plugin, which the ML "
                         "environment lacks: run `make setup-cloud`")
    mlflow.set_tracking_uri(uri)
    if extras.get("registry_uri"):
        mlflow.set_registry_uri(extras["registry_uri"])
    try:
        mlflow.search_experiments(max_results=1)
    except Exception as error:
        found = str(error).splitlines()[0].split(". ")[0] if str(error) else type(error).__name__
        if type(error).__name__ == "ClientAuthenticationError":  # azure-identity, through the plugin
            raise ModelError(f"could not sign in to {uri} ({found}): set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
                             "AZURE_CLIENT_SECRET (the provisioning job writes them) or sign in with `az login`"
                             ) from error
        if any(sign in str(error) for sign in ("database schema", "revision")):  # MLflow's check, or Alembic's
            raise ModelError(f"MLflow {mlflow.__version__} cannot open the tracking store {uri}: its database "
                             f"schema is another MLflow's ({found}). Move the store aside (or point "
                             "PLAYGROUND_MLFLOW at a new folder) and train again") from error
        raise


def champion_version(client: Any, model_name: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def load_version(model_name: str, version: str) -> Any:
    import mlflow

    try:
        return mlflow.sklearn.load_model(f"models:/{model_name}/{version}")
    except Exception as error:  # a missing or corrupt artifact: name the version
        raise ModelError(f"version {version} of model {model_name} cannot be loaded ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from error


def train(extras: dict[str, Any], report: Any) -> dict[str, Any]:
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    use_tracking(extras)
    model_name, margin = extras["model_name"], float(extras["margin"])
    store = store_for(extras)
    parts = split(store.keys(), extras.get("cutoff"), store.rows)
    # Arrow's allocator keeps what reading the features freed (~0.9 GiB at the medium scale) unless asked.
    pa.default_memory_pool().release_unused()
    # A feature nobody has a value of before the cut-off (no ratings yet) says nothing: left out.
    columns = [name for name in FEATURES if parts.train[name].notna().any()]
    x_train, x_test = features_of(parts.train, columns), features_of(parts.test, columns)
    y_train, y_test = parts.train[LABEL].to_numpy(), parts.test[LABEL].to_numpy()
    data_version = {"data_fingerprint": store.fingerprint(), **extras.get("upstream", {})}
    cutoff, pinned, typed_rows = f"{parts.cutoff:%Y-%m-%d}", requirements(), signature_rows(x_train)
    client = MlflowClient()
    results: dict[str, dict[str, float]] = {}
    logged: dict[str, str] = {}
    # The active experiment, not only the run's: MLflow keeps logged models under the active one's artifacts.
    mlflow.set_experiment(experiment_id=experiment_id(extras["experiment"], extras.get("artifact_location") or None))
    with mlflow.start_run(run_name="order_value training") as parent:
        mlflow.set_tags({**data_version, "cutoff": cutoff})
        mlflow.log_params({"cutoff": cutoff, "train_orders": len(parts.train),
                           "max_training_orders": MAX_TRAINING_ORDERS,
                           "held_out_orders": len(parts.test), "features": ",".join(columns)})
        for name, model in candidates().items():
            with mlflow.start_run(run_name=name, nested=True):
                mlflow.set_tags({**data_version, "candidate": name, "cutoff": cutoff})
                mlflow.log_params({"candidate": name, **{k: v for k, v in model.get_params().items()
                                                         if isinstance(v, (int, float, str, bool)) or v is None}})
                model.fit(x_train, y_train)
                results[name] = metrics(y_test, model.predict(x_test))
                mlflow.log_metrics(results[name])
                info = mlflow.sklearn.log_model(model, name="model", input_example=x_train.head(5),
                                                skops_trusted_types=TRUSTED_TYPES, pip_requirements=pinned,
                                                signature=infer_signature(typed_rows, model.predict(x_train.head(5))))
                logged[name] = info.model_uri
                report.log.info(f"{name}: held-out RMSE {results[name]['rmse']:,.2f}")
        best = min(results, key=lambda name: results[name]["rmse"])
        with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints each registration; the report says it
            version = mlflow.register_model(logged[best], model_name, tags={"candidate": best, **data_version})
        current = champion_version(client, model_name)
        current_rmse = None
        if current is not None:
            try:
                champion_model = load_version(model_name, current.version)
                current_rmse = metrics(y_test, champion_model.predict(features_of(
                    parts.test, list(champion_model.feature_names_in_))))["rmse"]
            except ModelError as error:  # a champion that cannot serve is replaced, whatever it scored
                report.log.warning(f"{error}: the new version replaces it")
        # The new version as the registry serves it: one that does not load never becomes the champion.
        try:
            registered = load_version(model_name, version.version)
        except ModelError as error:
            raise ModelError(f"{error}; the champion stays version {current.version if current else 'none'}") from error
        if metrics(y_test, registered.predict(x_test))["rmse"] != results[best]["rmse"]:
            raise ModelError(f"version {version.version} of model {model_name} predicts otherwise once registered; "
                             "the champion stays as it was")
        if current is None or current_rmse is None or results[best]["rmse"] < current_rmse:
            client.set_registered_model_alias(model_name, CHAMPION, version.version)
            moved, champion, champion_rmse = True, version.version, results[best]["rmse"]
        else:
            moved, champion, champion_rmse = False, current.version, current_rmse
        mlflow.log_metrics({f"{name}_{metric}": value for name, found in results.items()
                            for metric, value in found.items()})
        mlflow.log_metrics({"champion_rmse": champion_rmse})
        mlflow.set_tags({"registered_version": version.version, "champion_version": champion, "best": best})
    # The same candidate trained before on the same data and cut-off (training is deterministic: same metrics).
    earlier = [run for run in mlflow.search_runs(
        experiment_ids=[parent.info.experiment_id], output_format="list",
        filter_string=f"tags.data_fingerprint = '{data_version['data_fingerprint']}' and "
                      f"tags.cutoff = '{cutoff}' and tags.candidate = '{best}'")
        if run.data.tags.get("mlflow.parentRunId") != parent.info.run_id]
    history = write_history(parent.info.experiment_id, store)
    baseline_rmse = results["baseline_mean"]["rmse"]
    return {
        "history": history,
        "run_id": parent.info.run_id, "experiment_id": parent.info.experiment_id, "best": best,
        "registered_version": version.version, "champion_version": champion, "champion_moved": moved,
        "cutoff": cutoff, "train_orders": len(parts.train), "held_out_orders": len(parts.test),
        "results": results, "champion_rmse": champion_rmse,
        "baseline_rmse": baseline_rmse, "margin": margin,
        "beats_baseline": champion_rmse <= (1 - margin) * baseline_rmse,
        "earlier_same_data": [{"run_id": run.info.run_id, **{k: run.data.metrics[k] for k in ("rmse", "mae", "r2")}}
                              for run in earlier],
        "data_fingerprint": data_version["data_fingerprint"],
    }


def write_history(experiment: str, store: Files | Tables) -> str:
    """Every training run of the experiment, one row each (the dashboard's Model page), written whole."""
    import mlflow

    runs = mlflow.search_runs(experiment_ids=[experiment], output_format="list",
                              filter_string="tags.mlflow.runName = 'order_value training' and status = 'FINISHED'")
    rows = [{"registered_version": int(run.data.tags["registered_version"]),
             "trained_at": pd.Timestamp(run.info.start_time, unit="ms"), "cutoff": run.data.tags.get("cutoff"),
             "best": run.data.tags.get("best"), "champion_version": int(run.data.tags["champion_version"]),
             **{name: run.data.metrics.get(name) for name in (
                 "baseline_mean_rmse", "linear_regression_rmse", "gradient_boosting_rmse", "champion_rmse")}}
            for run in runs if "registered_version" in run.data.tags]
    return store.write("history", pd.DataFrame(rows).sort_values("registered_version"))


def score(extras: dict[str, Any], report: Any) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    use_tracking(extras)
    model_name = extras["model_name"]
    current = champion_version(MlflowClient(), model_name)
    if current is None:
        raise ModelError(f"model {model_name} has no champion yet: materialize ml/order_value_model first")
    try:
        model = load_version(model_name, current.version)
    except ModelError as error:
        raise ModelError(f"{error}; the scores of the previous run stay as they were") from error
    store = store_for(extras)
    found = store.score(model, int(current.version), int(extras["days"]))
    coverage = store.coverage(found["since"])
    return {"rows": coverage["scores"], "model_version": current.version, "predict_seconds": found["predict_seconds"],
            "since": f"{found['since']:%Y-%m-%d %H:%M:%S}", "location": found["location"], "coverage": coverage}


def peak_rss_mib() -> int:
    """This process's peak resident memory: Linux's VmHWM, which exec resets (ru_maxrss keeps the high-water
    mark of the process that started it, here Dagster's)."""
    import resource

    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main(command: str) -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        began = time.perf_counter()
        try:
            commands: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {"train": train, "score": score}
            found = commands[command](dict(pipes.extras), pipes)
        except ModelError as error:  # an expected failure: one sentence for Dagster to show, no stack
            found = {"error": str(error)}
        found.update(seconds=time.perf_counter() - began, peak_rss_mib=peak_rss_mib())
        pipes.report_custom_message(found)


if __name__ == "__main__":
    main(sys.argv[1])
