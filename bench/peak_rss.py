"""Run a command and print its peak RSS in KiB.

A small launcher of its own, because ru_maxrss survives exec: a child forked from a big
process starts with that process's high-water mark. cli() runs the playground's CLI under it."""

import os
import subprocess
import sys
import time
from pathlib import Path


def cli(args: list[str], cwd: Path) -> tuple[float, int]:
    """Run `playground ARGS` in a child process: (seconds, peak RSS in MiB)."""
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bench.peak_rss", sys.executable, "-m", "playground.generators.cli",
                             *args, "--quiet"], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    if result.returncode != 0:
        raise SystemExit(f"playground {' '.join(args)} failed:\n{result.stderr}")
    return time.perf_counter() - began, int(result.stdout.split()[-1]) // 1024


if __name__ == "__main__":
    pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
    _, status, usage = os.wait4(pid, 0)
    print(usage.ru_maxrss)
    sys.exit(os.waitstatus_to_exitcode(status))
