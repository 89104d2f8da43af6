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

pytestmark = pytest.mark.e2e
NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)")


def half_unit(printed: str) -> float:
    """Half the last printed digit's unit: what rounding may have hidden ("6.7" -> 0.05, "0.21" -> 0.005)."""
    decimals = len(printed.partition(".")[2])
    return 0.5 * 10 ** -decimals


def figures_and_ratio(line: str) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """The line's figures and its ratio, each as (value, half its printed unit)."""
    before, after = line.split("ratio", 1)
    printed = NUMBER.search(after).group(1)
    # sizes such as "1,000 new over 10,000:" are labels, not figures: a figure has a unit after it, or "ratio"
    figures = [(float(m.group(1).replace(",", "")), half_unit(m.group(1))) for m in NUMBER.finditer(before)
               if re.match(r"\s*(s\b|MiB|rows/s|events/s|lines/s|/s|$)", before[m.end():])]
    return figures, (float(printed), half_unit(printed))


def is_quotient(ratio: tuple[float, float], figures: list[tuple[float, float]]) -> bool:
    """The ratio is a/b for two figures of its line, within what the printed roundings allow
    (0.09 s / 0.09 s may be anything from 0.89 to 1.12)."""
    value, slack = ratio
    return any(b - hb > 0 and (a - ha) / (b + hb) - slack <= value <= (a + ha) / (b - hb) + slack
               for (a, ha), (b, hb) in itertools.permutations(figures, 2))


def test_figures_parse() -> None:
    figures, ratio = figures_and_ratio("pageviews (by offsets)  1,000 new over   1,000:  0.21 s   over  10,000:  "
                                       "0.26 s   ratio 1.24x (goal <= 1.5x)")
    assert (figures, ratio) == ([(0.21, 0.005), (0.26, 0.005)], (1.24, 0.005)) and is_quotient(ratio, figures)
    assert not is_quotient((1.4, 0.05), figures)
    assert is_quotient((0.92, 0.005), [(0.09, 0.005), (0.09, 0.005)])  # rounding hides the true ratio
    assert is_quotient((7.3, 0.05), [(6.7, 0.05), (49.4, 0.05)]) and not is_quotient((7.6, 0.05), [(6.7, 0.05),
                                                                                                    (49.4, 0.05)])


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
                 "pageviews_stars_correlation", "DuckDB read_json into a table", "writes of 100 micro-batches",
                 "fixed cost of 100 micro-batches", "alert_high_latency latency",
                 "raw_pageviews latency", "playground --help", "generate users --count 10"):
        assert any(line.startswith(name) and "ratio" in line for line in lines), result.stdout
    beside = [int(re.search(r"(\d+) bronze runs took", line).group(1)) for line in lines  # type: ignore[union-attr]
              if line.startswith("bronze beside it")]
    assert len(beside) == 2 and sum(beside) > 0, result.stdout  # bronze ingested the streamed events meanwhile
    for line in (line for line in lines if " ratio " in f" {line} "):
        figures, ratio = figures_and_ratio(line)
        assert ratio[0] > 0 and figures and all(f > 0 for f, _ in figures), line
        assert is_quotient(ratio, figures), f"the ratio is not the quotient of the line's figures: {line}"


def test_the_ml_benchmark_runs_and_its_ratio_is_its_two_rmses() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.ml", "--scale", "small"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for start in ("features (dbt run", "training (3 candidates", "features + training", "scoring (100,000 orders)"):
        assert any(line.startswith(start) for line in lines), result.stdout
    [rmse] = [line for line in lines if line.startswith("held-out RMSE")]
    champion, mean, ratio = (float(figure.replace(",", "")) for figure in re.search(
        r"\) ([\d,.]+)   the mean ([\d,.]+)   ratio ([\d.]+)", rmse).groups())
    assert 0 < champion < mean and ratio == pytest.approx(champion / mean, abs=0.0006)


def test_cost_per_row_divides_each_steps_seconds_by_its_rows_and_compares_scales() -> None:
    """Hand-made runs: bronze orders takes 10x the time for 100x the orders (ratio 0.1); dbt takes 1.5x the
    time a record (it grows faster than its data)."""
    from bench.cost_per_row import ratios, rows_of

    assert (rows_of("bronze_orders", "small"), rows_of("bronze_orders", "medium")) == (100_000, 10_000_000)
    assert rows_of("dbt_models", "medium") == 1_000_000 + 10_000 + 10_000 + 10_000_000 + 1_000_000
    small = {"seconds": 3.0, "steps": [{"step": "bronze_orders", "seconds": 1.0},
                                       {"step": "dbt_models", "seconds": 2.0}]}
    medium = {"seconds": 330.0, "steps": [{"step": "bronze_orders", "seconds": 10.0},
                                          {"step": "dbt_models", "seconds": 300.0 * rows_of("dbt_models", "medium")
                                           / rows_of("dbt_models", "small") / 100}]}
    got = ratios({"small": small, "medium": medium})
    assert got["bronze_orders"]["medium/small"] == pytest.approx(0.1)
    assert got["dbt_models"]["medium/small"] == pytest.approx(1.5)


def test_the_cost_per_row_benchmark_prints_each_step_of_the_main_job() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.cost_per_row", "--scales", "small"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for step in ("landing_orders", "bronze_orders", "dbt_models", "streaming_micro_batch", "ml__order_value_model"):
        assert any(line.strip().startswith(step) for line in result.stdout.splitlines()), result.stdout
