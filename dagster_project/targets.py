"""PLAYGROUND_TARGET picks the engines; this is the one place where that choice is made.

Asset keys and lineage are the same on every target. The local target needs nothing; cloud
targets take every setting from the environment when a run starts (Dagster's EnvVar), so their
definitions load without credentials and a run fails naming the variable that is missing.
"""

from __future__ import annotations

import os

from dagster import EnvVar

from dagster_project.resources import PlaygroundResource, WarehouseResource
from generators.errors import PlaygroundError

TARGETS = ("local", "databricks", "synapse")
# The dbt target (dbt_project/profiles.yml) of each, and what it needs from the environment.
DBT_TARGETS = {"local": "duckdb", "databricks": "databricks", "synapse": "synapse"}
DBT_SETTINGS = {
    "duckdb": (),
    "spark": (),
    "databricks": ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "DATABRICKS_TOKEN", "PLAYGROUND_BRONZE_LOCATION"),
    "synapse": ("SYNAPSE_SERVER", "SYNAPSE_DATABASE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                "PLAYGROUND_BRONZE_LOCATION"),
}


def current_target() -> str:
    target = os.environ.get("PLAYGROUND_TARGET", "local")
    if target not in TARGETS:
        raise PlaygroundError(f"PLAYGROUND_TARGET={target!r} is not one of {', '.join(TARGETS)}")
    return target


def resources_for(target: str) -> dict[str, object]:
    memory_limit = os.environ.get("PLAYGROUND_DUCKDB_MEMORY_LIMIT")  # every DuckDB file a run writes
    if target == "local":
        playground = PlaygroundResource(
            lake=os.environ.get("PLAYGROUND_LAKE", "data/lake"),
            orders_url=os.environ.get("PLAYGROUND_ORDERS_URL", "sqlite:///data/orders.db"),
            bus=os.environ.get("PLAYGROUND_BUS", "data/events.db"),
        )
        warehouse = WarehouseResource(path=os.environ.get("PLAYGROUND_WAREHOUSE", "data/warehouse.duckdb"),
                                      bronze_to_lake=os.environ.get("PLAYGROUND_BRONZE_TO_LAKE") == "1",
                                      memory_limit=memory_limit)
    elif target in ("databricks", "synapse"):
        # ADLS gen2 (credentials: AZURE_STORAGE_*), Azure SQL, Event Hubs' Kafka endpoint
        # (EVENTHUBS_CONNECTION_STRING), all provisioned by terraform/<target>_solution.
        playground = PlaygroundResource(
            lake=EnvVar("PLAYGROUND_LAKE"),
            orders_url=EnvVar("PLAYGROUND_ORDERS_URL"),
            bus="eventhubs",
            generates=False,
        )
        # Bronze is ingested here, with its bookkeeping in a DuckDB file, and each batch is written to the
        # lake as Parquet, where the cloud warehouse reads it (dbt's register_bronze).
        warehouse = WarehouseResource(path=EnvVar("PLAYGROUND_WAREHOUSE"), bronze_to_lake=True,
                                      bronze_arrays_as_json=target == "synapse", memory_limit=memory_limit)
    else:
        raise PlaygroundError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    # The streaming scenarios' local engine keeps its outputs and state in a DuckDB file of its own; in
    # the cloud, Stream Analytics and the DLT pipeline compute them instead.
    streaming = WarehouseResource(path=os.environ.get("PLAYGROUND_STREAMING", "data/streams.duckdb"),
                                  memory_limit=memory_limit)
    return {"playground": playground, "warehouse": warehouse, "streaming": streaming,
            "dbt": dbt_resource(DBT_TARGETS[target])}


def dbt_resource(dbt_target: str) -> object:
    from dagster_project.assets.transform import DBT_DIR, DBT_EXECUTABLE, DbtResource

    return DbtResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=dbt_target,
                       dbt_executable=str(DBT_EXECUTABLE))


def check_dbt_settings(dbt_target: str) -> None:
    """Before dbt runs: every setting its profile needs, or one error naming the missing ones."""
    missing = [name for name in DBT_SETTINGS[dbt_target] if not os.environ.get(name)]
    if missing:
        raise PlaygroundError(f"dbt target {dbt_target} needs {', '.join(missing)} in the environment "
                              "(see README: cloud targets)")
