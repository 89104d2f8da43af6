"""How long `dagster_project.definitions` takes to load in a fresh process (goal: under 5 s),
beside `import dagster` alone measured in the same run: `python -m bench.definitions_load`."""

from __future__ import annotations

import subprocess
import sys
import time

GOAL_S = 5.0


def fresh_process_seconds(code: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    base = fresh_process_seconds("import dagster")
    ours = fresh_process_seconds("from dagster_project.definitions import defs; defs.resolve_asset_graph()")
    print(f"definitions load {ours:.2f} s   import dagster {base:.2f} s   ratio {ours / base:.2f}x   "
          f"(goal < {GOAL_S:.0f} s)")


if __name__ == "__main__":
    main()
