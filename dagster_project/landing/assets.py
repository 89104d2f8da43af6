"""Landing: what the generators produce, one asset per source.

Locally an asset runs the generator (sizes from run config); in the cloud it reports what the
generator containers wrote, read from their manifests. Either way its metadata is the manifest.
The generators are imported when an asset runs, so that definitions load fast; and there is no
`from __future__ import annotations`, as Dagster reads the config and resource annotations.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from pydantic import Field

from dagster_project.bronze.sources import SOURCES
from dagster_project.resources import PlaygroundResource
from dagster_project.targets import LOCAL, Solution
from generators.errors import PlaygroundError
from generators.scales import Sizes, sizes_for

if TYPE_CHECKING:
    from generators.run import Manifest

GROUP = "landing"


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


def results(manifests: "list[Manifest]", solution: Solution) -> Iterator[MaterializeResult]:
    for m in manifests:
        rows = m.dirty.get("items") if m.source == "items" else m.records
        metadata = {"records": rows, "written": m.written, "location": MetadataValue.text(m.location),
                    "seed": m.seed, "dirty_rate": m.dirty_rate,
                    "dirty": MetadataValue.json({k: v for k, v in m.dirty.items() if k != "items"})}
        yield MaterializeResult(asset_key=landing_key(m.source, solution), metadata=metadata)


def observed(playground: PlaygroundResource, *sources: str) -> "list[Manifest]":
    from generators.run import load_manifest

    lake = playground.open_lake()
    manifests = []
    for source in sources:
        manifest = load_manifest(lake, "orders" if source == "items" else source)
        if manifest is None:
            raise PlaygroundError(f"no manifest for {source} in {lake.display('landing/_manifests/')}: "
                                  "the generator containers have not written it yet")
        manifests.append(manifest)
    return manifests


def with_items(manifests: "list[Manifest]") -> "list[Manifest]":
    from generators.run import Manifest

    orders = manifests[0]
    items = Manifest("items", orders.seed, orders.dirty.get("items", 0), orders.dirty.get("items", 0),
                     orders.location, orders.dirty_rate, {"items": orders.dirty.get("items", 0)})
    return [orders, items]


def check_room(counts: dict[str, int], playground: PlaygroundResource) -> None:
    """Counts the sinks cannot hold fail the step before anything is written."""
    from generators.room import check_room as refuse_past_room

    refuse_past_room(counts, playground.open_lake(), playground.orders_url, playground.bus)


def landing_assets_for(solution: Solution) -> list[AssetsDefinition]:
    """Locally each asset runs its generator; in the cloud it reports what the generator containers wrote."""

    def spec(source: str, description: str, deps: tuple[str, ...] = ()) -> AssetSpec:
        system = SOURCES[source].lands  # the kinds of where it lands
        return AssetSpec(landing_key(source, solution), group_name=solution.group(GROUP), description=description,
                         deps=[landing_key(d, solution) for d in deps], kinds=set(solution.kinds[system]),
                         owners=[solution.owner])

    @multi_asset(name=solution.name("landing_users"), specs=[
        spec("users", "Users (cs_CZ), one JSON object a line in landing/users/users.json."),
        spec("vip_users", "Distinct VIP user ids in landing/vipusers/vipusers.json.", deps=("users",)),
    ])
    def landing_users(context: AssetExecutionContext, config: LandingConfig,
                      playground: PlaygroundResource) -> Iterator[MaterializeResult]:
        if not playground.generates:
            yield from results(observed(playground, "users", "vip_users"), solution)
            return
        from generators.run import generate_users

        sizes = config.sizes()
        check_room({"users": sizes.users, "vip_users": min(sizes.vip_users, sizes.users)}, playground)
        context.log.info(f"generating {sizes.users:,} users into {playground.lake}")
        yield from results(generate_users(playground.open_lake(), config.seed, sizes.users,
                                          min(sizes.vip_users, sizes.users), config.dirty_rate), solution)

    @multi_asset(name=solution.name("landing_products"), specs=[
        spec("products", "One JSON document per product in landing/products/."),
    ])
    def landing_products(context: AssetExecutionContext, config: LandingConfig,
                         playground: PlaygroundResource) -> Iterator[MaterializeResult]:
        if not playground.generates:
            yield from results(observed(playground, "products"), solution)
            return
        from generators.run import generate_products

        sizes = config.sizes()
        check_room({"products": sizes.products}, playground)
        context.log.info(f"generating {sizes.products:,} products into {playground.lake}")
        yield from results([generate_products(playground.open_lake(), config.seed, sizes.products,
                                              config.dirty_rate)], solution)

    @multi_asset(name=solution.name("landing_orders"), specs=[
        spec("orders", "Table `orders` of the orders database.", deps=("users", "products")),
        spec("items", "Table `items` of the orders database: each order's products.",
             deps=("users", "products")),
    ])
    def landing_orders(context: AssetExecutionContext, config: LandingConfig,
                       playground: PlaygroundResource) -> Iterator[MaterializeResult]:
        if not playground.generates:
            yield from results(with_items(observed(playground, "orders")), solution)
            return
        from generators.run import generate_orders, population

        lake = playground.open_lake()
        sizes = config.sizes()
        users, products = population(lake, sizes)
        check_room({"orders": sizes.orders}, playground)
        context.log.info(f"generating {sizes.orders:,} orders of {users:,} users and {products:,} products")
        with playground.open_orders_db() as db:
            manifest = generate_orders(db, lake, config.seed, sizes.orders, users, products, config.dirty_rate)
        yield from results(with_items([manifest]), solution)

    @multi_asset(name=solution.name("landing_events"), specs=[
        spec("pageviews", "Pageview events on the bus (topic pageviews).", deps=("users", "products")),
        spec("stars", "Star events on the bus (topic stars).", deps=("users", "products")),
    ])
    def landing_events(context: AssetExecutionContext, config: LandingConfig,
                       playground: PlaygroundResource) -> Iterator[MaterializeResult]:
        if not playground.generates:
            yield from results(observed(playground, "pageviews", "stars"), solution)
            return
        from generators.events import StreamConfig
        from generators.run import generate_events, population
        from generators.scales import DEFAULT_START

        lake = playground.open_lake()
        sizes = config.sizes()
        users, products = population(lake, sizes)
        stream = StreamConfig(config.seed, users, products, DEFAULT_START, None, config.dirty_rate)
        check_room({"pageviews": sizes.pageviews}, playground)
        context.log.info(f"generating {sizes.pageviews:,} pageviews onto {playground.bus}")
        yield from results(generate_events(playground.open_bus(), lake, stream, sizes.pageviews, playground.bus),
                           solution)

    return [landing_users, landing_products, landing_orders, landing_events]


landing_assets = landing_assets_for(LOCAL)
