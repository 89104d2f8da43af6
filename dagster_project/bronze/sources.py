"""The sources bronze takes, each once: how it lands, its fields and their types, its key, whether it
may repeat a record, and what dbt says of its table. Bronze's assets, its sensors, its key checks, its
DDL and dbt's models/sources.yml (rendered by `python -m dagster_project.bronze.catalog`) derive from it.

Light on purpose (the standard library and the generators' schema): the Databricks Spark job imports it
on a cluster, where only what the job needs is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from generators.schema import (
    PAGEVIEW_TYPES,
    PRODUCT_TYPES,
    PRODUCTS_DIR,
    STAR_TYPES,
    TABLE_KEYS,
    TABLE_TYPES,
    USER_TYPES,
    USERS_FILE,
    VIP_FILE,
    VIP_TYPES,
)


@dataclass(frozen=True)
class Source:
    name: str  # its bronze table
    lands: Literal["lake", "orders_db", "bus"]  # lake files, a table of the orders database, a bus topic
    types: dict[str, str]  # field -> kind (generators/schema.py)
    key: tuple[str, ...]
    repeats_expected: bool  # the source may repeat a record: repeated keys warn, for silver to deduplicate
    description: str
    folder: str = ""  # a lake source's landing folder
    parent: str | None = None  # every row's key starts with a key of this source

    @property
    def arriving(self) -> bool:
        """It keeps arriving (`make up` trickles orders and streams events), so dbt checks its freshness;
        lake files change only when someone regenerates them."""
        return self.lands != "lake"


SOURCES = {source.name: source for source in (
    Source("users", "lake", USER_TYPES, ("id",), True,
           "Users from the lake's users.json, one row per line of each file version.",
           folder=USERS_FILE.rsplit("/", 1)[0]),
    Source("vip_users", "lake", VIP_TYPES, ("id",), True, "VIP user ids from the lake's vipusers.json.",
           folder=VIP_FILE.rsplit("/", 1)[0]),
    Source("products", "lake", PRODUCT_TYPES, ("id",), False,
           "Products, one file each in the lake; a changed file adds a new version.", folder=PRODUCTS_DIR),
    Source("orders", "orders_db", TABLE_TYPES["orders"], TABLE_KEYS["orders"], False,
           "Orders from the SQL database, by orderId watermark."),
    Source("items", "orders_db", TABLE_TYPES["items"], TABLE_KEYS["items"], False,
           "Order items from the SQL database, read with their orders.", parent="orders"),
    Source("pageviews", "bus", PAGEVIEW_TYPES, ("event_id",), True,
           "Pageview events from the bus, by committed offsets."),
    Source("stars", "bus", STAR_TYPES, ("event_id",), True, "Star-rating events from the bus, by committed offsets."),
)}
FILE_SOURCES = {name: source for name, source in SOURCES.items() if source.lands == "lake"}
EVENT_SOURCES = {name: source for name, source in SOURCES.items() if source.lands == "bus"}
