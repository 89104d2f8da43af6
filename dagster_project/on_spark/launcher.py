"""Runs a module of this repository's wheels as a Databricks job (spark_python_task):
`on_spark/launcher.py <wheel>[,<wheel>...] <module> [arguments...]`.

The wheels (the Dagster project's and the generators' distribution, whose catalog the jobs read) are
imported from where they lie (a Unity Catalog volume) instead of being pip-installed: pip would install
their dependencies too, and PySpark among them would replace the cluster's own. Only modules that need
nothing beyond the cluster's libraries are run this way (PySpark, pyarrow, and what the job's task
installs: dagster-pipes, duckdb).
"""

import runpy
import sys

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: on_spark/launcher.py <wheel>[,<wheel>...] <module> [arguments...]")
    wheels, module, *arguments = sys.argv[1:]
    sys.path[:0] = wheels.split(",")
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
