"""The code locations of workspace.yaml, as `dagster dev -w workspace.yaml` loads them: no asset key in
two locations (Dagster's rule), each solution's graph on its own engines, and a snapshot of every
location's assets (keys, groups, kinds, owners, deps, checks) so any change to the graph is a reviewed
diff. After a deliberate change: PLAYGROUND_UPDATE_SNAPSHOTS=1 pytest tests/test_locations.py"""

from __future__ import annotations

import importlib
import json
import os

import pytest
import yaml
from dagster import Definitions

from tests.conftest import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots"
CLOUD_SETTINGS = ("PLAYGROUND_LAKE", "PLAYGROUND_ORDERS_URL", "PLAYGROUND_WAREHOUSE", "DATABRICKS_HOST",
                  "SYNAPSE_SERVER", "AZURE_STORAGE_CONNECTION_STRING", "EVENTHUBS_CONNECTION_STRING")


def workspace_locations() -> dict[str, Definitions]:
    """Each location of workspace.yaml, loaded from its module as the webserver loads it."""
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    modules = {entry["python_module"]["location_name"]: entry["python_module"]["module_name"]
               for entry in workspace["load_from"]}
    return {name: importlib.import_module(module).defs for name, module in modules.items()}


def snapshot(defs: Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name, "kinds": sorted(node.kinds), "owners": list(node.owners),
            "executable": node.is_executable, "observable": node.is_observable,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            # how it is kept up to date: its automation condition, its freshness policy's windows
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
            "freshness": [str(policy.warn_window.to_timedelta()), str(policy.fail_window.to_timedelta())]
            if (policy := node.freshness_policy) else None,
            # the systems its step reaches (resources.py), beside Dagster's own io_manager
            "resources": sorted(graph.assets_def_for_key(key).required_resource_keys - {"io_manager"})
            if node.is_executable else []}
    return {"assets": assets,
            "jobs": sorted(job.name for job in defs.jobs or []),
            "sensors": {s.name: sorted(s.required_resource_keys) for s in sorted(defs.sensors or [],
                                                                                  key=lambda s: s.name)},
            "schedules": sorted(s.name for s in defs.schedules or [])}


@pytest.fixture(scope="module")
def locations() -> dict[str, Definitions]:
    saved = {name: os.environ.pop(name) for name in CLOUD_SETTINGS if name in os.environ}
    try:
        yield workspace_locations()
    finally:
        os.environ.update(saved)


def test_workspace_shows_the_playground_and_both_solutions(locations: dict[str, Definitions]) -> None:
    assert list(locations) == ["data_playground", "databricks_solution", "microsoft_solution"]
    for defs in locations.values():
        Definitions.validate_loadable(defs)  # without credentials


def test_no_asset_key_is_defined_in_two_locations(locations: dict[str, Definitions]) -> None:
    seen: dict[str, str] = {}
    for name, defs in locations.items():
        for key in defs.resolve_asset_graph().get_all_asset_keys():
            assert key.to_user_string() not in seen, f"{key.to_user_string()} in {seen.get(key.to_user_string())} too"
            seen[key.to_user_string()] = name


@pytest.mark.parametrize("location", ["data_playground", "databricks_solution", "microsoft_solution"])
def test_asset_graph_snapshot(locations: dict[str, Definitions], location: str) -> None:
    path = SNAPSHOTS / f"{location}.json"
    current = snapshot(locations[location])
    if os.environ.get("PLAYGROUND_UPDATE_SNAPSHOTS") == "1":
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"no snapshot {path}: run with PLAYGROUND_UPDATE_SNAPSHOTS=1 and review the file"
    assert current == json.loads(path.read_text()), (
        f"{location}'s asset graph changed: if meant, run with PLAYGROUND_UPDATE_SNAPSHOTS=1 and review the diff")


def test_gold_and_streaming_assets_link_to_their_dashboard_page(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetKey

    from dagster_project.assembly import build_definitions

    monkeypatch.setenv("PLAYGROUND_DASHBOARD_URL", "http://127.0.0.1:8502/")
    graph = build_definitions("local").resolve_asset_graph()
    links = {key: graph.get(AssetKey(key.split("/"))).metadata.get("dashboard") for key in (
        "gold/engagements", "gold/daily_sales", "gold/product_popularity", "gold/stars_distribution",
        "streaming/alert_high_latency", "silver/users")}
    assert {key: link.url if link else None for key, link in links.items()} == {
        "gold/engagements": "http://127.0.0.1:8502/", "gold/daily_sales": "http://127.0.0.1:8502/?page=sales",
        "gold/product_popularity": "http://127.0.0.1:8502/?page=products",
        "gold/stars_distribution": "http://127.0.0.1:8502/?page=ratings",
        "streaming/alert_high_latency": "http://127.0.0.1:8502/?page=live", "silver/users": None}
