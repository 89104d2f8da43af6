"""Products: one JSON document each, with a price so that orders can add up their items."""

from __future__ import annotations

import numpy as np
import polars as pl

from playground.catalog import PRICE_RANGE
from playground.generators.blocks import Draws, draw_range
from playground.generators.vocab import vocab

SHOP = "https://www.playground-shop.cz"
PAGE_SUFFIXES = ("", "/reviews", "/specs")


def _draw(rng: np.random.Generator, n: int) -> Draws:
    low, high = np.log(PRICE_RANGE[0]), np.log(PRICE_RANGE[1])
    return {"sentence": rng.integers(0, len(vocab().sentences), n), "log_price": rng.uniform(low, high, n)}


def product_prices(seed: int, start: int, stop: int) -> np.ndarray:
    return np.round(np.exp(draw_range(_draw, seed, "products", start, stop)["log_price"]), 2)


def products_frame(seed: int, start: int, stop: int) -> pl.DataFrame:
    """Products start..stop-1, columns in the order of schema.PRODUCT_FIELDS."""
    d = draw_range(_draw, seed, "products", start, stop)
    ids = pl.Series("id", np.arange(start, stop, dtype=np.int64))
    page = pl.concat_str(pl.lit(f"{SHOP}/products/"), pl.col("id").cast(pl.String))
    return pl.DataFrame({"id": ids}).select(
        "id",
        name=pl.concat_str(pl.lit("product_"), pl.col("id").cast(pl.String)),
        description=pl.lit(vocab().sentences.gather(d["sentence"])),
        pages=pl.concat_list([pl.concat_str(page, pl.lit(suffix)) for suffix in PAGE_SUFFIXES]),
        price=pl.lit(np.round(np.exp(d["log_price"]), 2)),
    )
