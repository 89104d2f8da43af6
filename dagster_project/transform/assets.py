"""Silver and gold: the dbt project's models as assets downstream of bronze; its tests as asset checks.

The manifest is prepared by `make setup` (`dbt parse`), never at import. Each solution builds the same
models on its own warehouse: keys <prefix>/<tier>/<model> in its groups, kinds naming that warehouse,
and the sources are the solution's bronze assets. Two variants publish gold to the lake, where the
dashboard reads it: from DuckDB's file after the build (the features too, where training reads them), or
by the cloud warehouse itself during it (dbt's publish_to_lake), which Dagster then points readers at.
assembly.py picks one.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, AssetsDefinition, AssetSpec
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from dagster_project.dashboard_links import dashboard_link
from dagster_project.resources import DuckDBFile, LakeResource
from dagster_project.solutions import FEATURES, GOLD, Solution
from dagster_project.transform.dbt_cli import (
    DBT_PROJECT,
    DbtResource,
    check_dbt_settings,
    dbt_settings,
    environment,
    prepare_if_dev,
    require_prepared,
)

# What publishes a build's models (by tier: gold, features) into the lake, as observations of them.
Publisher = Callable[[Solution, dict[str, list[str]], LakeResource, DuckDBFile, str], Iterator[AssetObservation]]


def copies_from_duckdb(solution: Solution, built: dict[str, list[str]], lake: LakeResource, warehouse: DuckDBFile,
                     stamp: str) -> Iterator[AssetObservation]:
    """Each gold and feature table of DuckDB's file written to the lake as Parquet."""
    from dagster_project.publish import publish_tables

    for tier in (GOLD, FEATURES):
        for model, (path, rows) in publish_tables(warehouse.database, tier, built[tier], lake.open()).items():
            yield AssetObservation(asset_key=solution.key(tier, model), metadata={"parquet": path,
                                                                                  "parquet_rows": rows})


def gold_from_warehouse(solution: Solution, built: dict[str, list[str]], lake: LakeResource, warehouse: DuckDBFile,
                        stamp: str) -> Iterator[AssetObservation]:
    """The warehouse wrote each gold and features model's folder of this build itself, under the gold location:
    readers (the dashboard, the Microsoft solution's training) pointed at it."""
    from dagster_project.publish import point_to_published

    the_lake = lake.open()
    for tier in (GOLD, FEATURES):
        for model in built[tier]:
            if path := point_to_published(the_lake, GOLD, model, stamp):
                yield AssetObservation(asset_key=solution.key(tier, model), metadata={"parquet": path})


class TierTranslator(DagsterDbtTranslator):
    """Models are <prefix>/<tier>/<model> in the solution's tier group; bronze sources are its bronze assets."""

    def __init__(self, solution: Solution, table_names: bool, dashboard: bool) -> None:
        super().__init__()
        self.solution = solution
        self.table_names = table_names  # the manifest names DuckDB's file; a cloud warehouse's comes at run time
        self.dashboard = dashboard

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return self.solution.key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        return self.solution.key(dbt_resource_props["config"]["schema"], dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        tier = dbt_resource_props["config"].get("schema")  # sources have none: they are the bronze assets
        return self.solution.group(tier) if tier else None

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        # The manifest is parsed once (for DuckDB); the kinds say which warehouse this solution builds on.
        spec = super().get_asset_spec(manifest, unique_id, project)
        metadata = {**spec.metadata, "dagster/storage_kind": self.solution.warehouse}
        props = self.get_resource_props(manifest, unique_id)
        if self.table_names:
            metadata["dagster/table_name"] = f"{props['schema']}.{props.get('alias') or props['name']}"
        if self.dashboard and props["schema"] == GOLD:
            metadata.update(dashboard_link(props["name"]))
        return spec.replace_attributes(kinds=set(self.solution.kinds["dbt"]), owners=[self.solution.owner],
                                       metadata=metadata)


def dbt_models_for(solution: Solution, publish: Publisher, pool: str | None = None, table_names: bool = False,
                   dashboard: bool = False) -> AssetsDefinition:
    """The models on the solution's warehouse; `pool` when the build writes a DuckDB file (one writer)."""
    prepare_if_dev()
    require_prepared()

    @dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT,
                dagster_dbt_translator=TierTranslator(solution, table_names, dashboard),
                name=solution.job_name("dbt_models"), pool=pool)
    def dbt_models(context: AssetExecutionContext, dbt: DbtResource, lake: LakeResource, warehouse: DuckDBFile):
        from dagster_project.publish import publish_stamp

        check_dbt_settings(solution)
        stamp = publish_stamp()  # where a cloud warehouse writes this run's gold in the lake (publish_to_lake)
        with environment({**dbt_settings(warehouse.database, lake.root), "PLAYGROUND_PUBLISH_STAMP": stamp}):
            yield from dbt.cli(["build"], context=context).stream()
        built = {tier: [key.path[-1] for key in context.selected_asset_keys if key.path[-2] == tier]
                 for tier in (GOLD, FEATURES)}
        for observation in publish(solution, built, lake, warehouse, stamp):
            context.log_event(observation)

    return dbt_models
