"""Silver and gold: the dbt project's models as assets downstream of bronze; its tests as asset checks.

The manifest is prepared by `make setup` (`dbt parse`), never at import. The dbt target follows
PLAYGROUND_TARGET (targets.py); asset keys are the same on every target: silver/<model>,
gold/<model>, and the sources are the bronze assets.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from dagster_project.resources import PlaygroundResource, WarehouseResource
from generators.errors import PlaygroundError

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = DBT_DIR / ".venv" / "bin" / "dbt"  # dbt's own environment (dbt_project/pyproject.toml)
MANIFEST = DBT_DIR / "target" / "manifest.json"
GOLD = "gold"

for needed, what in ((DBT_EXECUTABLE, "dbt's environment"), (MANIFEST, "the dbt manifest (`dbt parse`)")):
    if not needed.exists():
        raise PlaygroundError(f"{needed} is missing: run `make setup`, which installs {what}")


def dbt_command(*args: str, scratch: str, project: Path = DBT_DIR) -> list[str]:
    """A dbt CLI call outside Dagster (tests, benchmarks): its target/ and logs go to `scratch`, so
    the manifest Dagster reads stays as `make setup` left it."""
    return [str(DBT_EXECUTABLE), *args, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", f"{scratch}/target", "--log-path", f"{scratch}/logs"]


class DbtResource(DbtCliResource):
    """dbt's CLI from dbt's own environment. dagster-dbt would also import dbt-core's adapter into
    this process (for optional row counts) and log a warning with a traceback on every run when it
    is not here; dbt-core is deliberately not here."""

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None


class TierTranslator(DagsterDbtTranslator):
    """Models are <tier>/<model> in the tier's group; bronze sources are the bronze assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["config"].get("schema")


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """dbt reads its settings from the environment (profiles.yml): set them for one invocation."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(manifest=MANIFEST, dagster_dbt_translator=TierTranslator())
def dbt_models(context: AssetExecutionContext, dbt: DbtResource, playground: PlaygroundResource,
               warehouse: WarehouseResource):
    from dagster_project.targets import check_dbt_settings

    check_dbt_settings(dbt.target or "duckdb")
    lake = playground.lake if "://" in playground.lake else os.path.abspath(playground.lake)
    with environment({"PLAYGROUND_WAREHOUSE": os.path.abspath(warehouse.path), "PLAYGROUND_LAKE": lake}):
        yield from dbt.cli(["build"], context=context).stream()
    if dbt.target == "duckdb":
        from dagster_project.publish import publish_tables

        gold = [key.path[-1] for key in context.selected_asset_keys if key.path[0] == GOLD]
        for model, (path, rows) in publish_tables(warehouse.path, GOLD, gold, playground.open_lake()).items():
            context.log_event(AssetObservation(asset_key=AssetKey([GOLD, model]),
                                               metadata={"parquet": path, "parquet_rows": rows}))
