"""Streaming: the eight Stream Analytics outputs and the Delta Live Tables ones, as one micro-batch
multi-asset over the event bus (see dagster_project/streaming/engine.py for the semantics).

One run computes every output for the same range of events and commits them with the state and
offsets, so the outputs are materialized together. They live in their own DuckDB file
(PLAYGROUND_STREAMING), so a micro-batch never waits for a dbt build holding the warehouse.
In the cloud, Stream Analytics (Microsoft solution) or the Databricks streaming job computes them
into the lake: there Dagster observes each output's folder (parts, rows, last write) and does not
compute it.
(No `from __future__ import annotations`: Dagster reads the config and resource annotations.)
"""

import warnings

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    Config,
    DagsterInstance,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    ObserveResult,
    multi_asset,
    multi_observable_source_asset,
)
from pydantic import Field

from dagster_project.dashboard_links import dashboard_link
from dagster_project.landing.assets import landing_key
from dagster_project.resources import BusResource, DuckDBFile, LakeResource
from dagster_project.streaming.observe import Seen, Written, observe
from dagster_project.streaming.scenarios import LATE_ARRIVAL_S, OUT_OF_ORDER_S, OUTPUTS
from dagster_project.targets import LOCAL, Solution

GROUP = "streaming"


class StreamingConfig(Config):
    time_mode: str = Field(default="arrival", description="'arrival' (enqueued time, as the original job ran) or "
                                                          "'event' (the events' event_time)")
    late_arrival_s: int = Field(default=LATE_ARRIVAL_S, description="late-arrival tolerance (event mode), and the "
                                "longest a partition waits for the others (both modes)")
    out_of_order_s: int = Field(default=OUT_OF_ORDER_S, description="event mode: out-of-order tolerance")
    policy: str = Field(default="adjust", description="event mode: 'adjust' or 'drop' events beyond a tolerance")


def streaming_key(output: str, solution: Solution = LOCAL) -> AssetKey:
    return solution.key(GROUP, output)


def streaming_specs(solution: Solution) -> list[AssetSpec]:
    """The outputs a solution's streaming engine computes, each from the events and its reference data."""
    def deps(name: str) -> list[AssetKey]:
        reference = {"raw_vip_only": ["vip_users"], "alert_high_latency_enriched": ["users"]}.get(name, [])
        return [landing_key(source, solution) for source in ("pageviews", "stars", *reference)]

    return [AssetSpec(streaming_key(o.name, solution), group_name=solution.group(GROUP),
                      kinds=set(solution.kinds["streaming"]), owners=[solution.owner], deps=deps(o.name),
                      metadata=dashboard_link(GROUP) if solution.local else {},
                      description=f"{o.description} Stands for {o.solution}'s `{o.original_name}`; "
                                  f"parts under <lake>/{o.lake_folder}/.")
            for o in OUTPUTS if o.solution in solution.streaming_solutions]


def _seen(instance: DagsterInstance, key: AssetKey) -> Seen:
    """What the previous observation of `key` counted."""
    records = instance.fetch_observations(key, limit=1).records
    if not records or not records[0].asset_observation:
        return Seen()
    metadata = records[0].asset_observation.metadata
    if "rows_total" not in metadata:
        return Seen()
    return Seen(metadata["parts"].value, metadata["rows_total"].value, metadata["last_write"].value,
                tuple(metadata["parts_at_last_write"].value))


def _observed(written: Written, folder: str) -> dict[str, object]:
    return {"parts": written.parts, "parts_new": written.new_parts, "rows_total": written.rows,
            "rows_new": written.new_rows, "bytes": written.bytes, "folder": folder,
            "last_write": MetadataValue.timestamp(written.last_write),
            "parts_at_last_write": MetadataValue.json(list(written.at_last_write))}


def observed_streaming(solution: Solution) -> AssetsDefinition:
    """A cloud solution's outputs, observed where its engine writes them."""
    outputs = [o for o in OUTPUTS if o.solution in solution.streaming_solutions]

    on_databricks = solution.target == "databricks"  # its engine is a job Dagster can ask about

    def streaming_outputs(context: AssetExecutionContext):
        lake = context.resources.lake.open()
        engine = {}
        if on_databricks:
            state = context.resources.spark_jobs.streaming_state()
            engine = {"streaming_job": f"{state['pause_status']}, run {state['run_state']}"}
        for output in outputs:
            key = streaming_key(output.name, solution)
            written = observe(lake, output.lake_folder, _seen(context.instance, key))
            yield ObserveResult(asset_key=key, data_version=DataVersion(written.version),
                                metadata={**_observed(written, lake.display(output.lake_folder)), **engine})

    with warnings.catch_warnings():  # a multi-asset observation is a Dagster beta: used knowingly, said once
        warnings.simplefilter("ignore", BetaWarning)
        return multi_observable_source_asset(
            name=solution.name("streaming_outputs"), specs=streaming_specs(solution),
            required_resource_keys={"lake", *(["spark_jobs"] if on_databricks else [])})(streaming_outputs)


def streaming_assets_for(solution: Solution) -> list[AssetsDefinition | AssetSpec]:
    if not solution.local:
        return [observed_streaming(solution)]

    @multi_asset(name="streaming_micro_batch", specs=streaming_specs(solution), pool=solution.pool("streams"))
    def streaming_micro_batch(context: AssetExecutionContext, config: StreamingConfig,
                              bus: BusResource, lake: LakeResource, streaming: DuckDBFile):
        from dagster_project.streaming.clock import TimePolicy
        from dagster_project.streaming.engine import process_batch

        time = TimePolicy(config.time_mode, config.late_arrival_s, config.out_of_order_s, config.policy)
        log = bus.open_reader()
        try:
            with streaming.get_connection() as con:
                result = process_batch(con, log, lake.open(), time)
        finally:
            log.close()
        context.log.info(f"batch {result.batch}: {result.events:,} events, {result.quarantined:,} quarantined, "
                         f"watermark {result.watermark}")
        shared = {
            "batch": result.batch, "events": result.events, "quarantined": result.quarantined,
            "early": result.early, "late": result.late, "out_of_order": result.out_of_order,
            "adjusted": result.adjusted,
            "dropped": result.dropped, "time_mode": time.label,
            "watermark": str(result.watermark) if result.watermark else "none yet",
            "offsets": MetadataValue.json({t: {str(p): n for p, n in o.items()}
                                           for t, o in result.offsets_to.items()}),
        }
        for output in OUTPUTS:
            yield MaterializeResult(asset_key=streaming_key(output.name, solution), metadata={
                "rows_new": result.rows[output.name], "rows_total": result.totals[output.name], **shared})

    return [streaming_micro_batch]


streaming_assets = streaming_assets_for(LOCAL)
streaming_micro_batch: AssetsDefinition = streaming_assets[0]
