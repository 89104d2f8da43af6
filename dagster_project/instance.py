"""The project's Dagster instance: its settings in DAGSTER_HOME, its storage created once, before any run.

Dagster creates an instance's SQLite storage on first use, and two processes doing that at once (two
`dagster asset materialize` on a new DAGSTER_HOME) stamp two schema versions: every later command then
fails with "Version table 'alembic_version' has more than one head present". Set-up (`make setup`, and
every test or benchmark that makes a home) calls `prepare` first, under a lock, so no run ever creates it.

    python -m dagster_project.instance [DAGSTER_HOME]
"""

import fcntl
import io
import os
import shutil
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from dagster import DagsterInstance

ROOT = Path(__file__).resolve().parents[1]
# Named apart in the repository: Dagster warns about a dagster.yaml in a working folder that is not its home.
SETTINGS = ROOT / "dagster_instance.yaml"
PREPARED = ".prepared"  # written last: a home holding it has its settings and its storage


def prepare(home: Path | str) -> Path:
    """`home` with the project's dagster.yaml and every storage Dagster keeps there created and migrated."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # set-ups racing each other take turns
        shutil.copyfile(SETTINGS, home / "dagster.yaml")
        with DagsterInstance.from_config(str(home)) as instance, redirect_stdout(io.StringIO()), \
                redirect_stderr(io.StringIO()):  # its progress bars
            instance.upgrade(print_fn=lambda _message: None)
        (home / PREPARED).touch()
    return home


if __name__ == "__main__":
    print(prepare(sys.argv[1] if len(sys.argv) > 1 else os.environ["DAGSTER_HOME"]))
