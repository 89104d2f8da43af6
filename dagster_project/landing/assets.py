"""Landing: what the generators produce, one asset per source.

Locally an asset runs the generator (sizes from run config). In the cloud the generators run as
containers Dagster does not launch: there the sources are external assets, and the manifests the
containers write are reported as their materializations (sensors.py); assembly.py picks the variant.
Either way an asset's metadata is its manifest. The generators are imported when an asset runs, so
that definitions load fast; and there is no `from __future__ import annotations`, as Dagster reads the annotations.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from playground.catalog import GENERATIONS, SOURCES
from playground.generators.scales import Sizes, sizes_for
from pydantic import Field

from dagster_project.solutions import LANDING, LOCAL, ORDERS_FIRST, Solution

if TYPE_CHECKING:
    from playground.generators.run import Manifest

GROUP = LANDING


class LandingConfig(Config):
    scale: str = Field(default="small", description="small, medium or large")
    seed: int = 42
    dirty_rate: float = Field(default=0.0, description="share of dirty records, counted in the manifests")
    plain: bool = Field(default=False, description="without the shop's behaviour (README: Behaviour): uniform "
                        "users, dates, products and latencies, as the original")
    counts: dict[str, int] = Field(default_factory=dict, description="per source, overriding the scale ("
                                   + ", ".join(name for name, source in SOURCES.items() if source.counts) + ")")

    def sizes(self) -> Sizes:
        sizes = sizes_for(self.scale)
        for source, count in self.counts.items():
            sizes = sizes.with_count(source, count)
        return sizes


def landing_key(source: str, solution: Solution = LOCAL) -> AssetKey:
    return solution.key(GROUP, source)


def with_counted(manifest: "Manifest") -> "list[Manifest]":
    """The manifest, and what it says of the sources it counts (the orders' counts their items) as theirs."""
    from playground.generators.run import Manifest

    counts = {name: manifest.dirty.get(name, 0) for name, source in SOURCES.items()
              if source.manifest == manifest.source}
    return [manifest, *(Manifest(name, manifest.seed, n, n, manifest.location, manifest.dirty_rate, {name: n},
                                 n, manifest.generated_at) for name, n in counts.items())]


def materializations(manifest: "Manifest", solution: Solution) -> list[AssetMaterialization]:
    """What a generation wrote, as its sources' materializations."""
    events = []
    counted = {name for name, source in SOURCES.items() if source.manifest}
    for m in with_counted(manifest):
        rows = m.dirty.get(m.source) if m.source in counted else m.records
        metadata: dict[str, Any] = {"records": rows, "written": m.written, "location": MetadataValue.text(m.location),
                                    "seed": m.seed, "dirty_rate": m.dirty_rate,
                                    "dirty": MetadataValue.json({k: v for k, v in m.dirty.items() if k not in counted})}
        if m.generated_at:
            metadata["generated_at"] = MetadataValue.timestamp(datetime.fromisoformat(m.generated_at))
        events.append(AssetMaterialization(asset_key=landing_key(m.source, solution), metadata=metadata))
    return events


def results(manifests: "list[Manifest]", solution: Solution) -> Iterator[MaterializeResult]:
    for manifest in manifests:
        for event in materializations(manifest, solution):
            yield MaterializeResult(asset_key=event.asset_key, metadata=event.metadata)


def landing_specs(solution: Solution) -> list[AssetSpec]:
    """Every source as it lands, with the kinds of the system it lands in: where containers Dagster does
    not launch generate them, these are the landing assets, external, reported from the manifests
    (sensors.landing_reports)."""
    return [AssetSpec(landing_key(name, solution), group_name=solution.group(GROUP), description=source.landing,
                      deps=[landing_key(d, solution) for d in source.made_from],
                      kinds=set(solution.kinds[source.lands]), owners=[solution.owner])
            for name, source in SOURCES.items()]


def generated_landing(solution: Solution) -> list[AssetsDefinition]:
    """Each generation of the catalog as a multi-asset of its sources, running its generator
    (playground.generators.run's GENERATORS) with the sizes of the run config."""
    specs = {spec.key.path[-1]: spec for spec in landing_specs(solution)}
    return [_generation_asset(solution, generation, [specs[name] for name in sources])
            for generation, sources in GENERATIONS.items()]


def _generation_asset(solution: Solution, generation: str, specs: list[AssetSpec]) -> AssetsDefinition:
    lands = {SOURCES[spec.key.path[-1]].lands for spec in specs}
    sinks = {"lake", *(["orders_db"] if "orders_db" in lands else []), *(["bus"] if "bus" in lands else [])}
    kept = {"warehouse"}  # where bronze to gold will keep them: its disk and memory are checked first

    @multi_asset(name=solution.job_name(f"landing_{generation}"), specs=specs, required_resource_keys=sinks | kept,
                 op_tags=ORDERS_FIRST if "orders_db" in lands else None)
    def landing(context: AssetExecutionContext, config: LandingConfig) -> Iterator[MaterializeResult]:
        from playground.generators.room import check_room
        from playground.generators.run import GENERATORS, Generation, counts_of

        resources = context.resources
        lake, sizes = resources.lake.open(), config.sizes()
        orders_url = resources.orders_db.url if "orders_db" in sinks else ""
        bus = resources.bus.spec if "bus" in sinks else ""
        run = Generation(lake, orders_url, bus, config.seed, sizes, config.dirty_rate, keep_existing=True,
                         behaviour=not config.plain)
        manifests = run.kept(generation)
        for kept in manifests:
            context.log.info(f"kept {kept.source}: what these settings generated at {kept.generated_at[:19]} UTC "
                             f"is still there ({kept.records:,} records); other settings write it afresh")
        if not manifests:
            counts = counts_of(generation, sizes)
            # Counts the sinks, the warehouse or the machine cannot hold fail before anything is written.
            check_room(counts, lake, orders_url, bus, kept_at=resources.warehouse.database)
            # Counts only: the orders database's URL may hold its password.
            context.log.info(f"generating {', '.join(f'{n:,} {name}' for name, n in counts.items())}")
            manifests = GENERATORS[generation](run)
        yield from results(manifests, solution)

    return landing
