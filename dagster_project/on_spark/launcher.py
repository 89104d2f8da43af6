"""Runs a module of this repository's wheel as a Databricks job (spark_python_task):
`on_spark/launcher.py <wheel> <module> [arguments...]`.

The wheel is imported from where it lies (a Unity Catalog volume) instead of being pip-installed:
pip would install its dependencies too, and PySpark among them would replace the cluster's own.
Only modules that need nothing beyond the cluster's libraries are run this way (PySpark, pyarrow,
and what the job's task installs: dagster-pipes, duckdb).
"""

import runpy
import sys

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: on_spark/launcher.py <wheel> <module> [arguments...]")
    wheel, module, *arguments = sys.argv[1:]
    sys.path.insert(0, wheel)
    sys.argv = [module, *arguments]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
