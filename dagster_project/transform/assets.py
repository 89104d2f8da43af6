"""Silver and gold: the dbt project's models as assets downstream of bronze; its tests as asset checks.

The manifest is prepared by `make setup` (`dbt parse`), never at import. Each solution builds the same
models on its own warehouse (targets.py): keys <prefix>/<tier>/<model> in its groups, kinds naming
that warehouse, and the sources are the solution's bronze assets.
"""

from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, AssetsDefinition, AssetSpec
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from dagster_project.dashboard_links import dashboard_link
from dagster_project.resources import DuckDBFile, LakeResource
from dagster_project.targets import LOCAL, Solution, check_dbt_settings
from dagster_project.transform.dbt_cli import MANIFEST, DbtResource, dbt_settings, environment, require_prepared

GOLD = "gold"


class TierTranslator(DagsterDbtTranslator):
    """Models are <prefix>/<tier>/<model> in the solution's tier group; bronze sources are its bronze assets."""

    def __init__(self, solution: Solution) -> None:
        super().__init__()
        self.solution = solution

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
        metadata = {**spec.metadata, "dagster/storage_kind": self.solution.dbt_target}
        props = self.get_resource_props(manifest, unique_id)
        if not self.solution.local:  # the manifest names DuckDB's file as the database; the cloud's comes at run time
            metadata["dagster/table_name"] = f"{props['schema']}.{props.get('alias') or props['name']}"
        elif props["schema"] == "gold":
            metadata.update(dashboard_link(props["name"]))
        return spec.replace_attributes(kinds=set(self.solution.kinds["dbt"]), owners=[self.solution.owner],
                                       metadata=metadata)


def dbt_models_for(solution: Solution) -> AssetsDefinition:
    require_prepared()

    # The local DuckDB file takes one writer: dbt's step joins the bronze steps' pool.
    @dbt_assets(manifest=MANIFEST, dagster_dbt_translator=TierTranslator(solution), name=solution.name("dbt_models"),
                pool=solution.pool("warehouse") if solution.local else None)
    def dbt_models(context: AssetExecutionContext, dbt: DbtResource, lake: LakeResource, warehouse: DuckDBFile):
        from dagster_project.publish import point_to_published, publish_stamp, publish_tables

        check_dbt_settings(dbt.target or "duckdb")
        stamp = publish_stamp()  # where a cloud warehouse writes this run's gold in the lake (publish_to_lake)
        with environment({**dbt_settings(warehouse.database, lake.root), "PLAYGROUND_PUBLISH_STAMP": stamp}):
            yield from dbt.cli(["build"], context=context).stream()
        gold = [key.path[-1] for key in context.selected_asset_keys if key.path[-2] == GOLD]
        if dbt.target == "duckdb":
            for model, (path, rows) in publish_tables(warehouse.database, GOLD, gold, lake.open()).items():
                context.log_event(AssetObservation(asset_key=solution.key(GOLD, model),
                                                   metadata={"parquet": path, "parquet_rows": rows}))
        else:  # the warehouse wrote each model's folder itself: point readers at it
            the_lake = lake.open()
            for model in gold:
                if path := point_to_published(the_lake, GOLD, model, stamp):
                    context.log_event(AssetObservation(asset_key=solution.key(GOLD, model),
                                                       metadata={"parquet": path}))

    return dbt_models


dbt_models = dbt_models_for(LOCAL)
