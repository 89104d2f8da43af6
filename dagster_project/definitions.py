"""The playground's Dagster definitions, assembled in one place for a target."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from dagster_project.assets.bronze import bronze_assets
from dagster_project.assets.landing import landing_assets
from dagster_project.assets.streaming import streaming_assets
from dagster_project.assets.transform import dbt_models
from dagster_project.sensors import schedules_for, sensors_for
from dagster_project.targets import current_target, resources_for

landing_job = define_asset_job("landing", selection=AssetSelection.groups("landing"),
                               description="Generate (locally) or observe (cloud) every source.")


def build_definitions(target: str) -> Definitions:
    # In one process: DuckDB takes one writer process per file, and bronze assets share the file.
    return Definitions(assets=[*landing_assets, *bronze_assets, dbt_models, *streaming_assets], jobs=[landing_job],
                       resources=resources_for(target), executor=in_process_executor,
                       sensors=sensors_for(target), schedules=schedules_for(target))


defs = build_definitions(current_target())
