"""Where the order value model is trained and tracked: an MLflow tracking server or store, where the model's
data is, and where order_value.py runs (through Pipes); one resource a solution configures
(solution_resources.py). What training and scoring report comes back as one message.

Locally order_value.py runs in the ML environment on Parquet files in the lake; on Databricks it runs on a
job cluster, on Unity Catalog tables, tracked to the workspace's MLflow and registered in Unity Catalog; for
the Microsoft solution it runs in the ML environment on the features Synapse published to the lake, tracked
to Azure Machine Learning's MLflow, where the model is registered.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    Failure,
    PipesClientCompletedInvocation,
    PipesSubprocessClient,
)
from pydantic import Field

from dagster_project.publish import LATEST
from dagster_project.resources import LakeResource
from dagster_project.solutions import FEATURES, GOLD, ML
from dagster_project.spark_jobs import DatabricksSparkJobs

SCRIPT = Path(__file__).resolve().parents[1] / "on_ml" / "order_value.py"
MODULE = "dagster_project.on_ml.order_value"
ML_ENVIRONMENT = Path(__file__).resolve().parents[2] / "ml" / ".venv" / "bin" / "python"
# The model's data: as a table, by schema (the features dbt builds; what the model writes, beside its registered
# model); as a file, by lake folder: the scores and history are published like gold, where every solution's lake
# has a folder (a container on Azure).
DATA = {"features": (FEATURES, "order_features"), "scores": (ML, "order_value_scores"),
        "history": (ML, "order_value_history")}
FOLDERS = {"features": FEATURES, "scores": GOLD, "history": GOLD}


class ModelTracking(ConfigurableResource):
    """MLflow's tracking and registry URIs and experiment; the model's data as Parquet files in the lake, or as
    Spark tables of a catalog; training in the ML environment's interpreter."""

    tracking_uri: str = Field(description="MLflow tracking URI: a database (sqlite:///…) or a server (http://…).")
    registry_uri: str = Field(default="", description="Model registry URI, when not the tracking URI's.")
    artifact_location: str = Field(default="", description="Where a new experiment keeps its artifacts.")
    experiment: str = Field(default="order_value", description="The MLflow experiment of the training runs.")
    model_name: str = Field(default="order_value", description="The registered model.")
    lake: str = Field(default="", description="The lake: the features and outputs as Parquet files, "
                                              "<lake>/<folder>/<name>/data.parquet.")
    catalog: str = Field(default="", description="Spark tables of this catalog instead (<catalog>.features."
                                                 "order_features, <catalog>.ml.*).")
    table_format: str = Field(default="delta", description="The Spark tables' format.")
    table_folders: str = Field(default="", description="Locally, where Spark keeps the tables "
                                                       "(<folders>/<schema>/<table>); on Databricks, Unity Catalog.")
    python: str = Field(default=str(ML_ENVIRONMENT), description="The ML environment's interpreter.")

    @property
    def registered_name(self) -> str:
        return self.model_name

    def data(self) -> dict[str, str]:
        """Where order_value.py reads the features and writes the scores and the history."""
        if self.catalog:
            return {"store": "tables", "table_format": self.table_format, "table_folders": self.table_folders,
                    **{name: f"{self.catalog}.{tier}.{table}" for name, (tier, table) in DATA.items()}}
        return files_in(self.lake)

    def run(self, context: AssetExecutionContext, command: str, extras: dict[str, Any]) -> dict[str, Any]:
        """order_value.py's `command` with these extras; its report, or one Failure naming what went wrong."""
        return self.report(context, command, {**self.data(), **extras})

    def report(self, context: AssetExecutionContext, command: str, extras: dict[str, Any]) -> dict[str, Any]:
        settings = {"tracking_uri": self.tracking_uri, "registry_uri": self.registry_uri,
                    "artifact_location": self.artifact_location, "experiment": self.experiment,
                    "model_name": self.registered_name}
        completed = self.launch(context, command, {**settings, **extras})
        messages = completed.get_custom_messages()
        if not messages:
            raise Failure(f"order_value.py {command} reported nothing (see the step's stderr)")
        report = messages[-1]
        if "error" in report:
            raise Failure(report["error"], allow_retries=False)
        return report

    def launch(self, context: AssetExecutionContext, command: str,
               extras: dict[str, Any]) -> PipesClientCompletedInvocation:
        if not os.path.exists(self.python):
            raise Failure(f"the ML environment is missing ({self.python}): run `make setup`, which installs it "
                          "from ml/uv.lock")
        if self.tracking_uri.startswith("sqlite:///"):  # MLflow makes the database, not its folder
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # No telemetry: MLflow would try to send it (and nothing here reaches the internet). Spark's Python
        # workers (scoring on tables) run this interpreter too.
        env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_LOGGING_LEVEL": "ERROR",
               "PYSPARK_PYTHON": self.python}
        return PipesSubprocessClient(env=env).run(command=[self.python, str(SCRIPT), command], context=context,
                                                   extras=extras)

    def ui_address(self) -> str:
        """Where a person opens what the tracking URI holds: the server itself, or the local MLflow UI."""
        if self.tracking_uri.startswith(("http://", "https://")):
            return self.tracking_uri.rstrip("/")
        return os.environ.get("PLAYGROUND_MLFLOW_URL", "http://127.0.0.1:5000")

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_address()}/#/experiments/{experiment_id}/runs/{run_id}"

    def model_url(self, version: str | int) -> str:
        return f"{self.ui_address()}/#/models/{self.registered_name}/versions/{version}"


