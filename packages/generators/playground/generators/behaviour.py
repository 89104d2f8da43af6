"""How the shop behaves: seeded rules that give the data something to learn (README: Behaviour).

- **Spending level.** Each user has a persistent level in [0, 1) (a hash of the seed and the user's id:
  the same in every chunk, worker and run); a VIP user's lies in the upper half. An order's items come
  mostly from the price band of its user's level: the catalogue is cut into PRICE_BANDS bands of equal
  size by price, and an item's band is the level give or take BAND_JITTER / 2. Within a band the popular
  products are bought most (the top tenth of a band takes about half its demand).
- **VIPs order more.** Each VIP user places VIP_ORDER_WEIGHT times as many orders as another user.
- **Seasonal products.** Each product peaks in one month; SEASONAL_SHARE of the items of an order placed in
  a month are products peaking then, whatever their price.
- **Order dates.** Orders per day grow GROWTH-fold over the window, follow WEEKDAY_WEIGHTS (weekends busier)
  and MONTH_WEIGHTS (November and December busiest); the time of day is uniform.
- **Latency.** A pageview's latency is drawn around the mean of the page viewed (PAGE_LATENCY_MS: search and
  checkout slow, the home page fast; a product's reviews slower than its main page); outliers stay.

`behaviour=False` (`playground generate --plain`) turns every rule off: users, dates and products are
drawn uniformly, as the original did, from the same draws.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from playground.catalog import ORDER_DATE_MAX, ORDER_DATE_MIN
from playground.generators.blocks import block_rng
from playground.generators.products import product_prices
from playground.generators.users import vip_ids

PRICE_BANDS = 8
BAND_JITTER = 0.25  # an item's band: level + uniform(-0.125, 0.125), as a share of the bands
VIP_ORDER_WEIGHT = 5
SEASONAL_SHARE = 0.2
GROWTH = 3.0
WEEKDAY_WEIGHTS = (0.9, 0.9, 0.95, 1.0, 1.05, 1.25, 1.15)  # Monday first
MONTH_WEIGHTS = (0.8, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.9, 1.0, 1.05, 1.3, 1.6)  # January first
# Mean latency (ms) of each page kind; a product page's by its subpage: main, /reviews, /specs.
PAGE_LATENCY_MS = {"product": (120.0, 220.0, 160.0), "/": 80.0, "/search?q=": 400.0, "/cart": 150.0,
                   "/cart/items": 180.0, "/checkout": 600.0, "/account": 200.0}
DAYS = (ORDER_DATE_MAX - ORDER_DATE_MIN).days


def unit_hash(seed: int, stream: str, ids: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) per id, fixed by (seed, stream, id): splitmix64 of the three."""
    key = np.uint64((seed * 0x9E3779B1 + zlib.crc32(stream.encode())) & 0xFFFF_FFFF_FFFF_FFFF)
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@cache
def _day_cdf() -> np.ndarray:
    """The share of orders placed up to each day of the window (the date rules)."""
    days = np.arange(DAYS)
    first = np.datetime64(ORDER_DATE_MIN.date(), "D") + days
    weekday = (first.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = first.astype("datetime64[M]").astype(np.int64) % 12
    weight = (1 + (GROWTH - 1) * days / DAYS) * np.take(WEEKDAY_WEIGHTS, weekday) * np.take(MONTH_WEIGHTS, month)
    cdf = np.cumsum(weight)
    return cdf / cdf[-1]


def order_seconds(u_day: np.ndarray, u_time: np.ndarray) -> np.ndarray:
    """Seconds from the window's start for uniform draws: a day by the date rules, a uniform time in it."""
    day = np.minimum(np.searchsorted(_day_cdf(), u_day, side="right"), DAYS - 1)
    return day * 86_400 + (u_time * 86_400).astype(np.int64)


@dataclass(frozen=True)
class Shop:
    """Who buys what: the population orders and events refer to, and whether the rules apply."""

    seed: int
    users: int
    products: int
    vip_users: int = 0
    behaviour: bool = True

    @cached_property
    def vip_ids(self) -> np.ndarray:
        return vip_ids(self.seed, self.users, min(self.vip_users, self.users))

    @cached_property
    def prices(self) -> np.ndarray:
        return product_prices(self.seed, 0, self.products)

    def spending_level(self, user: np.ndarray) -> np.ndarray:
        level = unit_hash(self.seed, "users/level", user)
        return np.where(np.isin(user, self.vip_ids), 0.5 + level / 2, level)

    def buyers(self, u: np.ndarray) -> np.ndarray:
        """User ids for uniform draws: every user alike, or VIPs VIP_ORDER_WEIGHT times as often."""
        if not self.behaviour or not len(self.vip_ids):
            return np.minimum((u * self.users).astype(np.int64), self.users - 1)
        vips = len(self.vip_ids)
        # A VIP is also drawn among everyone: the VIP draw adds the weight beyond one.
        vip_share = (VIP_ORDER_WEIGHT - 1) * vips / (self.users + (VIP_ORDER_WEIGHT - 1) * vips)
        as_vip = u < vip_share
        rest = (u - vip_share) / (1 - vip_share)
        vip = self.vip_ids[np.minimum((u / vip_share * vips).astype(np.int64), vips - 1)]
        anyone = np.minimum((rest * self.users).astype(np.int64), self.users - 1)
        return np.where(as_vip, vip, anyone)

    @cached_property
    def _popularity(self) -> np.ndarray:
        return block_rng(self.seed, "products/popularity", 0).permutation(self.products)

    def popular(self, u: np.ndarray) -> np.ndarray:
        """Product ids for uniform draws, a few products taking most of the demand."""
        # rank = floor(n * u**3): the top 10% of products take about half of the demand.
        ranks = np.minimum((self.products * (u * u * u)).astype(np.int64), self.products - 1)
        return self._popularity[ranks]

    @cached_property
    def _bands(self) -> tuple[np.ndarray, np.ndarray]:
        """Products ordered by (price band, popularity), and where each band starts (PRICE_BANDS + 1)."""
        by_price = np.argsort(self.prices, kind="stable")
        band = np.empty(self.products, dtype=np.int64)
        band[by_price] = np.arange(self.products) * PRICE_BANDS // self.products
        rank = np.empty(self.products, dtype=np.int64)
        rank[self._popularity] = np.arange(self.products)
        order = np.lexsort((rank, band))
        return order, np.searchsorted(band[order], np.arange(PRICE_BANDS + 1))

    @cached_property
    def _seasons(self) -> tuple[np.ndarray, np.ndarray]:
        """Products ordered by the month they peak in, and where each month starts (13)."""
        peak = (unit_hash(self.seed, "products/season", np.arange(self.products)) * 12).astype(np.int64)
        order = np.argsort(peak, kind="stable")
        return order, np.searchsorted(peak[order], np.arange(13))

    def items(self, u_product: np.ndarray, u_kind: np.ndarray, user: np.ndarray, month: np.ndarray
              ) -> np.ndarray:
        """Product ids of items (any shape) for two uniform draws each, by their order's user and month."""
        if not self.behaviour:
            return self.popular(u_product)
        level = self.spending_level(user)
        seasonal = u_kind < SEASONAL_SHARE
        jitter = np.where(seasonal, 0.5, (u_kind - SEASONAL_SHARE) / (1 - SEASONAL_SHARE))
        band = np.clip(((level + (jitter - 0.5) * BAND_JITTER) * PRICE_BANDS).astype(np.int64), 0, PRICE_BANDS - 1)
        order, starts = self._bands
        size = starts[band + 1] - starts[band]
        rank = (size * (u_product * u_product * u_product)).astype(np.int64)  # popular first, as popular()
        by_level = order[np.minimum(starts[band] + rank, self.products - 1)]
        season_order, season_starts = self._seasons
        month_size = season_starts[month + 1] - season_starts[month]
        in_season = season_order[np.minimum(season_starts[month] + (month_size * u_product).astype(np.int64),
                                            self.products - 1)]
        return np.where(seasonal & (month_size > 0), in_season, by_level)


def page_latency(site_paths: tuple[str, ...], page: np.ndarray, product_page: np.ndarray, drawn_ms: np.ndarray,
                 mean_ms: float) -> np.ndarray:
    """Latency (ms) of pageviews of `site_paths[page]` whose drawn latency has mean `mean_ms`, scaled to
    each page's mean."""
    means = np.array([0.0 if path == "product" else PAGE_LATENCY_MS[path] for path in site_paths])
    is_product = np.array([path == "product" for path in site_paths])[page]
    page_mean = np.where(is_product, np.array(PAGE_LATENCY_MS["product"])[product_page], means[page])
    return drawn_ms * (page_mean / mean_ms)
