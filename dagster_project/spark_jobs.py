"""Where the Databricks solution's Spark jobs run, as a Dagster resource: on Databricks, submitted by
dagster-databricks' Pipes client, or on this machine's PySpark through PipesSubprocessClient. The job,
its arguments and the Pipes messages it sends back are the same; only the transport differs (and the
tables' format: Delta on Databricks, Parquet here, where Delta's jars would be downloaded).

On Databricks a job runs on a job cluster from `spark_launcher.py` (on_spark/launcher.py) in the artifacts volume, which
imports this repository's wheels from that volume rather than pip-installing them: their dependencies
(Dagster, and PySpark through dagster-databricks) would replace the cluster's own PySpark.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import AssetExecutionContext, ConfigurableResource, PipesClientCompletedInvocation, PipesSubprocessClient
from pydantic import Field

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

LAUNCHER = "spark_launcher.py"  # dagster_project/on_spark/launcher.py, as Terraform puts it in the volume
# What a job cluster installs from PyPI: the Pipes protocol, DuckDB, which decodes bronze's lines, and
# SQLAlchemy, which playground.catalog (the sources' schema) defines the orders tables with.
CLUSTER_LIBRARIES = ("dagster-pipes", "duckdb==2.0.0", "sqlalchemy>=2")
# Where Debian puts the PostgreSQL JDBC driver (tests/services/install-system-deps.sh).
POSTGRES_JAR = "/usr/share/java/postgresql.jar"


class SparkJobs(ConfigurableResource):
    """Runs a module of this repository as a Spark job and returns what it reported through Pipes
    (the two kinds below say where)."""

    def run(self, context: AssetExecutionContext, module: str, args: list[str]) -> PipesClientCompletedInvocation:
        raise NotImplementedError


class LocalSparkJobs(SparkJobs):
    lake: str = Field(description="The lake root (a folder).")
    orders_url: str = Field(description="The orders database's SQLAlchemy URL (PostgreSQL for a JDBC read).")
    warehouse: str = Field(description="The folder of the jobs' Parquet tables and checkpoints.")

    def run(self, context: AssetExecutionContext, module: str, args: list[str]) -> PipesClientCompletedInvocation:
        warehouse = Path(self.warehouse).resolve()
        command = [sys.executable, "-m", module, "--lake", f"file://{Path(self.lake).resolve()}",
                   "--schema", "bronze", "--format", "parquet", "--checkpoints", str(warehouse / "_checkpoints"),
                   "--warehouse", str(warehouse), "--orders-url", self.orders_url, "--jars", POSTGRES_JAR, *args]
        return PipesSubprocessClient().run(command=command, context=context, env=dict(os.environ))


class DatabricksSparkJobs(SparkJobs):
    host: str = Field(description="The workspace's URL (DATABRICKS_HOST).")
    token: str = Field(description="A token of the workspace (DATABRICKS_TOKEN).")
    storage_account: str = Field(description="The lake's storage account (AZURE_STORAGE_ACCOUNT_NAME).")
    catalog: str = Field(description="The Unity Catalog catalog of the bronze schema (DATABRICKS_CATALOG).")
    volume: str = Field(description="The artifacts volume holding the wheels and the launcher, where Pipes "
                                    "exchanges its files and the jobs keep checkpoints (DATABRICKS_VOLUME).")
    wheels: str = Field(description="The wheels' file names in the volume, comma-separated: the Dagster project's "
                                    "and the generators' (DATABRICKS_WHEELS).")
    secret_scope: str = Field(description="The secret scope holding orders-url (DATABRICKS_SECRET_SCOPE).")
    streaming_job_id: str = Field(description="The continuous streaming job Terraform deployed "
                                              "(DATABRICKS_STREAMING_JOB_ID).")
    node_type: str = Field(default="Standard_D4ds_v5", description="The job cluster's node type.")
    spark_version: str = Field(default="16.4.x-scala2.12", description="The job cluster's Databricks Runtime.")

    def workspace(self) -> WorkspaceClient:
        # dagster-databricks takes 2 s to import (PySpark with it): only a run that calls Databricks pays it.
        from dagster_databricks import DatabricksClientResource

        return DatabricksClientResource(host=self.host, token=self.token).get_client().workspace_client

    def run(self, context: AssetExecutionContext, module: str, args: list[str]) -> PipesClientCompletedInvocation:
        return self.submit(context, self.task(module, args))

    def submit(self, context: AssetExecutionContext, task: dict,
               extras: dict[str, Any] | None = None) -> PipesClientCompletedInvocation:
        """A one-time job run of `task`, its Pipes context and messages exchanged through the volume."""
        from dagster_databricks import PipesDatabricksClient
        from dagster_databricks.pipes import (
            PipesUnityCatalogVolumesContextInjector,
            PipesUnityCatalogVolumesMessageReader,
        )
        from databricks.sdk.service import jobs

        client = self.workspace()
        volume = self.volume.rstrip("/")
        pipes = PipesDatabricksClient(
            client=client,
            context_injector=PipesUnityCatalogVolumesContextInjector(client=client, volume_path=volume),
            message_reader=PipesUnityCatalogVolumesMessageReader(client=client, volume_path=volume))
        return pipes.run(task=jobs.SubmitTask.from_dict(task), context=context, extras=extras)

    def launched(self, module: str, args: list[str]) -> dict:
        """A Python task running a module of the wheels in the volume (on_spark/launcher.py)."""
        volume = self.volume.rstrip("/")
        wheels = ",".join(f"{volume}/{wheel.strip()}" for wheel in self.wheels.split(","))
        return {"python_file": f"{volume}/{LAUNCHER}", "parameters": [wheels, module, *args]}

    def streaming_state(self) -> dict[str, str | int | None]:
        """The continuous streaming job: whether it is set to run, and its active run if any."""
        client = self.workspace()
        job = client.jobs.get(int(self.streaming_job_id))
        status = job.settings.continuous.pause_status if job.settings and job.settings.continuous else None
        pause = status.value if status else None
        run = next(iter(client.jobs.list_runs(job_id=int(self.streaming_job_id), active_only=True)), None)
        return {"streaming_job": job.settings.name if job.settings else None, "pause_status": pause,
                "active_run": run.run_id if run else None,
                "run_state": run.state.life_cycle_state.value if run and run.state and run.state.life_cycle_state
                else "none"}

    def set_streaming(self, running: bool) -> None:
        """Unpause (start) or pause (stop) the continuous job: Databricks starts a run, or cancels it."""
        from databricks.sdk.service.jobs import Continuous, JobSettings, PauseStatus

        status = PauseStatus.UNPAUSED if running else PauseStatus.PAUSED
        self.workspace().jobs.update(int(self.streaming_job_id),
                                     new_settings=JobSettings(continuous=Continuous(pause_status=status)))

    def task(self, module: str, args: list[str]) -> dict:
        """The bronze and streaming jobs' run: a job cluster running the module with the lake, the bronze schema,
        the checkpoints and the orders database's secret."""
        volume = self.volume.rstrip("/")
        return {
            "task_key": f"playground-{module.split('.')[-2]}",
            "new_cluster": {"spark_version": self.spark_version, "node_type_id": self.node_type, "num_workers": 1,
                            "data_security_mode": "SINGLE_USER"},
            "libraries": [{"pypi": {"package": package}} for package in CLUSTER_LIBRARIES],
            "spark_python_task": self.launched(module, [
                "--lake", f"abfss://{self.storage_account}.dfs.core.windows.net",
                "--schema", f"{self.catalog}.bronze", "--checkpoints", f"{volume}/_checkpoints", "--auto-loader",
                "--orders-secret", f"{self.secret_scope}/orders-url", *args]),
        }
