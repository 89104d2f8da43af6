"""PLAYGROUND_TARGET picks the engines; this is the one place where that choice is made.

Each target is a solution shown in the Dagster UI (workspace.yaml): the local playground, and the
two Azure solutions, each in a code location of its own. Asset keys are `<tier>/<name>` locally and
carry the solution's prefix in the cloud (`databricks/...`, `microsoft/...`), so no key is defined in
two locations and lineage says by its kinds what runs where. The local target needs nothing; cloud
targets take every setting from the environment when a run starts (Dagster's EnvVar), so their
definitions load without credentials and a run fails naming the variable that is missing; their
provisioning job writes those settings (provisioning/settings.py), which their location then loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetKey, EnvVar

from dagster_project.provisioning.settings import REPO, settings_file
from dagster_project.provisioning.terraform import TerraformResource
from dagster_project.resources import BronzeCopyResource, BusResource, LakeResource, OrdersDBResource, duckdb_file
from dagster_project.spark_jobs import DatabricksSparkJobs
from dagster_project.synapse_pool import SynapsePoolResource
from dagster_project.transform.dbt_cli import dbt_resource
from generators.errors import PlaygroundError

# Where the solutions' Terraform roots are (another folder of roots for a try-out, or the tests).
TERRAFORM_DIR = Path(os.environ.get("PLAYGROUND_TERRAFORM_DIR") or REPO / "terraform")
# What an asset is made with, by the system it reads or the engine that builds it.
AZURE_LAKE = frozenset({"azure", "adls", "json"})


@dataclass(frozen=True)
class Solution:
    target: str                   # PLAYGROUND_TARGET
    location: str                 # its code location in workspace.yaml
    title: str                    # what a person calls it
    key_prefix: tuple[str, ...]   # before every asset key
    dbt_target: str               # dbt_project/profiles.yml, named like the warehouse it builds on
    kinds: dict[str, frozenset[str]] = field(hash=False)  # by tier or landing system
    streaming_solutions: tuple[str, ...] = ()  # whose outputs its streaming engine computes (scenarios.Output.solution)
    terraform_root: str = ""      # terraform/<root> that deploys it (none locally)
    bronze_on_spark: bool = False  # lake files and orders by its Spark job (kinds["bronze_job"]), not here

    @property
    def local(self) -> bool:
        return self.target == "local"

    def key(self, tier: str, name: str) -> AssetKey:
        return AssetKey([*self.key_prefix, tier, name])

    def name(self, base: str) -> str:
        """A job, sensor or schedule name, prefixed like the solution's keys so a user tells them apart."""
        return "_".join([*self.key_prefix, base])

    @property
    def owner(self) -> str:
        return f"team:{self.location}"

    def group(self, tier: str) -> str:
        return self.name(tier)

    def pool(self, database: str) -> str:
        """A DuckDB file takes one writing process: every step writing it is in one pool of limit 1
        (dagster_instance.yaml), whoever launched its run."""
        return self.name(f"duckdb_{database}")


SOLUTIONS = {
    "local": Solution(
        "local", "playground", "Local playground", (), "duckdb",
        kinds={"lake": frozenset({"python", "json"}), "orders_db": frozenset({"python", "sqlite"}),
               "bus": frozenset({"python", "sqlite"}), "bronze": frozenset({"duckdb"}),
               "dbt": frozenset({"dbt", "duckdb"}), "streaming": frozenset({"duckdb", "parquet"})},
        streaming_solutions=("microsoft", "databricks")),
    "databricks": Solution(
        "databricks", "databricks_solution", "Databricks solution", ("databricks",), "databricks",
        kinds={"lake": AZURE_LAKE, "orders_db": frozenset({"azure", "azure sql"}),
               "bus": frozenset({"azure", "event hubs", "kafka"}), "bronze": frozenset({"python", "duckdb", "adls"}),
               "bronze_job": frozenset({"databricks", "spark", "delta"}),
               "dbt": frozenset({"dbt", "databricks", "unity catalog"}),
               "streaming": frozenset({"databricks", "spark", "parquet"})},
        streaming_solutions=("microsoft", "databricks"), terraform_root="databricks_solution", bronze_on_spark=True),
    "synapse": Solution(
        "synapse", "microsoft_solution", "Microsoft solution (Synapse, Stream Analytics)", ("microsoft",), "synapse",
        kinds={"lake": AZURE_LAKE, "orders_db": frozenset({"azure", "azure sql"}),
               "bus": frozenset({"azure", "event hubs"}), "bronze": frozenset({"python", "duckdb", "adls"}),
               "dbt": frozenset({"dbt", "synapse"}), "streaming": frozenset({"azure", "stream analytics"})},
        streaming_solutions=("microsoft",), terraform_root="microsoft_solution"),
}
TARGETS = tuple(SOLUTIONS)
LOCAL = SOLUTIONS["local"]
# What each dbt target needs from the environment.
DBT_SETTINGS = {
    "duckdb": (),
    "spark": (),
    "databricks": ("DATABRICKS_HOST", "DATABRICKS_HTTP_PATH", "DATABRICKS_TOKEN", "PLAYGROUND_BRONZE_LOCATION",
                   "PLAYGROUND_GOLD_LOCATION"),
    "synapse": ("SYNAPSE_SERVER", "SYNAPSE_DATABASE", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                "PLAYGROUND_BRONZE_LOCATION", "PLAYGROUND_GOLD_LOCATION"),
}


