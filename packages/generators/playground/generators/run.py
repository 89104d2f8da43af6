"""Generating whole data sets into their sinks, chunk by chunk, with counts and manifests."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import numpy as np

from playground.catalog import (
    GENERATIONS,
    MANIFESTS_DIR,
    PAGEVIEWS_TOPIC,
    PRODUCTS_DIR,
    SOURCES,
    STARS_TOPIC,
    USERS_FILE,
    VIP_FILE,
    product_file,
)
from playground.errors import PlaygroundError
from playground.generators.behaviour import Shop
from playground.generators.blocks import chunks
from playground.generators.dirty import (
    DUPLICATE,
    MALFORMED,
    MISSING_FIELD,
    ORPHAN,
    dirty_plan,
    orphan_id,
    render_json_lines,
)
from playground.generators.events import EventBatch, EventStream, StreamConfig
from playground.generators.orders import OrderBatch, orders_batch
from playground.generators.parallel import ordered_map, prefetch
from playground.generators.products import products_frame
from playground.generators.scales import DEFAULT_CHUNK, DEFAULT_START, DEFAULT_WORKERS, Sizes
from playground.generators.users import users_frame, vip_frame, vip_ids
from playground.io.lake import Lake

if TYPE_CHECKING:  # SQLAlchemy and the bus clients load only where orders or events are written
    from playground.io.bus import EventBus
    from playground.io.orders_db import OrdersDB

USER_DIRT = (MALFORMED, MISSING_FIELD, DUPLICATE)
VIP_DIRT = (MALFORMED, ORPHAN, DUPLICATE)
PRODUCT_DIRT = (MALFORMED, MISSING_FIELD)
POPULATION = ("users", "vip_users", "products")  # what orders and events refer to


# A progress display: given a description and a total, what to call with each advance.
Progress = Callable[[str, int], Callable[[int], None]]


def no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda advance: None


@dataclass
class Manifest:
    """What one source's generation wrote: exact counts, dirt included."""
    source: str
    seed: int
    records: int  # distinct clean-or-dirty records generated
    written: int  # lines / rows / events actually written (duplicates count twice)
    location: str
    dirty_rate: float = 0.0
    dirty: dict[str, int] = field(default_factory=dict)
    generated: int = 0  # records its generation wrote (`records` counts the trickle's later ones too)
    generated_at: str = ""  # when that was (UTC, ISO); the trickle keeps it
    behaviour: bool | None = None  # whether the shop's rules shaped it (orders, events; None: they do not apply)

    def save(self, lake: Lake) -> None:
        lake.write_bytes(f"{MANIFESTS_DIR}/{self.source}.json",
                         json.dumps(asdict(self), indent=2, sort_keys=True).encode() + b"\n")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def load_manifest(lake: Lake, source: str) -> Manifest | None:
    path = f"{MANIFESTS_DIR}/{source}.json"
    return Manifest(**json.loads(lake.read_bytes(path))) if lake.exists(path) else None


def population(lake: Lake, sizes: Sizes, seed: int, behaviour: bool = True) -> Shop:
    """The users (VIPs among them) and products that orders and events may refer to: what the lake holds,
    else the scale's."""
    def count(source: str) -> int:
        manifest = load_manifest(lake, source)
        return manifest.records if manifest else sizes.counts[source]

    return Shop(seed, count("users"), count("products"), count("vip_users"), behaviour)


def generate_users(lake: Lake, seed: int, users: int, vip_users: int, dirty_rate: float = 0.0,
                   chunk_size: int = DEFAULT_CHUNK, workers: int = DEFAULT_WORKERS,
                   progress: Progress = no_progress) -> list[Manifest]:
    def render(span: tuple[int, int]) -> tuple[bytes, Counter, int]:
        lo, hi = span
        plan = dirty_plan(seed, "users", lo, hi, dirty_rate, USER_DIRT)
        return *render_json_lines(users_frame(seed, lo, hi), plan, USER_DIRT, lo), hi - lo

    def orphan(record: dict) -> None:
        record["id"] = orphan_id(record["id"])

    with lake.exclusive("users"):
        dirt: Counter = Counter()
        advance = progress("users", users)
        with lake.writer(USERS_FILE) as out:
            for text, counts, records in ordered_map(render, chunks(0, users, chunk_size), workers):
                out.write(text)
                dirt += counts
                advance(records)
        user_manifest = Manifest("users", seed, users, users + dirt[DUPLICATE], lake.display(USERS_FILE),
                                 dirty_rate, dict(dirt), users, now())

        ids = vip_ids(seed, users, vip_users)
        plan = dirty_plan(seed, "vip_users", 0, vip_users, dirty_rate, VIP_DIRT)

        text, vip_dirt = render_json_lines(vip_frame(ids, 0, vip_users), plan, VIP_DIRT, 0, orphan)
        lake.write_bytes(VIP_FILE, text)
        vip_manifest = Manifest("vip_users", seed, vip_users, vip_users + vip_dirt[DUPLICATE],
                                lake.display(VIP_FILE), dirty_rate, dict(vip_dirt), vip_users, now())
        for manifest in (user_manifest, vip_manifest):
            manifest.save(lake)
        return [user_manifest, vip_manifest]


