"""The catalog: every source once, from its generator to bronze. Each source's fields and their types,
its key, where it lands (a lake folder, a table of the orders database, a topic of the bus), whether it
may repeat a record, and what dbt says of its table. The generators, the I/O layer, landing's and bronze's
assets, the sensors, the key checks, bronze's DDL and dbt's models/sources.yml (rendered by
`python -m dagster_project.bronze.catalog`) derive from it.

No imports of the project and only the standard library: the generators' image and the Databricks Spark
job import it, where only what they need is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

USER_FIELDS = ("id", "name", "city", "street_address", "phone_number", "birth_number", "user_name",
               "administrative_unit", "description", "jobs")
VIP_FIELDS = ("id",)
# `price` is ours, not the original's: it lets an order's value be the sum of its items.
PRODUCT_FIELDS = ("id", "name", "description", "pages", "price")
PAGEVIEW_FIELDS = ("event_id", "event_time", "user_id", "http_method", "uri", "client_ip", "user_agent",
                   "latency")
STAR_FIELDS = ("event_id", "event_time", "user_id", "stars")

# Field types, for readers that parse what landed (the bronze tier): name -> (kind, element kind).
# Kinds: int, float, str, list[str].
USER_TYPES = {"id": "int", **{f: "str" for f in USER_FIELDS[1:-1]}, "jobs": "list[str]"}
VIP_TYPES = {"id": "int"}
PRODUCT_TYPES = {"id": "int", "name": "str", "description": "str", "pages": "list[str]", "price": "float"}
PAGEVIEW_TYPES = {"event_id": "str", "event_time": "str", "user_id": "int", "http_method": "str", "uri": "str",
                  "client_ip": "str", "user_agent": "str", "latency": "float"}
STAR_TYPES = {"event_id": "str", "event_time": "str", "user_id": "int", "stars": "int"}

# Lake layout, relative to the lake root (a folder, or an abfs:// container root).
USERS_FILE = "landing/users/users.json"
VIP_FILE = "landing/vipusers/vipusers.json"
PRODUCTS_DIR = "landing/products"
MANIFESTS_DIR = "landing/_manifests"


def product_file(product_id: int) -> str:
    return f"{PRODUCTS_DIR}/product_{product_id}.json"


# Event bus topics (Event Hubs names): each bus source's name.
PAGEVIEWS_TOPIC = "pageviews"
STARS_TOPIC = "stars"

# Orders fall in the original's window.
ORDER_DATE_MIN = datetime(2010, 8, 13, tzinfo=UTC)
ORDER_DATE_MAX = datetime(2022, 8, 13, tzinfo=UTC)
ITEMS_PER_ORDER = (1, 10)
PRICE_RANGE = (1.0, 10_000.0)

# The orders database's tables: column -> kind (int, float, timestamp).
ORDER_TYPES = {"orderId": "int", "userId": "int", "orderDate": "timestamp", "orderValue": "float"}
ITEM_TYPES = {"orderId": "int", "rowId": "int", "productId": "int"}


SCALE_NAMES = ("small", "medium", "large")


# How long a source that keeps arriving may go without bronze taking any of it: a warning after an hour,
# an error after a day. dbt's source freshness (models/sources.yml) and the freshness policy of its bronze
# asset in Dagster both say this.
FRESH_WARN_HOURS = 1
FRESH_ERROR_HOURS = 24


@dataclass(frozen=True)
class Source:
    name: str  # its bronze table; a bus source's topic
    lands: Literal["lake", "orders_db", "bus"]  # lake files, a table of the orders database, a bus topic
    types: dict[str, str]  # field -> kind (int, float, str, list[str], timestamp)
    key: tuple[str, ...]
    repeats_expected: bool  # the source may repeat a record: repeated keys warn, for silver to deduplicate
    description: str  # of its bronze table (dbt's sources.yml)
    generation: str  # the generator run writing it (its landing asset is landing_<generation>)
    landing: str  # what its landing asset says of it
    made_from: tuple[str, ...] = ()  # what its generation reads (ids of users and products)
    counts: dict[str, int] = field(default_factory=dict)  # records by scale; none: as many as its generation makes
    # Bytes a record takes where it lands, measured at the small scale (the room check): an order with its
    # items in SQLite, a pageview with the stars between pageviews; a product is a file: a file-system block.
    landed_bytes: int = 0
    folder: str = ""  # a lake source's landing folder
    parent: str | None = None  # every row's key starts with a key of this source
    manifest: str = ""  # the manifest counting it, when not its own (items: the orders')
    at_most: str = ""  # a source whose count caps this one's (VIP users are users)
    times: tuple[str, ...] = ()  # text fields holding an ISO-8601 time: a reader quarantines one that is not

    @property
    def arriving(self) -> bool:
        """It keeps arriving (`make up` trickles orders and streams events), so dbt checks its freshness;
        lake files change only when someone regenerates them."""
        return self.lands != "lake"

    @property
    def manifest_name(self) -> str:
        return self.manifest or self.name


def _scaled(*counts: int) -> dict[str, int]:
    return dict(zip(SCALE_NAMES, counts, strict=True))


_IDS = ("users", "products")
SOURCES = {source.name: source for source in (
    Source("users", "lake", USER_TYPES, ("id",), True,
           "Users from the lake's users.json, one row per line of each file version.", "users",
           "Users (cs_CZ), one JSON object a line in landing/users/users.json.",
           counts=_scaled(10_000, 1_000_000, 10_000_000), landed_bytes=650, folder=USERS_FILE.rsplit("/", 1)[0]),
    Source("vip_users", "lake", VIP_TYPES, ("id",), True, "VIP user ids from the lake's vipusers.json.", "users",
           "Distinct VIP user ids in landing/vipusers/vipusers.json.", made_from=("users",),
           counts=_scaled(100, 10_000, 100_000), landed_bytes=20, at_most="users", folder=VIP_FILE.rsplit("/", 1)[0]),
    Source("products", "lake", PRODUCT_TYPES, ("id",), False,
           "Products, one file each in the lake; a changed file adds a new version.", "products",
           "One JSON document per product in landing/products/.", counts=_scaled(1_000, 10_000, 100_000),
           landed_bytes=4096, folder=PRODUCTS_DIR),
    Source("orders", "orders_db", ORDER_TYPES, ("orderId",), False,
           "Orders from the SQL database, by orderId watermark.", "orders", "Table `orders` of the orders database.",
           made_from=_IDS, counts=_scaled(100_000, 10_000_000, 100_000_000), landed_bytes=125),
    Source("items", "orders_db", ITEM_TYPES, ("orderId", "rowId"), False,
           "Order items from the SQL database, read with their orders.", "orders",
           "Table `items` of the orders database: each order's products.", made_from=_IDS, parent="orders",
           manifest="orders"),
    Source("pageviews", "bus", PAGEVIEW_TYPES, ("event_id",), True,
           "Pageview events from the bus, by committed offsets.", "events",
           "Pageview events on the bus (topic pageviews).", made_from=_IDS,
           counts=_scaled(100_000, 1_000_000, 10_000_000), landed_bytes=335, times=("event_time",)),
    Source("stars", "bus", STAR_TYPES, ("event_id",), True, "Star-rating events from the bus, by committed offsets.",
           "events", "Star events on the bus (topic stars).", made_from=_IDS, times=("event_time",)),
)}
FILE_SOURCES = {name: source for name, source in SOURCES.items() if source.lands == "lake"}
EVENT_SOURCES = {name: source for name, source in SOURCES.items() if source.lands == "bus"}
TOPICS = tuple(EVENT_SOURCES)
TOPIC_TYPES = {name: source.types for name, source in EVENT_SOURCES.items()}
# The orders database's tables and their primary keys (playground.io.orders_db makes the SQL tables).
TABLE_TYPES = {name: source.types for name, source in SOURCES.items() if source.lands == "orders_db"}
TABLE_KEYS = {name: SOURCES[name].key for name in TABLE_TYPES}
# Each generator run and the sources it writes, in the order they are generated; the first is the one
# `playground generate <source>` names, whose count drives the run.
GENERATIONS = {generation: tuple(s for s in SOURCES if SOURCES[s].generation == generation)
               for generation in dict.fromkeys(s.generation for s in SOURCES.values())}
LANDING_OPS = tuple(f"landing_{generation}" for generation in GENERATIONS)
MANIFESTS = tuple(dict.fromkeys(source.manifest_name for source in SOURCES.values()))
