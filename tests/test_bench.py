"""The benchmarks themselves run (at small sizes): their figures live in docs/BENCHMARKS.md. Each ratio
they print is the quotient of two figures measured in the same run and printed on its line, and every
figure is a positive number (never asserted against a fixed time: these machines are shared)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)")


def figures_and_ratio(line: str) -> tuple[list[float], float]:
    before, after = line.split("ratio", 1)
    printed = NUMBER.search(after).group(1)
    # sizes such as "1,000 new over 10,000:" are labels, not figures: a figure has a unit after it, or "ratio"
    figures = [float(m.group(1).replace(",", "")) for m in NUMBER.finditer(before)
               if re.match(r"\s*(s\b|MiB|rows/s|events/s|lines/s|/s|$)", before[m.end():])]
    return figures, float(printed)


def is_quotient(ratio: float, figures: list[float], half_unit: float = 0.005) -> bool:
    """The ratio, as printed (to 1 or 2 decimals), is a/b for two figures of its line, each printed to 2
    decimals: within what their rounding allows (0.09 / 0.09 may be anything from 0.89 to 1.12)."""
    return any(b - half_unit > 0 and (a - half_unit) / (b + half_unit) - 0.051 <= ratio
               <= (a + half_unit) / (b - half_unit) + 0.051 for a, b in itertools.permutations(figures, 2))


def test_figures_parse() -> None:
    figures, ratio = figures_and_ratio("pageviews (by offsets)  1,000 new over   1,000:  0.21 s   over  10,000:  "
                                       "0.26 s   ratio 1.24x (goal <= 1.5x)")
    assert (figures, ratio) == ([0.21, 0.26], 1.24) and is_quotient(ratio, figures)
    assert not is_quotient(1.4, figures)


def test_quick_benchmark_prints_every_ratio() -> None:
    result = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
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
    for line in (line for line in lines if " ratio " in f" {line} "):
        figures, ratio = figures_and_ratio(line)
        assert ratio > 0 and figures and all(f > 0 for f in figures), line
        assert is_quotient(ratio, figures), f"the ratio is not the quotient of the line's figures: {line}"