def files_in(lake: str) -> dict[str, str]:
    """The model's data as Parquet files in a lake folder: <lake>/<folder>/<name>/data.parquet."""
    return {"store": "files", **{name: str(Path(lake, FOLDERS[name], table, "data.parquet").resolve())
                                 for name, (_, table) in DATA.items()}}


class StagedModelTracking(ModelTracking):
    """The Microsoft solution: order_value.py in the ML environment where Dagster runs, tracked to Azure Machine
    Learning's MLflow (its azureml:// URI, read by the azureml-mlflow plugin as AZURE_CLIENT_*), the model
    registered there. Its data is in the lake (`published`): the features the warehouse published there like
    gold (<gold>/order_features/<_latest>), staged in a temporary folder; the scores and the history written
    back to <lake>/gold/<name>/data.parquet once a run succeeds."""

    published: LakeResource

    def run(self, context: AssetExecutionContext, command: str, extras: dict[str, Any]) -> dict[str, Any]:
        lake = self.published.open()
        with tempfile.TemporaryDirectory(prefix="order-value-") as stage:
            # The features as the warehouse published them: a folder of parts, which the script reads as one.
            local = {**files_in(stage), "features": self._stage_features(lake, Path(stage, FEATURES, "order_features"))}
            report = self.report(context, command, {**local, **extras})
            for name in ("scores", "history"):
                if os.path.exists(local[name]):
                    relative = f"{FOLDERS[name]}/{DATA[name][1]}/data.parquet"
                    with open(local[name], "rb") as source, lake.writer(relative) as target:
                        shutil.copyfileobj(source, target, 1 << 20)
                    report = {key: lake.display(relative) if value == local[name] else value
                              for key, value in report.items()}
        return report

    @staticmethod
    def _stage_features(lake: Any, folder: Path) -> str:
        """The parts of the newest folder the warehouse published whole, copied into `folder`."""
        published = f"{GOLD}/{DATA['features'][1]}"
        if not lake.exists(f"{published}/{LATEST}"):
            raise Failure(f"no order features published at {lake.display(published)}: materialize "
                          "features/order_features first", allow_retries=False)
        published = f"{published}/{lake.read_bytes(f'{published}/{LATEST}').decode().strip()}"
        folder.mkdir(parents=True)
        for n, name in enumerate(lake.list(published)):
            with (folder / f"part-{n:05d}.parquet").open("wb") as out:
                for chunk in lake.read_chunks(f"{published}/{name}", 1 << 20):
                    out.write(chunk)
        return str(folder)

    def _workspace(self) -> str:
        """The workspace's resource id, as its tracking URI ends (azureml://<region>.api.azureml.ms/mlflow/v1.0…)."""
        return self.tracking_uri.split("/mlflow/v1.0", 1)[-1]

    def run_url(self, experiment_id: str, run_id: str) -> str:
        if not self.tracking_uri.startswith("azureml://"):
            return super().run_url(experiment_id, run_id)
        return f"https://ml.azure.com/runs/{run_id}?wsid={quote(self._workspace())}"

    def model_url(self, version: str | int) -> str:
        if not self.tracking_uri.startswith("azureml://"):
            return super().model_url(version)
        return f"https://ml.azure.com/models/{self.registered_name}/version/{version}?wsid={quote(self._workspace())}"


# What the ML job cluster installs beyond Databricks Runtime ML: the versions ml/uv.lock pins (a test keeps
# them equal), so that a model saved there loads here and the other way round.
ML_CLUSTER_LIBRARIES = ("mlflow==3.15.0", "scikit-learn==1.9.1", "skops==0.16.0", "dagster-pipes==1.13.29")


class DatabricksModelTracking(ModelTracking):
    """On Databricks: order_value.py on a job cluster of Databricks Runtime ML, submitted through the bronze
    job's Pipes client (`jobs`); tracked to the workspace's MLflow (the cluster authenticates it), the model
    registered in Unity Catalog as <catalog>.ml.<model_name>, the data Unity Catalog tables."""

    jobs: DatabricksSparkJobs
    tracking_uri: str = "databricks"
    registry_uri: str = "databricks-uc"
    spark_version: str = Field(default="17.3.x-cpu-ml-scala2.13",
                               description="The job cluster's Databricks Runtime ML (17.3 LTS).")

    @property
    def registered_name(self) -> str:
        return f"{self.catalog}.{ML}.{self.model_name}"

    def task(self, command: str) -> dict:
        return {
            "task_key": f"playground-order-value-{command}",
            "new_cluster": {"spark_version": self.spark_version, "node_type_id": self.jobs.node_type,
                            "num_workers": 1, "data_security_mode": "SINGLE_USER"},
            "libraries": [{"pypi": {"package": package}} for package in ML_CLUSTER_LIBRARIES],
            "spark_python_task": self.jobs.launched(MODULE, [command]),
        }

    def launch(self, context: AssetExecutionContext, command: str,
               extras: dict[str, Any]) -> PipesClientCompletedInvocation:
        return self.jobs.submit(context, self.task(command), extras)

    def ui_address(self) -> str:
        host = self.jobs.host.rstrip("/")
        return host if host.startswith("https://") else f"https://{host}"

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.ui_address()}/ml/experiments/{experiment_id}/runs/{run_id}"

    def model_url(self, version: str | int) -> str:
        return f"{self.ui_address()}/explore/data/models/{self.catalog}/{ML}/{self.model_name}/version/{version}"


def local_tracking(folder: str, lake: str) -> ModelTracking:
    """MLflow's tracking store as a SQLite database in `folder`, artifacts beside it; the data in the lake."""
    root = Path(folder).resolve()
    return ModelTracking(tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                         artifact_location=(root / "artifacts").as_uri(), lake=lake)