def write_products(lake: Lake, seed: int, start: int, stop: int, dirty_rate: float = 0.0) -> Counter:
    """Products start..stop-1, one file each."""
    plan = dirty_plan(seed, "products", start, stop, dirty_rate, PRODUCT_DIRT)
    text, dirt = render_json_lines(products_frame(seed, start, stop), plan, PRODUCT_DIRT, start)
    for product_id, line in enumerate(text.splitlines(), start):
        lake.write_bytes(product_file(product_id), line + b"\n")
    return dirt


def generate_products(lake: Lake, seed: int, products: int, dirty_rate: float = 0.0,
                      chunk_size: int = DEFAULT_CHUNK, progress: Progress = no_progress) -> Manifest:
    with lake.exclusive("products"):
        lake.remove(PRODUCTS_DIR)
        dirt: Counter = Counter()
        advance = progress("products", products)
        for lo, hi in chunks(0, products, min(chunk_size, 4096)):
            dirt += write_products(lake, seed, lo, hi, dirty_rate)
            advance(hi - lo)
        manifest = Manifest("products", seed, products, products, lake.display(f"{PRODUCTS_DIR}/"),
                            dirty_rate, dict(dirt), products, now())
        manifest.save(lake)
        return manifest


def generate_orders(db: OrdersDB, lake: Lake, shop: Shop, orders: int, dirty_rate: float = 0.0,
                    chunk_size: int = DEFAULT_CHUNK,
                    workers: int = DEFAULT_WORKERS, progress: Progress = no_progress) -> Manifest:
    with lake.exclusive("orders"):
        db.reset()
        dirt: Counter = Counter()
        items = 0
        advance = progress("orders", orders)

        def make(span: tuple[int, int]) -> tuple[OrderBatch, tuple]:
            batch = orders_batch(shop, span[0], span[1], dirty_rate)
            return batch, db.prepare(batch.orders, batch.items)

        with db.bulk_load():
            for batch, prepared in ordered_map(make, chunks(0, orders, chunk_size), workers):
                db.append_prepared(*prepared)
                dirt += batch.dirt
                items += batch.items.height
                advance(batch.orders.height)
        manifest = Manifest("orders", shop.seed, orders, orders, db.shown, dirty_rate, {**dirt, "items": items},
                            orders, now(), shop.behaviour)
        manifest.save(lake)
        return manifest


def generate_events(bus: EventBus, lake: Lake, config: StreamConfig, pageviews: int, bus_name: str,
                    progress: Progress = no_progress) -> list[Manifest]:
    """The first `pageviews` pageviews of the stream and the stars between them, as fast as they go."""
    with lake.exclusive("events"):
        sent: Counter = Counter()
        dirt: dict[str, Counter] = {PAGEVIEWS_TOPIC: Counter(), STARS_TOPIC: Counter()}
        advance = progress("pageviews", pageviews)
        seen = 0
        with closing(prefetch(EventStream(config).batches())) as batches:
            while seen < pageviews:
                batch = next(batches)
                if seen + batch.pageviews > pageviews:  # end right after the last pageview wanted
                    last = np.flatnonzero(~batch.is_star)[pageviews - seen - 1]
                    batch = batch.slice(0, last + 1)
                publish(bus, batch)
                sent.update({PAGEVIEWS_TOPIC: batch.pageviews, STARS_TOPIC: batch.stars})
                for topic, counts in batch.dirt_counts().items():
                    dirt[topic] += counts
                seen += batch.pageviews
                advance(batch.pageviews)
        bus.close()
        manifests = [Manifest(topic, config.seed, sent[topic] - dirt[topic][DUPLICATE], sent[topic],
                              f"{bus_name}#{topic}", config.dirty_rate, dict(dirt[topic]),
                              sent[topic] - dirt[topic][DUPLICATE], now(), config.behaviour)
                     for topic in (PAGEVIEWS_TOPIC, STARS_TOPIC)]
        for manifest in manifests:
            manifest.save(lake)
        return manifests


def publish(bus: EventBus, batch: EventBatch) -> None:
    for topic, keys, bodies in batch.by_topic():  # NumPy arrays, which every bus indexes as sequences
        bus.send(topic, cast(Sequence[int], keys), cast(Sequence[bytes], bodies))


# ---- Each generation of the catalog, as `playground generate` and the landing assets run it --------------


