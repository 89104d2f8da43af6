"""Dagster: definitions load on every target, the asset graph is the same everywhere, landing
materializes into a temp dir, and a cloud target fails clearly without its settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInvalidConfigError,
    Definitions,
    ExecuteInProcessResult,
    SkipReason,
    build_sensor_context,
    materialize,
)
from playground.catalog import LANDING_OPS, SOURCES
from playground.errors import PlaygroundError

from dagster_project.assembly import build_definitions
from dagster_project.instance import prepare
from dagster_project.solution_resources import resources_for
from dagster_project.solutions import SOLUTIONS, local_environment
from dagster_project.transform.dbt_cli import DBT_DIR, KEPT_RUN_TARGETS
from tests.conftest import ROOT
from tests.helpers import events, local_assets, local_resources, table_rows

CLOUD_SETTINGS = ("PLAYGROUND_LAKE", "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_VOLUME", "DATABRICKS_CATALOG",
                  "DATABRICKS_MLFLOW_EXPERIMENT", "AZUREML_MLFLOW_TRACKING_URI",
                  "PLAYGROUND_ORDERS_URL", "PLAYGROUND_WAREHOUSE", "EVENTHUBS_CONNECTION_STRING",
                  "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "SYNAPSE_SERVER", "SYNAPSE_DATABASE",
                  "AZURE_CLIENT_SECRET")
SMALL = {"counts": {"users": 300, "vip_users": 10, "products": 40, "orders": 500, "pageviews": 2_000}}


def run_config(config: dict) -> dict:
    return {"ops": {name: {"config": config} for name in LANDING_OPS}}


@pytest.fixture
def no_cloud_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLOUD_SETTINGS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_cloud_settings")
def test_every_target_loads_without_credentials_with_its_own_keys() -> None:
    """The same graph on every target, under the solution's prefix; Stream Analytics has no DLT outputs.
    (Which keys, kinds and checks: the snapshots of tests/test_locations.py.)"""
    dlt_only = {"streaming/parsed_pageviews", "streaming/parsed_stars", "streaming/high_latency"}
    local = local_keys()
    expected = {"local": local, "databricks": [f"databricks/{key}" for key in local],
                "microsoft": [f"microsoft/{key}" for key in local if key not in dlt_only]}
    for target in SOLUTIONS:
        defs = build_definitions(target)
        Definitions.validate_loadable(defs)
        assert sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()) == expected[target]


def local_keys() -> list[str]:
    return sorted(k.to_user_string() for k in build_definitions("local").resolve_asset_graph().get_all_asset_keys())


@pytest.mark.usefixtures("no_cloud_settings")
@pytest.mark.parametrize(("target", "key", "named"), [
    ("databricks", "databricks/bronze/users", ["DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_VOLUME"]),
    ("databricks", "databricks/ml/order_value_model", ["DATABRICKS_MLFLOW_EXPERIMENT", "DATABRICKS_CATALOG",
                                                       "DATABRICKS_HOST", "DATABRICKS_TOKEN"]),
    # Everything the location lacks, its dbt profile's settings too, from the first resource that needs any.
    ("microsoft", "microsoft/bronze/products", ["PLAYGROUND_LAKE", "AZURE_STORAGE_ACCOUNT_NAME", "SYNAPSE_SERVER",
                                                "SYNAPSE_DATABASE", "AZURE_CLIENT_SECRET",
                                                "AZUREML_MLFLOW_TRACKING_URI"]),
    ("microsoft", "microsoft/ml/order_value_scores", ["AZUREML_MLFLOW_TRACKING_URI", "PLAYGROUND_LAKE"]),
])
def test_a_cloud_run_without_its_settings_fails_at_once_naming_them(target: str, key: str, named: list[str]) -> None:
    result = build_definitions(target).resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[AssetKey.from_user_string(key)], raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
    error = failure.event_specific_data.error
    message = (error.cause or error).message
    assert message.startswith("playground.errors.PlaygroundError: ")
    assert all(name in message for name in named) and "run its provisioning job" in message
    assert not result.get_asset_materialization_events()


def test_bronze_of_what_keeps_arriving_is_late_after_an_hour_and_failing_after_a_day_as_dbt_says() -> None:
    """Dagster's freshness policy on each bronze asset (its daemon marks it in the UI) and dbt's source
    freshness say the same windows; lake files, which change only when regenerated, have none."""
    import yaml

    sources = yaml.safe_load((DBT_DIR / "models" / "sources.yml").read_text())["sources"][0]["tables"]
    dbt_windows = {table["name"]: {level: window for level, window in table["config"]["freshness"].items()}
                   for table in sources if "config" in table}
    assert dbt_windows == {name: {"warn_after": {"count": 1, "period": "hour"},
                                  "error_after": {"count": 24, "period": "hour"}}
                           for name in ("orders", "items", "pageviews", "stars")}
    for target, solution in SOLUTIONS.items():
        graph = build_definitions(target).resolve_asset_graph()
        for name in SOURCES:
            policy = graph.get(solution.key("bronze", name)).freshness_policy
            if name in dbt_windows:
                assert (policy.warn_window.to_timedelta().total_seconds(),
                        policy.fail_window.to_timedelta().total_seconds()) == (3600, 86400), (target, name)
            else:
                assert policy is None, (target, name)


def test_lineage_refers_orders_and_events_to_users_and_products() -> None:
    graph = build_definitions("local").resolve_asset_graph()
    for source in ("orders", "items", "pageviews", "stars"):
        parents = {k.to_user_string() for k in graph.get(AssetKey(["landing", source])).parent_keys}
        assert parents == {"landing/users", "landing/products"}, source


def test_materialize_landing_into_a_temp_dir(tmp_path: Path) -> None:
    result = materialize(local_assets("landing"), resources=local_resources(tmp_path), run_config=run_config(SMALL))
    assert result.success
    records = {m.asset_key.to_user_string(): m.metadata["records"].value
               for m in result.get_asset_materialization_events() for m in [m.materialization]}
    # items and stars are as many as the generators made: what the database and the bus hold
    (items, top_user, top_product), = table_rows(tmp_path / "orders.db",
                                                "SELECT count(*), max(o.userId), max(i.productId) "
                                                "FROM items i JOIN orders o USING (orderId)")
    stars = len(events(tmp_path / "events.db", "stars"))
    assert records == {"landing/users": 300, "landing/vip_users": 10, "landing/products": 40,
                       "landing/orders": 500, "landing/items": items,
                       "landing/pageviews": 2_000, "landing/stars": stars}
    assert 500 <= items <= 5_000 and stars > 0
    assert len((tmp_path / "lake/landing/users/users.json").read_bytes().splitlines()) == 300
    # orders refer to the users and products this run generated
    assert top_user < 300 and top_product < 40
    manifest = json.loads((tmp_path / "lake/landing/_manifests/orders.json").read_text())
    assert manifest["records"] == 500


def generated_at(result: ExecuteInProcessResult) -> dict[str, float]:
    """When each landed source was generated, as its materialization says."""
    landed = [e.materialization for e in result.get_asset_materialization_events()]
    return {m.asset_key.to_user_string(): m.metadata["generated_at"].value
            for m in landed if "generated_at" in m.metadata}


def test_landing_again_with_the_same_settings_keeps_what_is_there_so_bronze_still_matches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` after `make up` (or twice): landing with the settings that generated the sources keeps them
    with what the trickle added, so bronze's orders still match their source and no event reaches the bus
    twice (before, landing emptied the orders bronze took and sent every event again: three failed checks).
    Other settings write the sources afresh."""
    from playground.generators import room
    from playground.generators.behaviour import Shop
    from playground.generators.live import run_trickle
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB

    resources, config = local_resources(tmp_path), run_config(SMALL)
    landing_and_bronze = local_assets("landing", "bronze")
    first = materialize(landing_and_bronze, resources=resources, run_config=config)
    assert first.success and len(generated_at(first)) == 7
    with OrdersDB(f"sqlite:///{tmp_path / 'orders.db'}") as db:
        trickled = run_trickle(Lake(str(tmp_path / "lake")), db, Shop(42, 300, 40), products_per_s=0,
                               orders_per_s=400, duration_s=0.6).orders
    assert trickled > 0
    assert materialize(local_assets("bronze"), resources=resources).success
    pageviews = len(events(tmp_path / "events.db", "pageviews"))

    again = materialize(landing_and_bronze, resources=resources, run_config=config)
    failed = [(c.asset_key.to_user_string(), c.check_name) for c in again.get_asset_check_evaluations()
              if not c.passed]
    assert again.success and failed == []
    assert generated_at(again) == generated_at(first)  # every source kept, items and stars included
    assert table_rows(tmp_path / "orders.db", "SELECT count(*) FROM orders")[0][0] == 500 + trickled
    assert len(events(tmp_path / "events.db", "pageviews")) == pageviews
    with monkeypatch.context() as full:  # nothing to write: no room asked (a large scale's disk is full of it)
        full.setattr(room, "_free_bytes", lambda path: 0)
        assert materialize(local_assets("landing"), resources=resources, run_config=config).success

    dirtier = run_config({"counts": SMALL["counts"], "dirty_rate": 0.05})
    assert materialize(local_assets("landing"), resources=resources, run_config=dirtier).success
    assert table_rows(tmp_path / "orders.db", "SELECT count(*) FROM orders")[0][0] == 500  # written afresh
    assert json.loads((tmp_path / "lake/landing/_manifests/orders.json").read_text())["dirty_rate"] == 0.05


