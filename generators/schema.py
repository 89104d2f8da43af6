"""Each source's shape and where it lands: the one place to read or change a source's schema."""

from __future__ import annotations

from datetime import UTC, datetime

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


# Event bus topics (Event Hubs names).
PAGEVIEWS_TOPIC = "pageviews"
STARS_TOPIC = "stars"
TOPIC_TYPES = {PAGEVIEWS_TOPIC: PAGEVIEW_TYPES, STARS_TOPIC: STAR_TYPES}

# Orders fall in the original's window.
ORDER_DATE_MIN = datetime(2010, 8, 13, tzinfo=UTC)
ORDER_DATE_MAX = datetime(2022, 8, 13, tzinfo=UTC)
ITEMS_PER_ORDER = (1, 10)
PRICE_RANGE = (1.0, 10_000.0)

# The orders database's tables: column -> kind (int, float, timestamp), and their primary keys
# (generators/sinks/orders_db.py makes the SQL tables of them).
TABLE_TYPES = {
    "orders": {"orderId": "int", "userId": "int", "orderDate": "timestamp", "orderValue": "float"},
    "items": {"orderId": "int", "rowId": "int", "productId": "int"},
}
TABLE_KEYS = {"orders": ("orderId",), "items": ("orderId", "rowId")}
