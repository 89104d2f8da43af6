"""Every system a solution reaches, one resource each: one dict per solution (RESOURCES), read from the
environment when a location loads. Locally each setting has a default under data/; a cloud solution takes
its settings when a run starts (Dagster's EnvVar), so its definitions load without credentials and its
provisioning job writes them (provisioning/settings.py)."""

from __future__ import annotations

import os
from collections.abc import Callable

from dagster import EnvVar

from dagster_project.ml.tracking import local_tracking
from dagster_project.provisioning.settings import TERRAFORM_DIR, settings_file
from dagster_project.provisioning.terraform import TerraformResource
from dagster_project.resources import BronzeCopyResource, BusResource, DuckDBFile, LakeResource, OrdersDBResource
from dagster_project.solutions import SOLUTIONS, Solution, local_setting
from dagster_project.transform.dbt_cli import dbt_resource


def local_resources() -> dict[str, object]:
    return {
        "lake": LakeResource(root=local_setting("PLAYGROUND_LAKE")),
        "orders_db": OrdersDBResource(url=local_setting("PLAYGROUND_ORDERS_URL")),
        "bus": BusResource(spec=local_setting("PLAYGROUND_BUS")),
        "warehouse": DuckDBFile(database=local_setting("PLAYGROUND_WAREHOUSE")),
        # The streaming engine keeps its outputs and state in a DuckDB file of its own.
        "streaming": DuckDBFile(database=local_setting("PLAYGROUND_STREAMING")),
        "bronze_copy": BronzeCopyResource(enabled=os.environ.get("PLAYGROUND_BRONZE_TO_LAKE") == "1"),
        "dbt": dbt_resource(SOLUTIONS["local"].name),
        # MLflow's tracking store: a SQLite database, artifacts beside it (the MLflow UI in `make up` reads both).
        "model_tracking": local_tracking(local_setting("PLAYGROUND_MLFLOW"), local_setting("PLAYGROUND_LAKE")),
    }


def _azure_resources(solution: Solution, arrays_as_json: bool = False) -> dict[str, object]:
    """What both Azure solutions reach: ADLS gen2 through dagster-azure (azure_lake.py), Azure SQL, Event
    Hubs' Kafka endpoint (EVENTHUBS_CONNECTION_STRING), all from terraform/<location>."""
    from dagster_project.azure_lake import AzureLakeResource, adls2_from_environment

    return {
        "lake": AzureLakeResource(root=EnvVar("PLAYGROUND_LAKE"), adls2=adls2_from_environment()),
        "orders_db": OrdersDBResource(url=EnvVar("PLAYGROUND_ORDERS_URL")),
        "bus": BusResource(spec="eventhubs"),
        # What bronze Dagster ingests itself keeps its bookkeeping in a DuckDB file here, and each batch is
        # written to the lake as Parquet, where the cloud warehouse reads it (dbt's register_bronze).
        "warehouse": DuckDBFile(database=os.environ.get("PLAYGROUND_WAREHOUSE") or f"data/{solution.location}.duckdb"),
        "bronze_copy": BronzeCopyResource(enabled=True, arrays_as_json=arrays_as_json),
        "dbt": dbt_resource(solution.name),
        "terraform": TerraformResource(root=str(TERRAFORM_DIR / solution.location),
                                       settings_file=str(settings_file(solution.location))),
    }


def databricks_resources() -> dict[str, object]:
    from dagster_project.ml.tracking import DatabricksModelTracking
    from dagster_project.spark_jobs import DatabricksSparkJobs

    # Its job clusters (the bronze job, training) and its streaming job, from terraform/databricks_solution's outputs.
    jobs = DatabricksSparkJobs(
        host=EnvVar("DATABRICKS_HOST"), token=EnvVar("DATABRICKS_TOKEN"),
        storage_account=EnvVar("AZURE_STORAGE_ACCOUNT_NAME"), catalog=EnvVar("DATABRICKS_CATALOG"),
        volume=EnvVar("DATABRICKS_VOLUME"), wheels=EnvVar("DATABRICKS_WHEELS"),
        secret_scope=EnvVar("DATABRICKS_SECRET_SCOPE"), streaming_job_id=EnvVar("DATABRICKS_STREAMING_JOB_ID"))
    return {
        **_azure_resources(SOLUTIONS["databricks"]),
        "spark_jobs": jobs,
        # The workspace's MLflow, the model in Unity Catalog, the features and scores Unity Catalog tables.
        "model_tracking": DatabricksModelTracking(jobs=jobs, catalog=EnvVar("DATABRICKS_CATALOG"),
                                                  experiment=EnvVar("DATABRICKS_MLFLOW_EXPERIMENT")),
    }


def microsoft_resources() -> dict[str, object]:
    from dagster_project.ml.tracking import StagedModelTracking
    from dagster_project.synapse_pool import SynapsePoolResource

    resources = _azure_resources(SOLUTIONS["microsoft"], arrays_as_json=True)  # Synapse reads arrays as JSON text
    return {
        **resources,
        # Its dedicated SQL pool, paused and resumed by jobs (synapse_pool.py).
        "sql_pool": SynapsePoolResource(
            subscription_id=EnvVar("AZURE_SUBSCRIPTION_ID"), resource_group=EnvVar("PLAYGROUND_RESOURCE_GROUP"),
            workspace=EnvVar("SYNAPSE_WORKSPACE"), pool=EnvVar("SYNAPSE_DATABASE"), tenant_id=EnvVar("AZURE_TENANT_ID"),
            client_id=EnvVar("AZURE_CLIENT_ID"), client_secret=EnvVar("AZURE_CLIENT_SECRET")),
        # Azure Machine Learning's MLflow; the features Synapse published to the lake.
        "model_tracking": StagedModelTracking(tracking_uri=EnvVar("AZUREML_MLFLOW_TRACKING_URI"),
                                              published=resources["lake"]),
    }


RESOURCES: dict[str, Callable[[], dict[str, object]]] = {
    "local": local_resources, "databricks": databricks_resources, "microsoft": microsoft_resources}


def resources_for(name: str) -> dict[str, object]:
    """The solution's resources, with this process's settings."""
    return RESOURCES[name]()
