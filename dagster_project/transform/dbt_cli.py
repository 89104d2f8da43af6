"""dbt, as Dagster calls it: the project, its manifest, the CLI from dbt's own environment, and the
settings one invocation sees. The assets (transform/assets.py), `make setup`'s parse, the tests and
the benchmarks all go through here, so a run and the set-up parse see the same profile and dbt
parses the project partially instead of whole; each dbt step keeps only its newest artifact folders.

`python -m dagster_project.transform.dbt_cli parse` is `make setup`'s step: it writes the manifest Dagster
reads and the partial-parse state the runs start from.
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject, DbtProjectPreparer
from packaging import version
from playground.errors import PlaygroundError

from dagster_project.duckdb_memory import dbt_duckdb_threads, duckdb_memory_limit
from dagster_project.solutions import LOCAL, Solution, local_setting

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = DBT_DIR / ".venv" / "bin" / "dbt"  # dbt's own environment (dbt_project/pyproject.toml)
# The project as dagster-dbt describes it; its manifest (target/manifest.json) is what `make setup` parses.
DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR, target=LOCAL.name)
MANIFEST = DBT_PROJECT.manifest_path
# Each dbt step leaves its artifacts (compiled SQL, run_results.json, dbt.log: ~4 MB) in a folder of its own
# under target/; `make up`'s schedule and sensors would fill the disk with them. The newest are kept to read.
KEPT_RUN_TARGETS = 10


def require_prepared() -> None:
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

    def _get_unique_target_path(self, *, context: Any) -> Path:
        path = super()._get_unique_target_path(context=context)
        if context:  # <op>-<run>-<uuid>: this op's earlier folders make room for this one
            target = path.parent if path.is_absolute() else Path(self.project_dir) / path.parent
            prune_run_targets(target, path.name.rsplit("-", 2)[0], KEPT_RUN_TARGETS - 1)
        return path

    @cached_property
    def _cli_version(self) -> version.Version:
        # dagster-dbt asks `dbt --version`, which imports every installed adapter: 13 s of each dbt step
        # with the four of `make test`. The package metadata of dbt's environment says the same at once.
        site_packages = glob.glob(str(DBT_DIR / ".venv" / "lib" / "python*" / "site-packages"))
        (dbt_core,) = importlib.metadata.distributions(name="dbt-core", path=site_packages)
        return version.parse(dbt_core.version)


def prune_run_targets(target: Path, op_name: str, keep: int) -> None:
    """All but the newest `keep` of the op's run folders (`<op>-<run>-<uuid>`) in `target` removed."""
    def modified(folder: Path) -> float:
        try:
            return folder.stat().st_mtime
        except FileNotFoundError:  # another run of the op removed it first
            return 0.0

    runs = sorted((folder for folder in target.glob(f"{op_name}-*-*") if folder.is_dir()), key=modified, reverse=True)
    for folder in runs[keep:]:
        shutil.rmtree(folder, ignore_errors=True)


def dbt_resource(dbt_target: str) -> DbtResource:
    return DbtResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=dbt_target,
                       dbt_executable=str(DBT_EXECUTABLE))


def check_dbt_settings(solution: Solution) -> None:
    """Before dbt runs: every setting the solution's profile needs, or one error naming the missing ones."""
    missing = [name for name in solution.dbt_settings if not os.environ.get(name)]
    if missing:
        raise PlaygroundError(f"dbt target {solution.name} needs {', '.join(missing)} in the environment "
                              "(see README: cloud targets)")


def dbt_settings(warehouse: str, lake: str) -> dict[str, str]:
    """What dbt's profile and models read from the environment, spelled the same way by every run and by
    the set-up parse: dbt parses whole again whenever the profile it renders changes."""
    return {"PLAYGROUND_WAREHOUSE": os.path.abspath(warehouse),
            "PLAYGROUND_LAKE": lake if "://" in lake else os.path.abspath(lake),
            "PLAYGROUND_DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(warehouse),
            "PLAYGROUND_DUCKDB_THREADS": str(dbt_duckdb_threads(warehouse)),
            # A deprecation note from a library inside dbt's environment, printed on every start.
            "PYTHONWARNINGS": "ignore::UserWarning"}


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


def parse() -> int:
    """The manifest and partial-parse state, for the local playground's settings (solutions.py): dbt's exit code."""
    settings = dbt_settings(local_setting("PLAYGROUND_WAREHOUSE"), local_setting("PLAYGROUND_LAKE"))
    return subprocess.run([str(DBT_EXECUTABLE), "parse", "--quiet", "--target", LOCAL.name, "--project-dir",
                           str(DBT_DIR), "--profiles-dir", str(DBT_DIR)], env={**os.environ, **settings}).returncode


def manifest_is_stale(project_dir: Path = DBT_DIR, manifest: Path = MANIFEST) -> bool:
    """Whether a file of the dbt project (models, macros, tests, its yml) changed after the manifest was made."""
    if not manifest.exists():
        return True
    made = manifest.stat().st_mtime
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml",
             *(path for folder in ("models", "macros", "tests") for path in (project_dir / folder).rglob("*")
               if path.is_file())]
    return any(path.stat().st_mtime > made for path in files if path.exists())


def prepare_if_dev(project: DbtProject = DBT_PROJECT) -> None:
    """dagster-dbt's prepare_if_dev, as this project needs it: under `dagster dev` (`make up`) a location parses
    the project again only when a model, macro or yml is newer than the manifest (dagster-dbt's own preparer
    would parse at every load of each location, with a `dbt` on PATH, which this project does not have), so an
    edit shows once the location reloads; otherwise the manifest stays as `make setup` made it."""
    if not (DbtProjectPreparer().using_dagster_dev() and manifest_is_stale(project.project_dir, project.manifest_path)):
        return
    if code := parse():
        raise PlaygroundError(f"`dbt parse` of {project.project_dir} failed (exit {code}): its output above says "
                              "which file")


if __name__ == "__main__" and sys.argv[1:] == ["parse"]:
    sys.exit(parse())
