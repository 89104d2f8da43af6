"""Where the project leans on something Dagster or dagster-dbt does not publish, it does so in one module,
and this test pins the version it was written against: an upgrade fails here, naming what to re-read,
instead of misbehaving at run time."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
from pathlib import Path

from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
# Each private name used, the one module allowed to use it, and the versions it was checked against.
PRIVATE = {
    "dagster._core.launcher.base": ("dagster_project/run_launcher.py", "dagster", "1.13"),
    "dagster._core.execution.plan.instance_concurrency_context": ("dagster_project/pool_wait.py", "dagster", "1.13"),
    # Run deletion leaves a run's check executions (DagsterInstance.delete_run as of 1.13): history.py removes them.
    "dagster._core.storage.event_log.schema": ("dagster_project/history.py", "dagster", "1.13"),
}
# dagster-dbt's DbtCliResource methods DbtResource (transform/dbt_cli.py) overrides, with the version read.
DBT_OVERRIDES = ("_initialize_dbt_core_adapter", "_get_unique_target_path", "_cli_version")
DBT_VERSION = "0.29"


def private_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dagster._"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("dagster._")}
    return found


def test_private_dagster_imports_are_the_pinned_ones_in_their_module() -> None:
    """No `dagster._...` import in the project but those listed above, each in its one module, and only where
    a type is not exported (type-only imports under TYPE_CHECKING count too)."""
    used = {}
    for path in [*(REPO / "dagster_project").rglob("*.py"), *(REPO / "packages").rglob("*.py")]:
        for module in private_imports(path):
            used.setdefault(module, set()).add(str(path.relative_to(REPO)))
    allowed = {module: {where} for module, (where, _, _) in PRIVATE.items()}
    # define_asset_job's return type is not exported: named for type checkers only.
    allowed["dagster._core.definitions.unresolved_asset_job_definition"] = {"dagster_project/sensors.py"}
    assert used == allowed


def test_the_pinned_private_apis_are_the_versions_they_were_written_for() -> None:
    for module, (_, distribution, written_for) in PRIVATE.items():
        installed = Version(importlib.metadata.version(distribution))
        assert f"{installed.major}.{installed.minor}" == written_for, (
            f"{distribution} {installed}: {module} was used as of {written_for}; re-read it, then update PRIVATE")
    from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus

    assert {"RUNNING", "FAILED"} <= set(WorkerStatus.__members__)
    assert list(inspect.signature(CheckRunHealthResult).parameters)[:2] == ["status", "msg"]


def test_the_pool_wait_replaces_the_method_as_dagster_wrote_it() -> None:
    """pool_wait.py replaces a method that never sleeps (min with 0): while Dagster's is that, the replacement
    stands; when an upgrade changes it, this fails, to re-read it and drop the replacement if it is fixed."""
    from dagster._core.execution.plan import instance_concurrency_context

    source = Path(instance_concurrency_context.__file__).read_text()  # as installed, not as patched
    assert "return min([0, *[ready_at - now for ready_at in self._pending_timeouts.values()]])" in source


def test_dagster_dbts_overridden_methods_are_the_ones_of_the_version_read() -> None:
    """DbtResource drops dagster-dbt's in-process dbt-core adapter, prunes each step's target folders and
    reads dbt's version from package metadata: each override replaces a method of this version."""
    from dagster_dbt import DbtCliResource

    from dagster_project.transform.dbt_cli import DbtResource

    installed = Version(importlib.metadata.version("dagster-dbt"))
    assert f"{installed.major}.{installed.minor}" == DBT_VERSION, (
        f"dagster-dbt {installed}: DbtResource's overrides were written against {DBT_VERSION}; re-read them")
    for name in DBT_OVERRIDES:
        assert name in vars(DbtResource) and hasattr(DbtCliResource, name), name
    assert list(inspect.signature(DbtCliResource._get_unique_target_path).parameters) == ["self", "context"]
