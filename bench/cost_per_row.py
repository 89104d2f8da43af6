"""Cost per row across scales: `python -m bench.cost_per_row` (small and medium, about six minutes;
`--scales small medium large` adds the large scale: about 35 minutes more, and ~70 GB of free disk, which
the room check asks for).

The local playground's main job at each scale, each in a fresh temporary playground (bench.medium's run):
each step's seconds per thousand of the rows it handles and its peak memory (the job's process and its largest
child), side by side, and the ratio of seconds per row of each scale to the one before. A ratio above 1 means
the step grows faster than its data (goal: at most 1.2); below 1, a fixed cost is spread over more rows.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from datetime import UTC, datetime
from typing import Any

from playground.catalog import SCALE_NAMES, SOURCES

from bench.medium import in_fresh_playground

GOAL = 1.2
# The source whose records a step of the local main job handles; the others (dbt, the model) handle them all.
STEP_SOURCES = {
    "landing_users": ("users", "vip_users"), "bronze__users": ("users",), "bronze__vip_users": ("vip_users",),
    "landing_products": ("products",), "bronze__products": ("products",),
    "landing_orders": ("orders",), "bronze_orders": ("orders",),
    "landing_events": ("pageviews",), "bronze__pageviews": ("pageviews",), "bronze__stars": ("pageviews",),
    # The events, and the users file it loads whole as reference data (11 of its 24 s at the medium scale).
    "streaming_micro_batch": ("pageviews", "users"),
    "ml__order_value_model": ("orders",), "ml__order_value_scores": ("orders",),
}


def rows_of(step: str, scale: str) -> int:
    """The records a step handles at a scale, by the catalog (orders with their items count as orders)."""
    counted = {name: source.counts[scale] for name, source in SOURCES.items() if source.counts}
    return sum(counted[name] for name in STEP_SOURCES.get(step, tuple(counted)))


def measured(scale: str) -> dict[str, Any]:
    return json.loads(in_fresh_playground([sys.executable, "-m", "bench.medium", "--run", scale]).splitlines()[-1])


def ratios(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per step, the seconds per row of each scale over the previous scale's ({step: {"medium/small": r}})."""
    scales = list(runs)
    per_row = {scale: {use["step"]: use["seconds"] / rows_of(use["step"], scale) for use in run["steps"]}
               for scale, run in runs.items()}
    return {step: {f"{later}/{earlier}": per_row[later][step] / per_row[earlier][step]
                   for earlier, later in itertools.pairwise(scales)
                   if step in per_row[earlier] and step in per_row[later] and per_row[earlier][step]}
            for step in per_row[scales[-1]]}


def report(runs: dict[str, dict[str, Any]]) -> None:
    scales = list(runs)
    print(f"# cost per row, the local main job, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, scales {', '.join(scales)}")
    print("  " + " ".join(f"{scale}: {run['seconds']:.1f} s" for scale, run in runs.items()))
    print(f"  {'step':<24}" + "".join(f" {scale + ' ms/1k rows':>20} {'peak MiB':>9}" for scale in scales)
          + "".join(f" {pair:>14}" for pair in next(iter(ratios(runs).values()), {})))
    uses = {scale: {use["step"]: use for use in run["steps"]} for scale, run in runs.items()}
    worst = 0.0
    for step, by_pair in sorted(ratios(runs).items(), key=lambda item: -max(item[1].values(), default=0)):
        cells = ""
        for scale in scales:
            use = uses[scale].get(step)
            cells += (f" {use['seconds'] / rows_of(step, scale) * 1e6:20.3f} {max(use['job_mib'], use['child_mib']):9,}"
                      if use else f" {'-':>20} {'-':>9}")
        worst = max([worst, *by_pair.values()])
        print(f"  {step:<24}{cells}" + "".join(f" {ratio:13.2f}x" for ratio in by_pair.values()))
    print(f"  largest ratio {worst:.2f}x (goal: at most {GOAL}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", nargs="+", default=["small", "medium"], choices=SCALE_NAMES)
    runs = {scale: measured(scale) for scale in parser.parse_args().scales}
    report(runs)


if __name__ == "__main__":
    main()
