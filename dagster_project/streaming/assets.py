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

import contextlib
import signal
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    Config,
    DagsterInstance,
    DataVersion,
    JobDefinition,
    MaterializeResult,
    MetadataValue,
    ObserveResult,
    OpExecutionContext,
    Out,
    Output,
    job,
    multi_asset,
    multi_observable_source_asset,
    op,
)
from pydantic import Field

from dagster_project.dashboard_links import dashboard_link
from dagster_project.resources import BusResource, DuckDBFile, LakeResource
from dagster_project.solutions import LANDING, LOCAL, STREAMING, Solution
from dagster_project.streaming.observe import Seen, Written, observe
from dagster_project.streaming.scenarios import LATE_ARRIVAL_S, OUT_OF_ORDER_S, OUTPUTS, outputs_of

if TYPE_CHECKING:
    from dagster_project.streaming.clock import TimePolicy
    from dagster_project.streaming.engine import BatchResult

GROUP = STREAMING


class StreamingConfig(Config):
    time_mode: str = Field(default="arrival", description="'arrival' (enqueued time, as the original job ran) or "
                                                          "'event' (the events' event_time)")
    late_arrival_s: int = Field(default=LATE_ARRIVAL_S, description="late-arrival tolerance (event mode), and the "
                                "longest a partition waits for the others (both modes)")
    out_of_order_s: int = Field(default=OUT_OF_ORDER_S, description="event mode: out-of-order tolerance")
    policy: str = Field(default="adjust", description="event mode: 'adjust' or 'drop' events beyond a tolerance")

    def policy_of(self) -> "TimePolicy":
        from dagster_project.streaming.clock import TimePolicy

        return TimePolicy(self.time_mode, self.late_arrival_s, self.out_of_order_s, self.policy)


class ConsumerConfig(StreamingConfig):
    poll_s: float = Field(default=0.5, description="the longest an event waits before its batch starts")
    part_every_s: float = Field(default=10.0, description="how often new output rows go to the lake's parts")
    max_events: int = Field(default=200_000, description="a batch's most events (a backlog is taken in steps)")
    run_hours: float = Field(default=3.0, description="the run ends itself after this long and the sensor "
                             "streaming_consumer_running starts the next (events wait on the bus meanwhile), so "
                             "its history is pruned like other runs' (dagster_project/history.py)")


def streaming_key(output: str, solution: Solution = LOCAL) -> AssetKey:
    return solution.key(GROUP, output)


def streaming_specs(solution: Solution, dashboard: bool = False) -> list[AssetSpec]:
    """The outputs a solution's streaming engine computes, each from the events and its reference data."""
    def deps(name: str) -> list[AssetKey]:
        reference = {"raw_vip_only": ["vip_users"], "alert_high_latency_enriched": ["users"]}.get(name, [])
        return [solution.key(LANDING, source) for source in ("pageviews", "stars", *reference)]

    return [AssetSpec(streaming_key(o.name, solution), group_name=solution.group(GROUP),
                      kinds=set(solution.kinds["streaming"]), owners=[solution.owner], deps=deps(o.name),
                      metadata=dashboard_link(GROUP) if dashboard else {},
                      description=f"{o.description} Stands for {o.solution}'s `{o.original_name}`; "
                                  f"parts under <lake>/{o.lake_folder}/.")
            for o in outputs_of(solution.streaming_solutions)]


def _seen(instance: DagsterInstance, key: AssetKey) -> Seen:
    """What the previous observation of `key` counted."""
    records = instance.fetch_observations(key, limit=1).records
    if not records or not records[0].asset_observation:
        return Seen()
    metadata: Mapping[str, Any] = records[0].asset_observation.metadata
    if "rows_total" not in metadata:
        return Seen()
    return Seen(metadata["parts"].value, metadata["rows_total"].value, metadata["last_write"].value,
                tuple(metadata["parts_at_last_write"].value))


def _observed(written: Written, folder: str) -> dict[str, Any]:
    return {"parts": written.parts, "parts_new": written.new_parts, "rows_total": written.rows,
            "rows_new": written.new_rows, "bytes": written.bytes, "folder": folder,
            "last_write": MetadataValue.timestamp(written.last_write),
            "parts_at_last_write": MetadataValue.json(list(written.at_last_write))}


def observed_streaming(solution: Solution, engine_is_a_job: bool = False) -> AssetsDefinition:
    """A cloud solution's outputs, observed where its engine writes them; each observation also says the
    engine's state where it is a Databricks job Dagster can ask about (`spark_jobs`)."""
    outputs = outputs_of(solution.streaming_solutions)

    def streaming_outputs(context: AssetExecutionContext):
        lake = context.resources.lake.open()
        engine = {}
        if engine_is_a_job:
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
            name=solution.job_name("streaming_outputs"), specs=streaming_specs(solution),
            required_resource_keys={"lake", *(["spark_jobs"] if engine_is_a_job else [])})(streaming_outputs)


