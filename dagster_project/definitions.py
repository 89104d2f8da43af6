"""The playground's Dagster definitions, assembled in one place for a target."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from dagster_project.assets.landing import landing_assets
from dagster_project.targets import current_target, resources_for

landing_job = define_asset_job("landing", selection=AssetSelection.groups("landing"),
                               description="Generate (locally) or observe (cloud) every source.")


def build_definitions(target: str) -> Definitions:
    return Definitions(assets=landing_assets, jobs=[landing_job], resources=resources_for(target))


defs = build_definitions(current_target())
