"""Each solution the playground shows, as data: its one name, and how each tier runs in it.

The local playground and the two Azure solutions are each a code location of its own (workspace.yaml),
side by side in one Dagster UI. A solution's name is what PLAYGROUND_TARGET takes, its dbt target, and
the prefix of its asset keys, jobs and sensors (none locally: `<tier>/<name>`), so no key is defined in
two locations. The fields below say which variant of each tier it runs; only the code that assembles a
location's Definitions (assembly.py) reads them to choose, and its resources are one dict per solution
(solution_resources.py).

Imports nothing else of the project: every other module may import it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from dagster import AssetKey

# The tiers, each an asset group (prefixed like the keys) and the second-to-last part of its keys.
LANDING, BRONZE, SILVER, GOLD, STREAMING = "landing", "bronze", "silver", "gold", "streaming"
FEATURES, ML = "features", "ml"  # what models learn from (dbt), and the models and their scores
# What an asset is made with, by the system it reads or the engine that builds it.
AZURE_LAKE = frozenset({"azure", "adls", "json"})
# A run that lands or takes orders and lake files does the orders first (of the steps ready to start, the
# executor starts those of highest priority). Every product an order names is written before the order, so
# products listed after the orders were taken are all there: silver's check of items against products
# (relationships_in_flight) then covers every item of the run.
ORDERS_FIRST = {"dagster/priority": "1"}


@dataclass(frozen=True)
class Solution:
    name: str                     # PLAYGROUND_TARGET, its dbt target (dbt_project/profiles.yml), its prefix
    title: str                    # what a person calls it
    location: str                 # its code location; its Terraform root and settings file are named after it
    landing: Literal["generates", "reports"]  # Dagster runs the generators, or containers report manifests
    bronze: Literal["duckdb", "spark"]  # who ingests lake files and orders (events: Dagster, into DuckDB)
    streaming: Literal["duckdb", "stream_analytics", "databricks_job"]  # the engine computing the outputs
    warehouse: Literal["duckdb", "databricks", "synapse"]  # dbt's adapter: where silver and gold are built
    kinds: dict[str, frozenset[str]] = field(hash=False)  # by tier or landing system
    streaming_solutions: tuple[str, ...] = ()  # whose outputs its streaming engine computes (scenarios.Output)
    dbt_settings: tuple[str, ...] = ()  # what its dbt profile needs from the environment
    prefixed: bool = True         # keys, jobs and groups carry its name
    provisioned: bool = True      # deployed by terraform/<location>, settings from .env.<location>
    dashboard: bool = False       # its assets link to the dashboard (which reads the local lake)

    @property
    def key_prefix(self) -> tuple[str, ...]:
        return (self.name,) if self.prefixed else ()

    def key(self, tier: str, name: str) -> AssetKey:
        return AssetKey([*self.key_prefix, tier, name])

    def job_name(self, base: str) -> str:
        """A job, sensor or schedule name, prefixed like the solution's keys so a user tells them apart."""
        return "_".join([*self.key_prefix, base])

    @property
    def owner(self) -> str:
        return f"team:{self.location}"

    def group(self, tier: str) -> str:
        return self.job_name(tier)

    def pool(self, database: str) -> str:
        """A DuckDB file takes one writing process: every step writing it is in one pool of limit 1
        (dagster_instance.yaml), whoever launched its run."""
        return self.job_name(f"duckdb_{database}")


_CLOUD_DBT = ("PLAYGROUND_BRONZE_LOCATION", "PLAYGROUND_GOLD_LOCATION")
SOLUTIONS = {solution.name: solution for solution in (
    Solution(
        "local", "Local playground", "data_playground", landing="generates", bronze="duckdb", streaming="duckdb",
        warehouse="duckdb", prefixed=False, provisioned=False, dashboard=True,
        kinds={"lake": frozenset({"python", "json"}), "orders_db": frozenset({"python", "sqlite"}),
               "bus": frozenset({"python", "sqlite"}), "bronze": frozenset({"duckdb"}),
               "dbt": frozenset({"dbt", "duckdb"}), "streaming": frozenset({"duckdb", "parquet"}),
               ML: frozenset({"mlflow", "scikit-learn"}),
               "ml_scores": frozenset({"mlflow", "scikit-learn", "parquet"})},
        streaming_solutions=("microsoft", "databricks")),
    Solution(
        "databricks", "Databricks solution", "databricks_solution", landing="reports", bronze="spark",
        streaming="databricks_job", warehouse="databricks",
        kinds={"lake": AZURE_LAKE, "orders_db": frozenset({"azure", "azure sql"}),
               "bus": frozenset({"azure", "event hubs", "kafka"}), "bronze": frozenset({"python", "duckdb", "adls"}),
               "bronze_job": frozenset({"databricks", "spark", "delta"}),
               "dbt": frozenset({"dbt", "databricks", "unity catalog"}),
               "streaming": frozenset({"databricks", "spark", "parquet"}),
               ML: frozenset({"databricks", "mlflow", "scikit-learn"}),
               "ml_scores": frozenset({"databricks", "mlflow", "delta"})},
        streaming_solutions=("microsoft", "databricks"),
        dbt_settings=("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "DATABRICKS_TOKEN", *_CLOUD_DBT)),
    Solution(
        "microsoft", "Microsoft solution (Synapse, Stream Analytics)", "microsoft_solution", landing="reports",
        bronze="duckdb", streaming="stream_analytics", warehouse="synapse",
        kinds={"lake": AZURE_LAKE, "orders_db": frozenset({"azure", "azure sql"}),
               "bus": frozenset({"azure", "event hubs"}), "bronze": frozenset({"python", "duckdb", "adls"}),
               "dbt": frozenset({"dbt", "synapse"}), "streaming": frozenset({"azure", "stream analytics"}),
               ML: frozenset({"azureml", "mlflow", "scikit-learn"}),
               "ml_scores": frozenset({"azureml", "mlflow", "parquet"})},
        streaming_solutions=("microsoft",),
        dbt_settings=("SYNAPSE_SERVER", "SYNAPSE_DATABASE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
                      "AZURE_CLIENT_SECRET", *_CLOUD_DBT)),
)}
LOCAL = SOLUTIONS["local"]

# Where the local playground keeps each store, by the setting that moves it.
LOCAL_DEFAULTS = {"PLAYGROUND_LAKE": "data/lake", "PLAYGROUND_ORDERS_URL": "sqlite:///data/orders.db",
                  "PLAYGROUND_BUS": "data/events.db", "PLAYGROUND_WAREHOUSE": "data/warehouse.duckdb",
                  "PLAYGROUND_STREAMING": "data/streams.duckdb", "PLAYGROUND_MLFLOW": "data/mlflow"}


def local_setting(name: str) -> str:
    return os.environ.get(name) or LOCAL_DEFAULTS[name]


def local_environment(root: str, **extra: str) -> dict[str, str]:
    """This process's environment with every local store, and Dagster's home, under `root`: a playground of its
    own (tests, benchmarks)."""
    stores = {name: default.replace("data/", f"{root}/") for name, default in LOCAL_DEFAULTS.items()}
    return {**os.environ, **stores, "DAGSTER_HOME": f"{root}/dagster_home", **extra}