@dataclass(frozen=True)
class Generation:
    """What a generator is asked: where to write, how much, and how."""
    lake: Lake
    orders_url: str
    bus: str
    seed: int
    sizes: Sizes
    dirty_rate: float = 0.0
    chunk_size: int = DEFAULT_CHUNK
    workers: int = DEFAULT_WORKERS
    progress: Progress = no_progress
    start: datetime = DEFAULT_START  # event time of the first pageview
    rate: float | None = None  # events per second of event time (None: the original's pace)
    keep_existing: bool = False  # keep what the same settings generated before (run.earlier)
    behaviour: bool = True  # the shop's rules (behaviour.py); off: uniform, as the original

    def earlier(self, *names: str) -> list[Manifest]:
        """With keep_existing, the manifests of what these settings generated before (all, or none): the same
        seed, dirty rate, behaviour and count, and for orders and events none of the users or products they
        refer to generated since. What the trickle added to them stays."""
        if not self.keep_existing:
            return []
        asked = {name: n for generation in GENERATIONS for name, n in counts_of(generation, self.sizes).items()}
        referred = [m for name in POPULATION if (m := load_manifest(self.lake, name)) is not None]
        found = [m for name in names if (m := load_manifest(self.lake, name)) is not None and m.generated_at
                 and (m.seed, m.dirty_rate, m.generated) == (self.seed, self.dirty_rate, asked.get(name, m.generated))
                 and m.behaviour in (None, self.behaviour)
                 and (name in POPULATION or all(p.generated_at <= m.generated_at for p in referred))]
        return found if len(found) == len(names) else []

    def kept(self, generation: str) -> list[Manifest]:
        """With keep_existing, the manifests of what these settings generated before for `generation`, when its
        sink still holds it: then it need not run again."""
        kept = self.earlier(*dict.fromkeys(SOURCES[source].manifest_name for source in GENERATIONS[generation]))
        held = STILL_HELD.get(generation)
        return kept if kept and (held is None or held(self, kept)) else []


def counts_of(generation: str, sizes: Sizes) -> dict[str, int]:
    """The records a generation writes of each counted source (what the room check weighs)."""
    counts = {name: sizes.counts[name] for name in GENERATIONS[generation] if name in sizes.counts}
    for name in counts:
        if cap := SOURCES[name].at_most:
            counts[name] = min(counts[name], sizes.counts[cap])
    return counts


def _users(run: Generation) -> list[Manifest]:
    counts = counts_of("users", run.sizes)
    return generate_users(run.lake, run.seed, counts["users"], counts["vip_users"], run.dirty_rate, run.chunk_size,
                          run.workers, run.progress)


def _products(run: Generation) -> list[Manifest]:
    return [generate_products(run.lake, run.seed, run.sizes.products, run.dirty_rate, run.chunk_size, run.progress)]


def _orders(run: Generation) -> list[Manifest]:
    from playground.io.orders_db import OrdersDB  # SQLAlchemy: only where orders are written

    shop = population(run.lake, run.sizes, run.seed, run.behaviour)
    with OrdersDB(run.orders_url) as db:
        return [generate_orders(db, run.lake, shop, run.sizes.orders, run.dirty_rate, run.chunk_size, run.workers,
                                run.progress)]


def _events(run: Generation) -> list[Manifest]:
    from playground.io.bus import open_bus  # a bus client: only where events are sent

    shop = population(run.lake, run.sizes, run.seed)
    config = StreamConfig(run.seed, shop.users, shop.products, run.start, run.rate, run.dirty_rate, run.behaviour)
    return generate_events(open_bus(run.bus), run.lake, config, run.sizes.pageviews, run.bus, run.progress)


def _orders_held(run: Generation, kept: list[Manifest]) -> bool:
    """The load finished (its manifest is written last) and the database still holds it."""
    from playground.io.orders_db import OrdersDB

    with OrdersDB(run.orders_url) as db:
        db.ensure()
        return (db.max_order_id() or 0) >= kept[0].records


def _events_held(run: Generation, kept: list[Manifest]) -> bool:
    """Whether the bus still holds at least the events each topic's manifest says were sent to it."""
    from playground.io.bus import open_reader

    try:
        reader = open_reader(run.bus)
    except PlaygroundError:  # the log is gone
        return False
    try:
        return all(sum(reader.end_sequences(m.source).values()) >= m.written for m in kept)
    finally:
        reader.close()


# A generator per generation of the catalog (GENERATIONS): a new one is a function here and its entries there.
GENERATORS = {"users": _users, "products": _products, "orders": _orders, "events": _events}
# Where a generation writes beside the lake, whether what it wrote is still there (Generation.kept).
STILL_HELD = {"orders": _orders_held, "events": _events_held}


def land(run: Generation, generation: str) -> list[Manifest]:
    """What `generation` holds: kept (Generation.kept), or generated afresh."""
    return run.kept(generation) or GENERATORS[generation](run)
