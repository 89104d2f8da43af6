"""The order value model and its batch scores as assets, downstream of the order features (README: Machine
learning). Training and scoring run where the solution's ModelTracking says, through Pipes (the ML
environment, tracked locally or to Azure Machine Learning; a Databricks job cluster); these assets, the same
in every solution, say what came of it: metrics, the MLflow run and model version, and checks a user reads
in the UI."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from dagster_project.dashboard_links import dashboard_link
from dagster_project.ml.tracking import ModelTracking
from dagster_project.solutions import FEATURES, ML, Solution

# The champion's held-out RMSE is at most (1 - MARGIN) of the baseline's. With the shop's behaviour a user's
# earlier orders say much of what they spend (README: Behaviour): the trees reach ~0.7 of the baseline at
# the small scale; the margin leaves room for noise and fails when the behaviour is off (plain data).
MARGIN = 0.15
SCORED_DAYS = 30
Links = Callable[[str], dict[str, MetadataValue]]  # an asset's links to the dashboard, by its name
ORDER_FEATURES = "order_features"


class TrainingConfig(Config):
    cutoff: str | None = Field(default=None, description="Train on orders before this date (YYYY-MM-DD), test on "
                               "the rest; default: the day that holds out the newest fifth of the orders.")


class ScoringConfig(Config):
    days: int = Field(default=SCORED_DAYS, description="Score the orders of the newest this many days.")


def _location(where: str) -> MetadataValue:
    """A file's path (locally) or a table's name (Unity Catalog)."""
    return MetadataValue.path(where) if where.startswith("/") else MetadataValue.text(where)


def _upstream(context: AssetExecutionContext, key: AssetKey) -> dict[str, str]:
    """The features' latest materialization: the data version MLflow records beside the data's fingerprint."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None:
        return {}
    return {"features_run_id": event.run_id,
            "features_materialized_at": datetime.fromtimestamp(event.timestamp, UTC).isoformat(timespec="seconds")}


def _model_checks(report: dict[str, Any]) -> Iterator[AssetCheckResult]:
    baseline, champion = report["baseline_rmse"], report["champion_rmse"]
    yield AssetCheckResult(
        check_name="champion_beats_baseline", passed=bool(report["beats_baseline"]),
        severity=AssetCheckSeverity.ERROR,
        metadata={"champion_rmse": champion, "baseline_rmse": baseline, "ratio": champion / baseline,
                  "required_ratio": 1 - report["margin"], "champion_version": report["champion_version"]})
    best = report["results"][report["best"]]
    earlier = report["earlier_same_data"]
    differing = [run["run_id"] for run in earlier if any(run[m] != best[m] for m in ("rmse", "mae", "r2"))]
    yield AssetCheckResult(
        check_name="training_is_reproducible", passed=not differing,
        metadata={"earlier_runs_on_the_same_data": len(earlier), "differing_runs": ", ".join(differing) or "none",
                  "data_fingerprint": report["data_fingerprint"]},
        description=None if earlier else "first training on this data and cut-off: nothing to compare yet")


def order_value_model(solution: Solution, links: Links) -> AssetsDefinition:
    key = solution.key(ML, "order_value_model")

    @asset(key=key, deps=[solution.key(FEATURES, ORDER_FEATURES)], group_name=solution.group(ML),
           kinds=set(solution.kinds[ML]), owners=[solution.owner], pool=solution.job_name("mlflow"),
           description="Order value regression: the mean, a linear regression and gradient-boosted trees trained "
                       "on orders before a cut-off, tested on the rest; the best registered, the champion alias "
                       "moved when it beats the current champion.",
           check_specs=[AssetCheckSpec("champion_beats_baseline", asset=key,
                                       description=f"The champion's held-out RMSE is at most {1 - MARGIN:.0%} of the "
                                                   "mean's."),
                        AssetCheckSpec("training_is_reproducible", asset=key,
                                       description="Training again on the same data and cut-off gives the same "
                                                   "metrics.")])
    def model(context: AssetExecutionContext, config: TrainingConfig,
              model_tracking: ModelTracking) -> Iterator[MaterializeResult | AssetCheckResult]:
        report = model_tracking.run(context, "train", {
            "cutoff": config.cutoff, "margin": MARGIN,
            "upstream": _upstream(context, solution.key(FEATURES, ORDER_FEATURES))})
        context.log.info(f"baseline RMSE {report['baseline_rmse']:,.2f}, champion (version "
                         f"{report['champion_version']}) {report['champion_rmse']:,.2f}")
        metrics = {f"{name}_{metric}": value for name, found in report["results"].items()
                   for metric, value in found.items()}
        yield MaterializeResult(metadata={
            **metrics, "best": report["best"], "registered_version": int(report["registered_version"]),
            "champion_version": int(report["champion_version"]), "champion_moved": report["champion_moved"],
            "champion_rmse": report["champion_rmse"], "cutoff": report["cutoff"],
            "train_orders": report["train_orders"], "held_out_orders": report["held_out_orders"],
            "mlflow_run": MetadataValue.text(report["run_id"]),
            "mlflow_run_url": MetadataValue.url(model_tracking.run_url(report["experiment_id"], report["run_id"])),
            "model_url": MetadataValue.url(model_tracking.model_url(report["registered_version"])),
            "history": _location(report["history"]), "seconds": report["seconds"],
            "peak_rss_mib": report["peak_rss_mib"], **links("order_value_model"),
        })
        yield from _model_checks(report)

    return model


def order_value_scores(solution: Solution, links: Links) -> AssetsDefinition:
    key = solution.key(ML, "order_value_scores")

    @asset(key=key, deps=[solution.key(ML, "order_value_model"), solution.key(FEATURES, ORDER_FEATURES)],
           group_name=solution.group(ML), kinds=set(solution.kinds["ml_scores"]), owners=[solution.owner],
           pool=solution.job_name("mlflow"),
           description="The champion's predicted value of each order of the newest days, with the model version "
                       "that made it (Parquet in the lake as gold, or a Unity Catalog table).",
           check_specs=[AssetCheckSpec("scores_cover_the_range", asset=key,
                                       description="Every order of the scored days has one score.")])
    def scores(context: AssetExecutionContext, config: ScoringConfig,
               model_tracking: ModelTracking) -> Iterator[MaterializeResult | AssetCheckResult]:
        report = model_tracking.run(context, "score", {"days": config.days})
        coverage = report["coverage"]  # the written scores and the features of the scored days, read again
        yield MaterializeResult(metadata={
            "rows": report["rows"], "model_version": int(report["model_version"]), "scored_since": report["since"],
            "seconds": report["seconds"], "predict_seconds": report["predict_seconds"],
            "peak_rss_mib": report["peak_rss_mib"], "location": _location(report["location"]),
            "model_url": MetadataValue.url(model_tracking.model_url(report["model_version"])),
            **links("order_value_scores")})
        yield AssetCheckResult(
            check_name="scores_cover_the_range", metadata=coverage,
            passed=bool(coverage["orders_in_range"] == coverage["scores"] == coverage["distinct_orders"]
                        and coverage["without_a_prediction"] == 0))

    return scores


def no_links(name: str) -> dict[str, MetadataValue]:
    return {}


def ml_assets(solution: Solution, dashboard: bool) -> list[AssetsDefinition]:
    """The model and its scores, wherever the solution's ModelTracking trains them; linked to the dashboard's
    Model page when it reads this solution's lake."""
    links = dashboard_link if dashboard else no_links
    return [order_value_model(solution, links), order_value_scores(solution, links)]