def current_target() -> str:
    target = os.environ.get("PLAYGROUND_TARGET", "local")
    if target not in TARGETS:
        raise PlaygroundError(f"PLAYGROUND_TARGET={target!r} is not one of {', '.join(TARGETS)}")
    return target


def solution_for(target: str) -> Solution:
    if target not in SOLUTIONS:
        raise PlaygroundError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    return SOLUTIONS[target]


def resources_for(target: str) -> dict[str, object]:
    """Every system a solution reaches, one resource each, with this target's settings."""
    solution = solution_for(target)
    memory_limit = os.environ.get("PLAYGROUND_DUCKDB_MEMORY_LIMIT")  # every DuckDB file a run writes
    if solution.local:
        resources: dict[str, object] = {
            "lake": LakeResource(root=os.environ.get("PLAYGROUND_LAKE", "data/lake")),
            "orders_db": OrdersDBResource(url=os.environ.get("PLAYGROUND_ORDERS_URL", "sqlite:///data/orders.db")),
            "bus": BusResource(spec=os.environ.get("PLAYGROUND_BUS", "data/events.db")),
            "warehouse": duckdb_file(os.environ.get("PLAYGROUND_WAREHOUSE", "data/warehouse.duckdb"), memory_limit),
            # The streaming scenarios' local engine keeps its outputs and state in a DuckDB file of its own; in
            # the cloud, Stream Analytics and the Databricks streaming job compute them instead.
            "streaming": duckdb_file(os.environ.get("PLAYGROUND_STREAMING", "data/streams.duckdb"), memory_limit),
            "bronze_copy": BronzeCopyResource(enabled=os.environ.get("PLAYGROUND_BRONZE_TO_LAKE") == "1"),
        }
    else:
        # ADLS gen2 through dagster-azure's ADLS2 resource (azure_lake.py), Azure SQL, Event Hubs' Kafka endpoint
        # (EVENTHUBS_CONNECTION_STRING), all provisioned by terraform/<solution.terraform_root>.
        from dagster_project.azure_lake import AzureLakeResource, adls2_from_environment

        resources = {
            "lake": AzureLakeResource(root=EnvVar("PLAYGROUND_LAKE"), adls2=adls2_from_environment()),
            "orders_db": OrdersDBResource(url=EnvVar("PLAYGROUND_ORDERS_URL")),
            "bus": BusResource(spec="eventhubs"),
            # What bronze Dagster ingests itself (all but the Databricks bronze job's) keeps its bookkeeping in a
            # DuckDB file here, and each batch is written to the lake as Parquet, where the cloud warehouse reads
            # it (dbt's register_bronze).
            "warehouse": duckdb_file(os.environ.get("PLAYGROUND_WAREHOUSE") or f"data/{solution.location}.duckdb",
                                     memory_limit),
            "bronze_copy": BronzeCopyResource(enabled=True, arrays_as_json=target == "synapse"),
        }
    resources["dbt"] = dbt_resource(solution.dbt_target)
    if solution.bronze_on_spark:  # its job cluster, from terraform/databricks_solution's outputs
        resources["spark_jobs"] = DatabricksSparkJobs(
            host=EnvVar("DATABRICKS_HOST"), token=EnvVar("DATABRICKS_TOKEN"),
            storage_account=EnvVar("AZURE_STORAGE_ACCOUNT_NAME"), catalog=EnvVar("DATABRICKS_CATALOG"),
            volume=EnvVar("DATABRICKS_VOLUME"), wheel=EnvVar("DATABRICKS_WHEEL"),
            secret_scope=EnvVar("DATABRICKS_SECRET_SCOPE"), streaming_job_id=EnvVar("DATABRICKS_STREAMING_JOB_ID"))
    if target == "synapse":  # its dedicated SQL pool, paused and resumed by jobs (synapse_pool.py)
        resources["sql_pool"] = SynapsePoolResource(
            subscription_id=EnvVar("AZURE_SUBSCRIPTION_ID"), resource_group=EnvVar("PLAYGROUND_RESOURCE_GROUP"),
            workspace=EnvVar("SYNAPSE_WORKSPACE"), pool=EnvVar("SYNAPSE_DATABASE"), tenant_id=EnvVar("AZURE_TENANT_ID"),
            client_id=EnvVar("AZURE_CLIENT_ID"), client_secret=EnvVar("AZURE_CLIENT_SECRET"))
    if solution.terraform_root:
        resources["terraform"] = TerraformResource(root=str(TERRAFORM_DIR / solution.terraform_root),
                                                   settings_file=str(settings_file(solution.location)))
    return resources


def check_dbt_settings(dbt_target: str) -> None:
    """Before dbt runs: every setting its profile needs, or one error naming the missing ones."""
    missing = [name for name in DBT_SETTINGS[dbt_target] if not os.environ.get(name)]
    if missing:
        raise PlaygroundError(f"dbt target {dbt_target} needs {', '.join(missing)} in the environment "
                              "(see README: cloud targets)")
