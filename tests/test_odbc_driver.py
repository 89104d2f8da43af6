"""`make setup-cloud`'s ODBC Driver 18 step (dbt_project/install-odbc-driver.sh): nothing to do where the
driver is registered, one clear error where it cannot be installed, and nothing written before
Microsoft's repository has answered. (This machine cannot reach that repository: the install itself is
never run here; `make test` runs the rest of setup-cloud, its Python packages and adapters.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration

SCRIPT = ROOT / "dbt_project" / "install-odbc-driver.sh"
SOURCES = Path("/etc/apt/sources.list.d/mssql-release.list")


def run(env: dict[str, str], *prefix: str) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, "bash", str(SCRIPT)], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)


def test_a_registered_driver_installs_nothing(tmp_path: Path) -> None:
    (tmp_path / "odbcinst.ini").write_text("[ODBC Driver 18 for SQL Server]\nDriver=/opt/x/libmsodbcsql-18.so\n")
    done = run({"ODBCSYSINI": str(tmp_path), "PLAYGROUND_MS_REPO": "http://127.0.0.1:9"})
    assert done.returncode == 0 and done.stdout.strip() == "ODBC Driver 18 for SQL Server: installed"


def test_without_root_it_says_what_to_run(tmp_path: Path) -> None:
    runuser = shutil.which("runuser")
    assert runuser, "util-linux's runuser: make setup-dev installs it"
    done = run({"ODBCSYSINI": str(tmp_path)}, runuser, "-u", "nobody", "--")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error: ODBC Driver 18 for SQL Server is not installed: run 'sudo "
                                          "dbt_project/install-odbc-driver.sh'")


def test_an_unreachable_repository_is_one_error_and_nothing_is_written(tmp_path: Path) -> None:
    assert os.getuid() == 0, "CI runs as root"
    assert not SOURCES.exists()
    done = run({"ODBCSYSINI": str(tmp_path), "PLAYGROUND_MS_REPO": f"http://127.0.0.1:{free_port()}"})
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot reach Microsoft's package repository (http://127.0.0.1:" in errors[0]
    assert not SOURCES.exists() and not Path("/usr/share/keyrings/microsoft-prod.gpg").exists()
