"""The shop's behaviour (playground.generators.behaviour, README: Behaviour): each rule seen in generated data, at
the size README gives it, and gone with the rules off."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

import numpy as np
import polars as pl
import pytest
from playground.generators.behaviour import PAGE_LATENCY_MS, VIP_ORDER_WEIGHT, Shop, unit_hash
from playground.generators.events import SITE_PAGES, EventStream, StreamConfig
from playground.generators.orders import OrderBatch, orders_batch

SHOP = Shop(seed=7, users=5_000, products=800, vip_users=100)


@cache
def orders(behaviour: bool) -> OrderBatch:
    shop = Shop(SHOP.seed, SHOP.users, SHOP.products, SHOP.vip_users, behaviour)
    return orders_batch(shop, 0, 200_000)


def with_users(behaviour: bool) -> pl.DataFrame:
    batch = orders(behaviour).orders
    return batch.with_columns(
        vip=pl.col("userId").is_in(SHOP.vip_ids.tolist()),
        level=pl.Series(SHOP.spending_level(batch["userId"].to_numpy())),
    )


def test_vip_users_order_more_and_spend_more() -> None:
    frame = with_users(True)
    per_user = frame.group_by("vip").agg(orders_per_user=pl.len() / pl.col("userId").n_unique(),
                                         value=pl.col("orderValue").mean())
    vip, other = (per_user.filter(pl.col("vip") == flag).row(0, named=True) for flag in (True, False))
    assert vip["orders_per_user"] / other["orders_per_user"] == pytest.approx(VIP_ORDER_WEIGHT, rel=0.1)
    assert vip["value"] > 1.5 * other["value"]


def test_a_users_spending_level_sets_the_price_of_what_they_buy() -> None:
    frame = with_users(True)
    low = frame.filter(pl.col("level") < 0.25)["orderValue"].median()
    high = frame.filter(pl.col("level") >= 0.75)["orderValue"].median()
    assert high > 30 * low  # eight price bands over 1-10,000 CZK: ~x3.2 a band
    # Persistent: a user's earlier orders predict the next (what the model learns).
    correlation = np.corrcoef(frame["level"].to_numpy(), np.log(frame["orderValue"].to_numpy()))[0, 1]
    assert correlation > 0.6


def test_order_dates_grow_and_follow_the_week_and_the_year() -> None:
    dates = orders(True).orders["orderDate"]
    by_month = dates.dt.month().value_counts().sort("orderDate")["count"].to_numpy()
    by_weekday = dates.dt.weekday().value_counts().sort("orderDate")["count"].to_numpy()  # Monday = 1
    by_year = dates.dt.year().value_counts().sort("orderDate")["count"].to_numpy()
    assert by_month[11] / by_month[1] == pytest.approx(1.6 / 0.8 * 31 / 28.25, rel=0.05)  # December vs February
    assert by_weekday[5] / by_weekday[0] == pytest.approx(1.25 / 0.9, rel=0.05)  # Saturday vs Monday
    assert by_year[-2] / by_year[1] == pytest.approx((1 + 2 * 10.9 / 12) / (1 + 2 * 0.9 / 12), rel=0.1)


def test_a_month_sells_its_seasonal_products() -> None:
    batch = orders(True)
    peak = (unit_hash(SHOP.seed, "products/season", np.arange(SHOP.products)) * 12).astype(int)
    items = batch.items.join(batch.orders.select("orderId", month=pl.col("orderDate").dt.month() - 1), on="orderId")
    in_season = (peak[items["productId"].to_numpy()] == items["month"].to_numpy()).mean()
    assert in_season == pytest.approx(0.2 + 0.8 / 12, abs=0.02)


def test_latency_follows_the_page() -> None:
    config = StreamConfig(seed=3, users=1_000, products=100, start=datetime(2022, 8, 13, tzinfo=UTC))
    batch = next(EventStream(config).batches())
    pageviews = pl.DataFrame([json.loads(b) for b, t in zip(batch.bodies, batch.topics, strict=True)
                              if t == "pageviews"]).filter(pl.col("latency") < 500)  # outliers aside
    path = pl.col("uri").str.replace(r"^https://[^/]+", "").str.replace(r"\?q=.*", "?q=")
    page = (pl.when(path.str.contains(r"^/products/\d+/reviews$")).then(pl.lit("reviews"))
            .when(path.str.contains(r"^/products/\d+$")).then(pl.lit("product")).otherwise(path))
    means = dict(pageviews.group_by(page.alias("page")).agg(pl.col("latency").mean()).iter_rows())
    assert means["/checkout"] > means["/search?q="] > means["reviews"] > means["product"] > means["/"]
    assert means["/"] == pytest.approx(PAGE_LATENCY_MS["/"] * 0.9996, rel=0.1)  # |gauss(200, 50)| / 200 ~ 1
    assert {p for _, p in SITE_PAGES} - {"product"} <= set(means)


def test_plain_data_has_none_of_it() -> None:
    frame = with_users(False)
    per_user = frame.group_by("vip").agg(orders_per_user=pl.len() / pl.col("userId").n_unique(),
                                         value=pl.col("orderValue").mean()).sort("vip")
    assert per_user["orders_per_user"][1] / per_user["orders_per_user"][0] == pytest.approx(1, rel=0.15)
    assert abs(np.corrcoef(frame["level"].to_numpy(), frame["orderValue"].to_numpy())[0, 1]) < 0.02
    by_month = frame["orderDate"].dt.month().value_counts()["count"].to_numpy()
    assert by_month.max() / by_month.min() < 1.15  # uniform: months differ by their lengths only


def test_plain_orders_are_the_originals_draws() -> None:
    """Without the rules the same seed gives what it gave before the rules existed: the rules' draws come
    after the original's in each block."""
    plain = orders_batch(Shop(11, 500, 50, behaviour=False), 0, 3).orders
    # What orders_batch(11, 0, 3, 500, 50) gave at commit 498007c.
    assert plain.rows() == [(1, 392, datetime(2013, 4, 18, 9, 13, 52), 5032.43),
                            (2, 486, datetime(2014, 7, 16, 3, 18, 41), 2673.93),
                            (3, 432, datetime(2016, 6, 20, 3, 5, 34), 11549.46)]
