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


def current_target() -> str:
    target = os.environ.get("PLAYGROUND_TARGET", "local")
    if target not in TARGETS:
        raise PlaygroundError(f"PLAYGROUND_TARGET={target!r} is not one of {', '.join(TARGETS)}")
    return target


def resources_for(target: str) -> dict[str, object]:
    if target == "local":
        playground = PlaygroundResource(
            lake=os.environ.get("PLAYGROUND_LAKE", "data/lake"),
            orders_url=os.environ.get("PLAYGROUND_ORDERS_URL", "sqlite:///data/orders.db"),
            bus=os.environ.get("PLAYGROUND_BUS", "data/events.db"),
        )
        warehouse = WarehouseResource(path=os.environ.get("PLAYGROUND_WAREHOUSE", "data/warehouse.duckdb"))
    elif target in ("databricks", "synapse"):
        # ADLS gen2 (credentials: AZURE_STORAGE_*), Azure SQL, Event Hubs' Kafka endpoint
        # (EVENTHUBS_CONNECTION_STRING), all provisioned by terraform/<target>_solution.
        playground = PlaygroundResource(
            lake=EnvVar("PLAYGROUND_LAKE"),
            orders_url=EnvVar("PLAYGROUND_ORDERS_URL"),
            bus="eventhubs",
            generates=False,
        )
        # Bronze runs on the cloud warehouse there (not built yet); the DuckDB stand-in is explicit.
        warehouse = WarehouseResource(path=EnvVar("PLAYGROUND_WAREHOUSE"))
    else:
        raise PlaygroundError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return {"playground": playground, "warehouse": warehouse}
