"""Landing: what the generators produce, one asset per source.

Locally an asset runs the generator (sizes from run config). In the cloud the generators run as
containers Dagster does not launch: there the sources are external assets, and the manifests the
containers write are reported as their materializations (sensors.py); assembly.py picks the variant.
Either way an asset's metadata is its manifest. The generators are imported when an asset runs, so
that definitions load fast; and there is no `from __future__ import annotations`, as Dagster reads the annotations.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

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
from pydantic import Field

from dagster_project.bronze.sources import SOURCES
from dagster_project.resources import BusResource, LakeResource, OrdersDBResource
from dagster_project.solutions import LANDING, LOCAL, Solution
from generators.scales import Sizes, sizes_for

if TYPE_CHECKING:
    from generators.run import Manifest

GROUP = LANDING


class LandingConfig(Config):
    scale: str = Field(default="small", description="small, medium or large")
    seed: int = 42
    dirty_rate: float = Field(default=0.0, description="share of dirty records, counted in the manifests")
    counts: dict[str, int] = Field(default_factory=dict, description="per source, overriding the scale "
                                   "(users, vip_users, products, orders, pageviews)")

    def sizes(self) -> Sizes:
        sizes = sizes_for(self.scale)
        for source, count in self.counts.items():
            sizes = sizes.with_count(source, count)
        return sizes


def landing_key(source: str, solution: Solution = LOCAL) -> AssetKey:
    return solution.key(GROUP, source)


def manifest_name(source: str) -> str:
    """The manifest saying what was written: items are counted in the orders' one."""
    return "orders" if source == "items" else source


MANIFESTS = tuple(dict.fromkeys(manifest_name(source) for source in SOURCES))


def with_items(manifest: "Manifest") -> "list[Manifest]":
    """The orders' manifest, and what it says of their items as the items' own."""
    if manifest.source != "orders":
        return [manifest]
    from generators.run import Manifest

    items = manifest.dirty.get("items", 0)
    return [manifest, Manifest("items", manifest.seed, items, items, manifest.location, manifest.dirty_rate,
                               {"items": items})]


def materializations(manifest: "Manifest", solution: Solution) -> list[AssetMaterialization]:
    """What a generation wrote, as its sources' materializations."""
    events = []
    for m in with_items(manifest):
        rows = m.dirty.get("items") if m.source == "items" else m.records
        metadata = {"records": rows, "written": m.written, "location": MetadataValue.text(m.location),
                    "seed": m.seed, "dirty_rate": m.dirty_rate,
                    "dirty": MetadataValue.json({k: v for k, v in m.dirty.items() if k != "items"})}
        events.append(AssetMaterialization(asset_key=landing_key(m.source, solution), metadata=metadata))
    return events


def results(manifests: "list[Manifest]", solution: Solution) -> Iterator[MaterializeResult]:
    for manifest in manifests:
        for event in materializations(manifest, solution):
            yield MaterializeResult(asset_key=event.asset_key, metadata=event.metadata)


def check_room(counts: dict[str, int], lake: LakeResource, orders_db: OrdersDBResource | None = None,
               bus: BusResource | None = None) -> None:
    """Counts the sinks cannot hold fail the step before anything is written."""
    from generators.room import check_room as refuse_past_room

    refuse_past_room(counts, lake.open(), orders_db.url if orders_db else "", bus.spec if bus else "")


def landing_specs(solution: Solution) -> list[AssetSpec]:
    """Every source as it lands, with the kinds of the system it lands in: where containers Dagster does
    not launch generate them, these are the landing assets, external, reported from the manifests
    (sensors.landing_reports)."""
    descriptions = {
        "users": "Users (cs_CZ), one JSON object a line in landing/users/users.json.",
        "vip_users": "Distinct VIP user ids in landing/vipusers/vipusers.json.",
        "products": "One JSON document per product in landing/products/.",
        "orders": "Table `orders` of the orders database.",
        "items": "Table `items` of the orders database: each order's products.",
        "pageviews": "Pageview events on the bus (topic pageviews).",
        "stars": "Star events on the bus (topic stars).",
    }
    made_from = {"vip_users": ("users",), "orders": ("users", "products"), "items": ("users", "products"),
                 "pageviews": ("users", "products"), "stars": ("users", "products")}
    return [AssetSpec(landing_key(name, solution), group_name=solution.group(GROUP), description=descriptions[name],
                      deps=[landing_key(d, solution) for d in made_from.get(name, ())],
                      kinds=set(solution.kinds[source.lands]), owners=[solution.owner])
            for name, source in SOURCES.items()]


def generated_landing(solution: Solution) -> list[AssetsDefinition]:
    """Every source generated by its asset (sizes from run config)."""
    specs = {spec.key.path[-1]: spec for spec in landing_specs(solution)}

    @multi_asset(name="landing_users", specs=[specs["users"], specs["vip_users"]])
    def landing_users(context: AssetExecutionContext, config: LandingConfig,
                      lake: LakeResource) -> Iterator[MaterializeResult]:
        from generators.run import generate_users

        sizes = config.sizes()
        check_room({"users": sizes.users, "vip_users": min(sizes.vip_users, sizes.users)}, lake)
        context.log.info(f"generating {sizes.users:,} users into {lake.root}")
        yield from results(generate_users(lake.open(), config.seed, sizes.users, min(sizes.vip_users, sizes.users),
                                          config.dirty_rate), solution)

    @multi_asset(name="landing_products", specs=[specs["products"]])
    def landing_products(context: AssetExecutionContext, config: LandingConfig,
                         lake: LakeResource) -> Iterator[MaterializeResult]:
        from generators.run import generate_products

        sizes = config.sizes()
        check_room({"products": sizes.products}, lake)
        context.log.info(f"generating {sizes.products:,} products into {lake.root}")
        yield from results([generate_products(lake.open(), config.seed, sizes.products, config.dirty_rate)],
                           solution)

    @multi_asset(name="landing_orders", specs=[specs["orders"], specs["items"]])
    def landing_orders(context: AssetExecutionContext, config: LandingConfig,
                       lake: LakeResource, orders_db: OrdersDBResource) -> Iterator[MaterializeResult]:
        from generators.run import generate_orders, population

        files = lake.open()
        sizes = config.sizes()
        users, products = population(files, sizes)
        check_room({"orders": sizes.orders}, lake, orders_db=orders_db)
        context.log.info(f"generating {sizes.orders:,} orders of {users:,} users and {products:,} products")
        with orders_db.open() as db:
            manifest = generate_orders(db, files, config.seed, sizes.orders, users, products, config.dirty_rate)
        yield from results([manifest], solution)

    @multi_asset(name="landing_events", specs=[specs["pageviews"], specs["stars"]])
    def landing_events(context: AssetExecutionContext, config: LandingConfig,
                       lake: LakeResource, bus: BusResource) -> Iterator[MaterializeResult]:
        from generators.events import StreamConfig
        from generators.run import generate_events, population
        from generators.scales import DEFAULT_START

        files = lake.open()
        sizes = config.sizes()
        users, products = population(files, sizes)
        stream = StreamConfig(config.seed, users, products, DEFAULT_START, None, config.dirty_rate)
        check_room({"pageviews": sizes.pageviews}, lake, bus=bus)
        context.log.info(f"generating {sizes.pageviews:,} pageviews onto {bus.spec}")
        yield from results(generate_events(bus.open_writer(), files, stream, sizes.pageviews, bus.spec), solution)

    return [landing_users, landing_products, landing_orders, landing_events]
