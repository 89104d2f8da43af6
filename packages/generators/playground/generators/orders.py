"""Orders and their items, as the original's Azure SQL tables held them.

Order i has orderId i + 1; its user and products exist (unless made dirty on purpose) and its
value is the sum of its items' prices. Who orders, when and what follow the shop's rules (behaviour.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import polars as pl

from playground.catalog import ITEMS_PER_ORDER, ORDER_DATE_MAX, ORDER_DATE_MIN
from playground.errors import PlaygroundError
from playground.generators.behaviour import Shop, order_seconds
from playground.generators.blocks import Draws, draw_range
from playground.generators.dirty import CLEAN, DUPLICATE, MISSING_FIELD, dirty_plan, orphan_id

ORPHAN_USER, ORPHAN_PRODUCT = "orphan_user", "orphan_product"
ORDER_DIRT = (ORPHAN_USER, ORPHAN_PRODUCT, MISSING_FIELD, DUPLICATE)
MAX_ITEMS = ITEMS_PER_ORDER[1]
DATE_SPAN_S = int((ORDER_DATE_MAX - ORDER_DATE_MIN).total_seconds())


@dataclass(frozen=True)
class OrderBatch:
    orders: pl.DataFrame  # orderId, userId, orderDate, orderValue
    items: pl.DataFrame  # orderId, rowId, productId
    dirt: Counter


def _draw(rng: np.random.Generator, n: int) -> Draws:
    return {
        "user": rng.random(n),
        "date": rng.integers(0, DATE_SPAN_S, n),
        "n_items": rng.integers(ITEMS_PER_ORDER[0], MAX_ITEMS + 1, n),
        "product": rng.random((MAX_ITEMS, n)),
        # Drawn after the original's draws, so that without the rules the data is what it was.
        "time_of_day": rng.random(n),
        "item_kind": rng.random((MAX_ITEMS, n)),
    }


def orders_batch(shop: Shop, start: int, stop: int, dirty_rate: float = 0.0) -> OrderBatch:
    """Orders with index start..stop-1 (orderId start+1..stop) and their items."""
    seed, users, products = shop.seed, shop.users, shop.products
    if users <= 0 or products <= 0:
        raise PlaygroundError(f"orders need users and products to refer to (got {users} users, "
                              f"{products} products); generate those first or raise their counts")
    duplicate_code = ORDER_DIRT.index(DUPLICATE)
    # A duplicate repeats the order before it as written, so look back to the last order that is not one.
    def is_duplicate(i: int) -> bool:
        return bool(dirty_plan(seed, "orders", i, i + 1, dirty_rate, ORDER_DIRT)[0] == duplicate_code)

    lo = start
    while lo > 0 and (lo == start or is_duplicate(lo)):
        lo -= 1
    d = draw_range(_draw, seed, "orders", lo, stop)
    plan = dirty_plan(seed, "orders", lo, stop, dirty_rate, ORDER_DIRT)
    index = np.arange(lo, stop)

    def is_(name: str) -> np.ndarray:
        return plan == ORDER_DIRT.index(name)

    user = shop.buyers(d["user"])
    date = order_seconds(d["date"] / DATE_SPAN_S, d["time_of_day"]) if shop.behaviour else d["date"]
    order_date = (np.datetime64(ORDER_DATE_MIN.replace(tzinfo=None), "s") + date).astype("datetime64[us]")
    month = order_date.astype("datetime64[M]").astype(np.int64) % 12
    product = shop.items(d["product"], d["item_kind"], user[None, :], month[None, :])
    user = np.where(is_(ORPHAN_USER), orphan_id(index), user)
    in_order = np.arange(MAX_ITEMS)[:, None] < d["n_items"][None, :]
    value = np.round((shop.prices[product] * in_order).sum(axis=0), 2)
    orphan_product = is_(ORPHAN_PRODUCT)
    if orphan_product.any():  # the first item points past the catalogue; the value keeps its price
        product[0] = np.where(orphan_product, orphan_id(index), product[0])
    missing = np.where(is_(MISSING_FIELD), index % 3, -1)  # userId, orderDate or orderValue left empty
    n_items = d["n_items"]

    duplicate = is_(DUPLICATE) & (index > 0)
    if duplicate.any():
        source = np.maximum.accumulate(np.where(duplicate, 0, np.arange(len(index))))
        user, order_date, n_items, value = user[source], order_date[source], n_items[source], value[source]
        missing, product, in_order = missing[source], product[:, source], in_order[:, source]

    skip = start - lo
    ids = index[skip:] + 1

    def column(values: np.ndarray, empty_when: int) -> pl.Series:
        return pl.Series(values[skip:]).set(pl.Series(missing[skip:] == empty_when), None)

    orders = pl.DataFrame({"orderId": ids, "userId": column(user, 0), "orderDate": column(order_date, 1),
                           "orderValue": column(value, 2)})
    mask = in_order.T[skip:]
    items = pl.DataFrame({
        "orderId": np.repeat(ids, n_items[skip:]),
        "rowId": np.broadcast_to(np.arange(1, MAX_ITEMS + 1), mask.shape)[mask],
        "productId": product.T[skip:][mask],
    })
    kinds = np.where(index[skip:] == 0, CLEAN, plan[skip:])  # order 0 has nothing before it to repeat
    dirt = Counter({name: int((kinds == code).sum()) for code, name in enumerate(ORDER_DIRT)})
    return OrderBatch(orders, items, +dirt)
