"""Data that keeps arriving: the event stream at a steady rate, and products and orders trickling
in as the original containers wrote them, so incremental ingestion always has new data."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from playground.catalog import PAGEVIEWS_TOPIC, PRODUCTS_DIR, STARS_TOPIC
from playground.generators.behaviour import Shop
from playground.generators.events import EventStream, StreamConfig
from playground.generators.orders import orders_batch
from playground.generators.parallel import prefetch
from playground.generators.run import Manifest, load_manifest, publish, write_products
from playground.io.bus import EventBus
from playground.io.lake import Lake
from playground.io.orders_db import OrdersDB

TICK_S = 0.05
ORDER_BATCH = 100  # the original inserted orders 100 at a time
MAX_SEND = 50_000


@dataclass
class StreamStats:
    sent: Counter = field(default_factory=Counter)
    dirt: dict[str, Counter] = field(default_factory=lambda: {PAGEVIEWS_TOPIC: Counter(), STARS_TOPIC: Counter()})
    behind_s: float = 0.0  # how far the producer lagged its schedule at worst


def run_stream(bus: EventBus, config: StreamConfig, duration_s: float | None,
               should_stop: Callable[[], bool] = lambda: False) -> StreamStats:
    """Publish each event when its event time comes; a live stream (config.start None) is stamped
    with the time it is sent. A rate the machine cannot keep up with is served as fast as it goes;
    `behind_s` says by how much."""
    stats = StreamStats()
    stream = EventStream(config)
    deadline: float | None = None
    offset_us = 0
    try:
        for batch in prefetch(stream.batches()):
            if deadline is None:  # a replay (config.start given) begins now; a live stream at its start
                # A live stream's start is set once it yields its first batch. The duration counts from
                # the first batch's arrival: on a loaded machine making it may take longer than the duration.
                began = time.time() if config.start is not None else (stream.start_us or 0) / 1e6
                deadline = time.time() + duration_s if duration_s is not None else float("inf")
                offset_us = int(began * 1e6) - int(batch.time_us[0]) if config.start is not None else 0
            i = 0
            while i < len(batch):
                now = time.time()
                if now >= deadline or should_stop():
                    return stats
                due_us = int(now * 1e6) - offset_us
                j = int(batch.time_us.searchsorted(due_us, side="right"))
                if j == i:
                    time.sleep(min(max((int(batch.time_us[i]) - due_us) / 1e6, 0.001), TICK_S))
                    continue
                part = batch.slice(i, min(j, i + MAX_SEND))
                publish(bus, part)
                stats.sent.update({PAGEVIEWS_TOPIC: part.pageviews, STARS_TOPIC: part.stars})
                for topic, counts in part.dirt_counts().items():
                    stats.dirt[topic] += counts
                stats.behind_s = max(stats.behind_s, (int(time.time() * 1e6) - offset_us - int(part.time_us[-1])) / 1e6)
                i += len(part)
    finally:
        bus.close()
    return stats


def next_product_id(lake: Lake) -> int:
    ids = [int(name.removeprefix("product_").removesuffix(".json")) for name in lake.list(PRODUCTS_DIR)
           if name.startswith("product_") and name.endswith(".json")]
    return max(ids, default=-1) + 1


@dataclass
class TrickleStats:
    products: int = 0
    orders: int = 0
    items: int = 0
    first_product: int = 0
    first_order_id: int = 1


def run_trickle(lake: Lake, db: OrdersDB, shop: Shop, products_per_s: float, orders_per_s: float,
                duration_s: float | None, dirty_rate: float = 0.0,
                should_stop: Callable[[], bool] = lambda: False) -> TrickleStats:
    """New products (one file each) and orders (in batches of 100) at steady rates, continuing the
    data set where it ends. Product i is the product a one-off generation makes; new orders refer
    to the products that exist when they are placed. It holds the lake's products and orders locks
    while it runs: a generation of either waits for none and fails at once, saying so."""
    with lake.exclusive("products", "trickle"), lake.exclusive("orders", "trickle"):
        return _trickle(lake, db, shop, products_per_s, orders_per_s, duration_s, dirty_rate, should_stop)


def _trickle(lake: Lake, db: OrdersDB, shop: Shop, products_per_s: float, orders_per_s: float,
             duration_s: float | None, dirty_rate: float, should_stop: Callable[[], bool]) -> TrickleStats:
    db.ensure()
    seed = shop.seed
    next_product = next_product_id(lake)
    next_order = db.max_order_id() or 0  # order index i has orderId i + 1
    stats = TrickleStats(first_product=next_product, first_order_id=next_order + 1)
    product_dirt: Counter = Counter()
    order_dirt: Counter = Counter()
    start = time.time()
    try:
        while True:
            now = time.time()
            if (duration_s is not None and now - start >= duration_s) or should_stop():
                break
            elapsed = now - start
            # Each inner loop stops on a signal too: behind schedule it could otherwise run for long.
            while stats.products < int(elapsed * products_per_s) and not should_stop():
                product_dirt += write_products(lake, seed, next_product, next_product + 1, dirty_rate)
                next_product += 1
                stats.products += 1
            due_orders = int(elapsed * orders_per_s)
            while stats.orders < due_orders and next_product > 0 and not should_stop():
                count = min(ORDER_BATCH, due_orders - stats.orders)
                if shop.products != next_product:  # orders refer to the products there are now
                    shop = replace(shop, products=next_product)
                batch = orders_batch(shop, next_order, next_order + count, dirty_rate)
                db.append(batch.orders, batch.items)
                order_dirt += batch.dirt
                next_order += count
                stats.orders += count
                stats.items += batch.items.height
            time.sleep(TICK_S)
    finally:
        _extend_manifest(lake, "products", seed, stats.products, stats.products, product_dirt, dirty_rate,
                         lake.display(f"{PRODUCTS_DIR}/"))
        _extend_manifest(lake, "orders", seed, stats.orders, stats.orders,
                         order_dirt + Counter({"items": stats.items}), dirty_rate, db.shown)
    return stats


def _extend_manifest(lake: Lake, source: str, seed: int, records: int, written: int, dirt: Counter,
                     dirty_rate: float, location: str) -> None:
    """Keep a source's manifest exact after records were added to it."""
    if not records:
        return
    manifest = load_manifest(lake, source) or Manifest(source, seed, 0, 0, location, dirty_rate, {})
    manifest.records += records
    manifest.written += written
    manifest.dirty = dict(Counter(manifest.dirty) + dirt)
    manifest.save(lake)
