"""The lake's sources as bronze takes them: a table per source, its landing folder, its fields and key.

Light on purpose (the standard library and the generators' schema): the Databricks Spark job imports it
on a cluster, where only what the job needs is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.schema import PRODUCT_TYPES, PRODUCTS_DIR, USER_TYPES, USERS_FILE, VIP_FILE, VIP_TYPES


@dataclass(frozen=True)
class FileSource:
    name: str
    folder: str
    types: dict[str, str]
    key: str = "id"


FILE_SOURCES = {
    "users": FileSource("users", USERS_FILE.rsplit("/", 1)[0], USER_TYPES),
    "vip_users": FileSource("vip_users", VIP_FILE.rsplit("/", 1)[0], VIP_TYPES),
    "products": FileSource("products", PRODUCTS_DIR, PRODUCT_TYPES),
}
