"""The order value model at a scale: `python -m bench.ml` (medium: 10M orders; several minutes).

The local playground's main job at the scale in a temporary folder (landing to gold, the features and the
model), then, each timed on its own in the same run: the feature models again (`dbt run`), training (the
three candidates, registration, the champion's comparison), and scoring every order (not only the newest
days) to measure predictions per second. The champion's held-out RMSE is printed as a ratio of the mean's.
Peak memory is the ML process's own (the training and scoring script reports it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.medium import in_fresh_playground, run_job, scale_benchmark

GOALS = {"features_and_training_s": 60.0, "scoring_rows_per_s": 1_000_000.0}


def materialized(result: Any, name: str) -> dict[str, Any]:
    [event] = [e for e in result.get_asset_materialization_events() if e.materialization.asset_key.path[-1] == name]
    return {key: getattr(value, "value", value) for key, value in event.materialization.metadata.items()}


def measure(scale: str) -> dict[str, Any]:
    """Runs in the temporary playground's environment (its stores, its Dagster home)."""
    from dagster import AssetKey, DagsterInstance, materialize

    from dagster_project.assembly import build_definitions
    from dagster_project.solution_resources import resources_for
    from dagster_project.transform.dbt_cli import DBT_DIR, dbt_command

    job_s = json.loads(run_job(scale))["seconds"]
    scratch = str(Path(os.environ["DAGSTER_HOME"]).parent)  # the playground's folder
    began = time.perf_counter()
    features = subprocess.run(dbt_command("run", "--select", "features", scratch=scratch), cwd=DBT_DIR,
                              capture_output=True, text=True)
    features_s = time.perf_counter() - began
    if features.returncode:
        sys.exit(features.stdout[-3000:])
    assets = [a for a in build_definitions("local").assets if "ml" in getattr(a, "group_names_by_key", {}).values()]
    instance, resources = DagsterInstance.get(), resources_for("local")
    began = time.perf_counter()
    trained = materialize(assets, instance=instance, resources=resources,
                          selection=[AssetKey(["ml", "order_value_model"])])
    training_s = time.perf_counter() - began
    scored = materialize(assets, instance=instance, resources=resources,
                         selection=[AssetKey(["ml", "order_value_scores"])],
                         run_config={"ops": {"ml__order_value_scores": {"config": {"days": 100_000}}}})
    model, scores = materialized(trained, "order_value_model"), materialized(scored, "order_value_scores")
    return {"job_s": job_s, "features_s": features_s, "training_s": training_s, "model": model, "scores": scores}


def report(scale: str) -> None:
    found = json.loads(in_fresh_playground([sys.executable, "-m", "bench.ml", "--run", scale]).splitlines()[-1])
    model, scores = found["model"], found["scores"]
    rows_per_s = scores["rows"] / scores["predict_seconds"]
    print(f"# the order value model, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {scale} scale "
          f"({model['train_orders'] + model['held_out_orders']:,} orders)", flush=True)
    print(f"main job (landing -> gold, features, model)   {found['job_s']:7.1f} s")
    print(f"features (dbt run: order and user features)   {found['features_s']:7.1f} s")
    print(f"training (3 candidates, register, champion)   {found['training_s']:7.1f} s   the script's "
          f"{model['seconds']:.1f} s, peak RSS {model['peak_rss_mib']:,} MiB")
    print(f"features + training                           {found['features_s'] + found['training_s']:7.1f} s   "
          f"goal <= {GOALS['features_and_training_s']:.0f} s")
    print(f"scoring ({scores['rows']:,} orders)   predict {scores['predict_seconds']:.2f} s   "
          f"{rows_per_s:,.0f} rows/s   goal >= {GOALS['scoring_rows_per_s']:,.0f} rows/s; step "
          f"{scores['seconds']:.1f} s, peak RSS {scores['peak_rss_mib']:,} MiB")
    print(f"held-out RMSE   champion ({model['best']}) {model['champion_rmse']:,.1f}   the mean "
          f"{model['baseline_mean_rmse']:,.1f}   ratio {model['champion_rmse'] / model['baseline_mean_rmse']:.3f}   "
          f"(linear regression {model['linear_regression_rmse']:,.1f})")


if __name__ == "__main__":
    scale_benchmark(__doc__, lambda scale: json.dumps(measure(scale), default=str), report)