def test_a_scale_the_warehouses_disk_or_the_machines_memory_cannot_hold_is_refused_before_landing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 40: the orders of the medium scale land in ~1.25 GB and bronze to gold keeps up to twice as much
    with dbt's spill (room.py): on one disk the two are summed; the memory the job needs is named with the
    machine's."""
    from playground.generators import room

    medium = {"config": {"scale": "medium"}}
    landing = [a for a in local_assets("landing") if "orders" in a.op.name]
    free = 2_000_000_000  # the landed orders fit, with what is kept of them they do not
    monkeypatch.setattr(room, "_free_bytes", lambda path: free)
    with pytest.raises(PlaygroundError) as refused:
        materialize(landing, resources=local_resources(tmp_path), run_config={"ops": {landing[0].op.name: medium}})
    assert str(refused.value) == (
        f"10,000,000 orders need about 3.8 GB on one disk (1.2 GB at {tmp_path}/orders.db, 2.5 GB at "
        f"{tmp_path}/warehouse.duckdb), whose disk has 2.0 GB free: lower --count (or --scale), or choose a "
        "sink with room")
    monkeypatch.setattr(room, "_free_bytes", lambda path: 10 * free)
    monkeypatch.setattr(room, "machine_memory", lambda: 1 << 30)
    with pytest.raises(PlaygroundError, match=r"^10,000,000 orders need about 2.\d GB of memory to go from "
                                              r"landing to gold \(.*\), and this machine has 1.1 GB: lower"):
        materialize(landing, resources=local_resources(tmp_path), run_config={"ops": {landing[0].op.name: medium}})
    # Past medium DuckDB's memory limit grows with the warehouse (up to a quarter of the machine): the large
    # scale's orders (~12.5 GB landed, a ~11 GB warehouse) want more than 8 GiB.
    monkeypatch.setattr(room, "_free_bytes", lambda path: 100 * free)
    monkeypatch.setattr(room, "machine_memory", lambda: 8 << 30)
    with pytest.raises(PlaygroundError, match=r"^100,000,000 orders need about 11 GB of memory to go from "
                                              r"landing to gold \(.*\), and this machine has 8.6 GB: lower"):
        materialize(landing, resources=local_resources(tmp_path),
                    run_config={"ops": {landing[0].op.name: {"config": {"scale": "large"}}}})
    assert not (tmp_path / "orders.db").exists()


