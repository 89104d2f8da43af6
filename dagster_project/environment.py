"""What every command of the project's environment (.venv) starts with, so that the README's commands
work as written from a plain shell: `make setup` installs it as a .pth file that Python runs at start.

- `DAGSTER_HOME` defaults to the repository's `.dagster/`, the project's instance (its pools, its run
  launcher, the UI's history): `.venv/bin/dagster asset materialize …` run by hand lands in the same
  history as `make up`'s runs, and Dagster's CLI never makes a throwaway instance of its own.
- A `dagster` or `dg` command on a home the project has not prepared (a new or empty `DAGSTER_HOME`)
  prepares it first, under a lock (`instance.prepare`): two commands started together on a new home take
  turns instead of both creating its storage.
- `dagster asset …` and `dagster job …` given no code location load `dagster_project.definitions`
  (`dagster asset list`), through click's environment variable for that command; a location given on the
  command line (-m, -f, --package-name, …) is used as given.

Standard library only, and nothing imported unless a command needs it: every Python start pays for it.
`install()` (run by `make setup`) writes the .pth file into the running environment.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".dagster"
PTH = "playground_environment.pth"  # after the editable installs' `_…pth` files, which put the project on sys.path
# Dagster's CLI reads an option from DAGSTER_CLI_<GROUP>_<COMMAND>_<OPTION> (click's auto_envvar_prefix).
DEFAULT_LOCATION = "dagster_project.definitions"
LOCATION_FLAGS = ("-f", "--python-file", "-m", "--module-name", "--package-name", "--autoload-defs-module-name",
                  "-w", "--workspace", "--grpc-host", "--grpc-port", "--grpc-socket")
GROUPS_WITH_LOCATIONS = ("asset", "job")
INSTANCE_COMMANDS = ("dagster", "dg")


def default_location_variable(argv: list[str]) -> str | None:
    """The variable naming the code location `argv` (a `dagster` command) should load, if it names none."""
    if len(argv) < 3 or Path(argv[0]).name != "dagster" or argv[1] not in GROUPS_WITH_LOCATIONS:
        return None
    command = argv[2]
    if command.startswith("-") or any(arg.split("=")[0] in LOCATION_FLAGS for arg in argv[3:]):
        return None
    return f"DAGSTER_CLI_{argv[1].upper()}_{command.upper().replace('-', '_')}_MODULE_NAME"


def apply(environ: os._Environ | dict, argv: list[str]) -> None:
    environ.setdefault("DAGSTER_HOME", str(HOME))
    if variable := default_location_variable(argv):
        environ.setdefault(variable, DEFAULT_LOCATION)
    if argv and Path(argv[0]).name in INSTANCE_COMMANDS:
        from dagster_project.instance import PREPARED, prepare

        home = Path(environ["DAGSTER_HOME"])
        if not (home / PREPARED).exists():
            prepare(home)


def on_start() -> None:
    """Run by the .pth file: never stops Python from starting (a broken set-up says so and goes on)."""
    try:
        apply(os.environ, sys.argv)
    except Exception as exc:  # a .pth line that raises prints a traceback before every command
        print(f"playground: could not prepare Dagster's instance ({exc}); run `make setup`", file=sys.stderr)


def install() -> Path:
    import sysconfig

    target = Path(sysconfig.get_paths()["purelib"]) / PTH
    line = "import dagster_project.environment as playground_environment; playground_environment.on_start()\n"
    if not target.exists() or target.read_text() != line:
        target.write_text(line)
    return target