def local_streaming(solution: Solution, dashboard: bool = False) -> AssetsDefinition:
    """The outputs computed here by the DuckDB engine: one micro-batch a run (the consumer job takes them
    while it runs)."""

    @multi_asset(name=solution.job_name("streaming_micro_batch"), specs=streaming_specs(solution, dashboard),
                 pool=solution.pool("streams"))
    def streaming_micro_batch(context: AssetExecutionContext, config: StreamingConfig,
                              bus: BusResource, lake: LakeResource, streaming: DuckDBFile):
        from dagster_project.streaming.engine import process_backlog
        from dagster_project.streaming.parts import compact_parts

        time, parts = config.policy_of(), lake.open()
        log = bus.open_reader()
        try:
            with streaming.get_connection() as con:
                result = process_backlog(con, log, parts, time)
                merged = compact_parts(con, parts)
        finally:
            log.close()
        context.log.info(describe(result))
        log_compaction(context, merged)
        for key, metadata in batch_metadata(result, time, solution):
            yield MaterializeResult(asset_key=key, metadata=metadata)

    return streaming_micro_batch


def log_compaction(context: AssetExecutionContext | OpExecutionContext, merged: dict[str, int]) -> None:
    if merged:
        context.log.info("parts merged (streaming/parts.py): " + ", ".join(
            f"{output} {parts:,} into one" for output, parts in merged.items()))


def describe(result: "BatchResult") -> str:
    batches = f"batches {result.batch - result.batches + 1}-{result.batch}" if result.batches > 1 \
        else f"batch {result.batch}"
    return f"{batches}: {result.events:,} events, {result.quarantined:,} quarantined, watermark {result.watermark}"


def batch_metadata(result: "BatchResult", time: "TimePolicy", solution: Solution
                   ) -> list[tuple[AssetKey, dict[str, Any]]]:
    """What a batch's materialization of each output says in the UI: its rows, and the batch's counts."""
    shared = {
        "batch": result.batch, "batches": result.batches, "events": result.events, "quarantined": result.quarantined,
        "early": result.early, "late": result.late, "out_of_order": result.out_of_order,
        "adjusted": result.adjusted,
        "dropped": result.dropped, "time_mode": time.label,
        "watermark": str(result.watermark) if result.watermark else "none yet",
        "offsets": MetadataValue.json({t: {str(p): n for p, n in o.items()} for t, o in result.offsets_to.items()}),
    }
    return [(streaming_key(output.name, solution),
             {"rows_new": result.rows[output.name], "rows_total": result.totals[output.name], **shared})
            for output in OUTPUTS]


class Reports:
    """A consumer's batches summed and reported (a log line and a materialization per output) at most every
    `every_s` — the lake parts' cadence — and once more when it stops. A report a batch (two a second at
    `make up`'s rate) wrote ~20 events a second into Dagster's event log: the consumer's run was 52 MB
    after 25 minutes."""

    def __init__(self, emit: "Callable[[BatchResult], None]", every_s: float, clock: Callable[[], float]) -> None:
        self.emit, self.every_s, self.clock = emit, every_s, clock
        self.pending: BatchResult | None = None
        self.last = clock()

    def add(self, result: "BatchResult") -> None:
        self.pending = result if self.pending is None else self.pending.plus(result)
        self.due()

    def due(self) -> None:
        """Reports what is pending once `every_s` has passed (called between batches, events or none)."""
        if self.clock() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        if self.pending is not None:
            self.emit(self.pending)
            self.pending, self.last = None, self.clock()


def streaming_consumer(solution: Solution) -> JobDefinition:
    """`streaming_consumer`: one long run that takes micro-batches while it runs (consumer.py), each
    reported as a materialization of every output, as the micro-batch asset's run is."""

    @op(name="consume_events", pool=solution.pool("streams"), tags={"kind": "duckdb"},
        out={"batches": Out(int, description="micro-batches taken before the run was stopped")})
    def consume_events(context: OpExecutionContext, config: ConsumerConfig, bus: BusResource, lake: LakeResource,
                       streaming: DuckDBFile):
        from dagster_project.streaming.consumer import ConsumerSettings, consume

        time = config.policy_of()

        def report(result: "BatchResult") -> None:
            context.log.info(describe(result))
            for key, metadata in batch_metadata(result, time, solution):
                context.log_event(AssetMaterialization(asset_key=key, metadata=metadata))

        settings = ConsumerSettings(config.poll_s, config.part_every_s, config.max_events)
        reports = Reports(report, config.part_every_s, monotonic)
        log = bus.open_reader()
        ends_at = monotonic() + config.run_hours * 3600
        try:
            with streaming.get_connection() as con, stop_requested() as stop:
                def stopped(seconds: float) -> bool:  # between batches: a report may be due
                    reports.due()
                    return stop.wait(seconds) or monotonic() >= ends_at

                batches = consume(con, log, lake.open(), time, reports.add, stopped, settings,
                                  lambda merged: log_compaction(context, merged))
            reports.flush()
        finally:
            log.close()
        why = "its run_hours passed" if monotonic() >= ends_at and not stop.is_set() else "stopped"
        context.log.info(f"consumer stopped ({why}) after {batches:,} batches; the next run goes on from the "
                         "committed offsets")
        return Output(batches, "batches")

    @job(name=solution.job_name("streaming_consumer"), tags={"kind": "duckdb"},
         description=f"{solution.title}: the long-running streaming consumer. Every scenario over each "
                     "micro-batch of the bus as it arrives (a batch every half second), their sums every 10 s a "
                     "materialization of the streaming assets; the sensor streaming_consumer_running keeps it "
                     "running. To stop it for good, stop that sensor, then terminate the run.")
    def consumer_job():
        consume_events()

    return consumer_job


@contextlib.contextmanager
def stop_requested() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or a termination (SIGINT, SIGTERM) while the consumer runs, in place of
    Dagster's interrupt: the batch in flight is committed and reported, then the consumer stops."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield stop
        return
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in signals}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
