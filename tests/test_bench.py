"""The benchmarks themselves run (at small sizes): their figures live in docs/BENCHMARKS.md."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_quick_benchmark_prints_every_ratio() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in ("users", "orders+items", "stream into embedded log"):
        assert any(line.startswith(name) and "ratio" in line for line in lines), result.stdout
    memory = [line for line in lines if "MiB" in line and "ratio" in line]
    assert len(memory) == 4  # three generators, and the users file into bronze
    for name in ("users file into bronze", "products (a file each)", "orders (+ items", "pageviews (by offsets)",
                 "definitions load", "full build   duckdb", "after 1% new data", "raw_pageviews", "agg_http_method",
                 "pageviews_stars_correlation", "alert_high_latency latency", "raw_pageviews latency"):
        assert any(line.startswith(name) and "ratio" in line for line in lines), result.stdout