@pytest.mark.usefixtures("no_cloud_settings")
def test_cloud_target_fails_naming_the_missing_setting() -> None:
    with pytest.raises(DagsterInvalidConfigError) as error:
        materialize(local_assets("landing"), resources=resources_for("databricks"), run_config=run_config(SMALL))
    message = str(error.value)
    assert 'environment variable "PLAYGROUND_LAKE" which is not set' in message
    assert 'environment variable "PLAYGROUND_ORDERS_URL" which is not set' in message


def test_cloud_landing_reports_what_the_generator_containers_wrote(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """In the cloud Dagster runs no generator: landing assets are external, and each new or changed
    manifest is reported as its sources' materialization, once."""
    landing = local_assets("landing")
    assert materialize(landing, resources=local_resources(tmp_path), run_config=run_config(SMALL)).success
    monkeypatch.setenv("PLAYGROUND_LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "unused")  # the lake is a folder here
    defs = build_definitions("microsoft")
    assert not any(defs.resolve_assets_def(AssetKey(["microsoft", "landing", source])).is_executable
                   for source in ("users", "items", "pageviews"))
    sensor = defs.resolve_sensor_def("microsoft_landing_manifests")
    before = (tmp_path / "lake/landing/users/users.json").stat().st_mtime_ns

    def tick(cursor: str | None):  # type: ignore[no-untyped-def]
        with build_sensor_context(cursor=cursor, resources={"lake": resources_for("microsoft")["lake"]}) as context:
            return sensor(context)

    first = tick(None)
    reported = {e.asset_key.to_user_string(): e.metadata["records"].value for e in first.asset_events}
    items, = table_rows(tmp_path / "orders.db", "SELECT count(*) FROM items")[0]
    assert reported == {"microsoft/landing/users": 300, "microsoft/landing/vip_users": 10,
                        "microsoft/landing/products": 40, "microsoft/landing/orders": 500,
                        "microsoft/landing/items": items, "microsoft/landing/pageviews": 2_000,
                        "microsoft/landing/stars": len(events(tmp_path / "events.db", "stars"))}
    assert not first.run_requests
    assert (tmp_path / "lake/landing/users/users.json").stat().st_mtime_ns == before  # nothing regenerated
    assert isinstance(tick(first.cursor), SkipReason)  # reported once
    regenerated = {"ops": {"landing_products": {"config": {"counts": {"products": 50}}}}}
    assert materialize(landing[1:2], resources=local_resources(tmp_path), run_config=regenerated).success
    again = tick(first.cursor)
    assert {e.asset_key.to_user_string(): e.metadata["records"].value for e in again.asset_events} == {
        "microsoft/landing/products": 50}


def test_duckdb_memory_limit_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("PLAYGROUND_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("PLAYGROUND_STREAMING", str(tmp_path / "st.duckdb"))
    for file in ("warehouse", "streaming"):
        with resources_for("local")[file].get_connection() as con:
            assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"  # DuckDB's MiB
    monkeypatch.delenv("PLAYGROUND_DUCKDB_MEMORY_LIMIT")  # the machine's: an eighth of its memory, at most 1 GiB
    from dagster_project.duckdb_memory import duckdb_memory_limit
    from dagster_project.resources import DuckDBFile
    from dagster_project.transform.dbt_cli import dbt_settings

    machine_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20
    assert duckdb_memory_limit() == f"{min(1024, machine_mib // 8)}MiB"
    assert dbt_settings("wh.duckdb", "lake")["PLAYGROUND_DUCKDB_MEMORY_LIMIT"] == duckdb_memory_limit()  # dbt's too
    # A file past 3 GiB: 0.9x its size rounded up to a whole GiB, at most a quarter of the machine (sparse files:
    # their size). A medium warehouse (2.3 GB at most) keeps the base; the large scale's bronze alone (5.9 GB,
    # dbt's first build) gets 5 GiB (its user totals need 3); a large warehouse built (20 GB), the machine's cap.
    for name, size in (("medium.duckdb", 2_300_000_000), ("large_bronze.duckdb", 5_937_311_744),
                       ("large.duckdb", 20_000_000_000)):
        with (tmp_path / name).open("wb") as file:
            file.truncate(size)
    assert duckdb_memory_limit(str(tmp_path / "medium.duckdb")) == duckdb_memory_limit()
    capped = machine_mib // 4 >> 10 << 10
    assert duckdb_memory_limit(str(tmp_path / "large_bronze.duckdb")) == f"{min(5 << 10, capped)}MiB"
    grown = f"{min(17 << 10, capped)}MiB"
    assert duckdb_memory_limit(str(tmp_path / "large.duckdb")) == grown
    assert dbt_settings(str(tmp_path / "large.duckdb"), "lake")["PLAYGROUND_DUCKDB_MEMORY_LIMIT"] == grown
    # dbt's queries: two threads in the base limit's range, one past it (two need 1.3-2.5x the memory of one)
    two = str(min(2, os.cpu_count() or 1))
    assert [dbt_settings(str(tmp_path / name), "lake")["PLAYGROUND_DUCKDB_THREADS"]
            for name in ("medium.duckdb", "large_bronze.duckdb", "large.duckdb")] == [two, "1", "1"]

    def memory_limit_mib(resource: object) -> int:
        with resource.get_connection() as con:  # type: ignore[attr-defined]
            value, unit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0].split()
            return round(float(value) * {"MiB": 1, "GiB": 1024}[unit])

    assert memory_limit_mib(resources_for("local")["warehouse"]) == min(1024, machine_mib // 8)
    # One resource, as a run holds it from its start: the limit when it connects, once bronze grew the file.
    growing = DuckDBFile(database=str(tmp_path / "growing.duckdb"))
    assert memory_limit_mib(growing) == min(1024, machine_mib // 8)
    with (tmp_path / "growing.duckdb").open("r+b") as file:
        file.truncate(3_400_000_000)  # just past 3 GiB: 0.9x is 2.85 GiB, rounded up
    assert memory_limit_mib(growing) == min(3 << 10, capped)
    monkeypatch.setenv("PLAYGROUND_DUCKDB_MEMORY_LIMIT", "lots")
    warehouse = resources_for("local")["warehouse"]
    with pytest.raises(PlaygroundError, match=r"wh.duckdb: DuckDB does not take the settings \{'memory_limit': "
                                              r"'lots'\} \(memory_limit, from PLAYGROUND_DUCKDB_MEMORY_LIMIT, is a "
                                              r"size such as 2GB\)"), warehouse.get_connection():
        pass


@pytest.mark.e2e
def test_dagster_cli_materializes_everything(tmp_path: Path) -> None:
    """`dagster asset materialize --select '*'` works from the command line, as a user runs it."""
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(run_config(SMALL)))
    env = {**os.environ, "PLAYGROUND_TARGET": "local", "PLAYGROUND_LAKE": str(tmp_path / "lake"),
           "PLAYGROUND_ORDERS_URL": f"sqlite:///{tmp_path / 'orders.db'}", "PLAYGROUND_BUS": str(tmp_path / "ev.db"),
           "PLAYGROUND_WAREHOUSE": str(tmp_path / "wh.duckdb"), "PLAYGROUND_STREAMING": str(tmp_path / "st.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster_home"), "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
           "PLAYGROUND_MLFLOW": str(tmp_path / "mlflow")}
    prepare(tmp_path / "dagster_home")
    earlier_runs = [tmp_path / "dbt_target" / f"dbt_models-{run:07d}-0000000" for run in range(KEPT_RUN_TARGETS + 2)]
    for folder in earlier_runs:
        folder.mkdir(parents=True)
    shutil.copy(DBT_DIR / "target" / "partial_parse.msgpack", tmp_path / "dbt_target")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "--select", "*",
         "-m", "dagster_project.definitions", "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr
    assert len((tmp_path / "lake/landing/users/users.json").read_bytes().splitlines()) == 300
    import duckdb

    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM bronze.users").fetchone()[0] == 300
        assert con.execute("SELECT count(*) FROM gold.engagements").fetchone()[0] == 300
        pageviews = con.execute("SELECT count(*) FROM bronze.pageviews").fetchone()[0]
    assert (tmp_path / "lake/gold/engagements/data.parquet").exists()
    with duckdb.connect(str(tmp_path / "st.duckdb"), read_only=True) as con:  # the same events, streamed
        assert con.execute("SELECT count(*) FROM streaming.raw_pageviews").fetchone()[0] == pageviews
    assert list((tmp_path / "lake/bronze/streaming/raw_pageviews").glob("part-*.parquet"))
    # dbt's artifacts: this run's, and only the newest of the earlier runs'
    assert len(list((tmp_path / "dbt_target").glob("dbt_models-*"))) == KEPT_RUN_TARGETS
    assert len([run for run in earlier_runs if run.exists()]) == KEPT_RUN_TARGETS - 1


@pytest.mark.e2e
def test_dg_lists_and_launches_the_same_definitions(tmp_path: Path) -> None:
    """`dg`, Dagster's newer CLI, sees the repository as one project (pyproject's [tool.dg])."""
    env = {**{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}, "PLAYGROUND_TARGET": "local",
           "PLAYGROUND_LAKE": str(tmp_path / "lake"), "PLAYGROUND_ORDERS_URL": f"sqlite:///{tmp_path / 'orders.db'}",
           "PLAYGROUND_BUS": str(tmp_path / "ev.db"), "PLAYGROUND_WAREHOUSE": str(tmp_path / "wh.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    prepare(tmp_path / "dagster_home")
    dg = str(Path(sys.executable).parent / "dg")
    listed = subprocess.run([dg, "list", "defs", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert sorted(a["asset_key"] for a in json.loads(listed.stdout)["assets"]) == local_keys()
    assert "virtual environment" not in listed.stderr  # .venv/bin/dg without activating .venv: no warning
    launched = subprocess.run([dg, "launch", "--assets", "group:landing,group:bronze",
                               "--config-json", json.dumps(run_config(SMALL))],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert launched.returncode == 0, launched.stderr[-3000:]
    import duckdb

    with duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM bronze.users").fetchone()[0] == 300
        assert con.execute("SELECT count(*) FROM bronze.orders").fetchone()[0] == 500


def plain_shell(tmp_path: Path) -> dict[str, str]:
    """A shell that exported nothing of Dagster's: no DAGSTER_HOME, a HOME of its own (where Dagster would
    write its telemetry id), the playground's stores under tmp_path so the test keeps the repository's data."""
    stores = {k: v for k, v in local_environment(str(tmp_path)).items() if k.startswith("PLAYGROUND_")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "PLAYGROUND_"))}
    (tmp_path / "home").mkdir(exist_ok=True)
    return {**env, **stores, "HOME": str(tmp_path / "home"), "PLAYGROUND_TARGET": "local"}


@pytest.mark.e2e
def test_the_readmes_cli_commands_use_the_projects_instance_from_a_plain_shell(tmp_path: Path) -> None:
    """`.venv/bin/dagster asset materialize …` typed in a plain shell at the repository's root runs in the
    project's instance (.dagster/: the UI's history, its pools), with no welcome banner or telemetry file;
    `dagster asset list` with no location finds the project (dagster_project/environment.py)."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    dagster = str(Path(sys.executable).parent / "dagster")
    env = plain_shell(tmp_path)
    listed = subprocess.run([dagster, "asset", "list"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert set(listed.stdout.split()) == set(local_keys())

    instance = DagsterInstance.from_config(str(ROOT / ".dagster"))
    before = {run.run_id for run in instance.get_runs()}
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"ops": {"landing_products": {"config": SMALL}}}))
    for command in (["--select", "landing/products", "-m", "dagster_project.definitions"],  # as the README has it
                    ["--select", "landing/products"]):  # as a Dagster user types it first
        done = subprocess.run([dagster, "asset", "materialize", *command, "--config", str(config)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Welcome to Dagster" not in done.stdout + done.stderr
    runs = [run for run in instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
            if run.run_id not in before and run.asset_selection == {AssetKey(["landing", "products"])}]
    assert len(runs) == 2
    assert not (tmp_path / "home" / ".dagster").exists()  # no telemetry id, no instance of its own
    assert len(list((tmp_path / "lake/landing/products").glob("*.json"))) == SMALL["counts"]["products"]


@pytest.mark.e2e
def test_two_runs_at_once_on_a_new_home_find_it_prepared(tmp_path: Path) -> None:
    """Two `dagster asset materialize` started together on a new, empty DAGSTER_HOME: the first prepares it
    (settings with the pools, storage) under a lock while the second waits, and both runs succeed on one
    schema (no second `alembic_version` row)."""
    import sqlite3

    home = tmp_path / "new_home"
    env = {**plain_shell(tmp_path), "DAGSTER_HOME": str(home)}
    home.mkdir()
    dagster = str(Path(sys.executable).parent / "dagster")
    runs = [subprocess.Popen([dagster, "asset", "materialize", "--select", selection, "--config-json",
                              json.dumps({"ops": {op: {"config": SMALL}}})],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for selection, op in (("landing/users,landing/vip_users", "landing_users"),
                                  ("landing/products", "landing_products"))]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster_instance.yaml").read_text()
    for database in home.rglob("*.db"):
        with sqlite3.connect(database) as con:
            if con.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
                assert con.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1, database


def test_the_environment_points_dagsters_cli_at_the_project_only_where_nothing_else_is_given() -> None:
    from dagster_project.environment import HOME, apply, default_location_variable

    assert default_location_variable(["/r/.venv/bin/dagster", "asset", "list"]) == "DAGSTER_CLI_ASSET_LIST_MODULE_NAME"
    assert default_location_variable(["dagster", "job", "execute", "-j", "streaming_consumer"]) == \
        "DAGSTER_CLI_JOB_EXECUTE_MODULE_NAME"
    for given in (["-m", "x"], ["--module-name=x"], ["-f", "x.py"], ["--package-name", "x"], ["-w", "w.yaml"]):
        assert default_location_variable(["dagster", "asset", "materialize", "--select", "*", *given]) is None
    for other in (["dagster", "dev"], ["dagster", "asset", "--help"], ["dg", "list", "defs"], ["python", "-c"]):
        assert default_location_variable(other) is None
    environ = {"DAGSTER_HOME": "/elsewhere"}
    apply(environ, ["python", "-c"])
    assert environ == {"DAGSTER_HOME": "/elsewhere"}  # what the user set stays
    environ = {}
    apply(environ, ["dagster", "asset", "list", "-m", "x"])
    assert environ == {"DAGSTER_HOME": str(HOME)}
