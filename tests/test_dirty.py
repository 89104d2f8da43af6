"""Dirty records: off by default, and when on, exactly as many of each kind as the manifest says."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from playground.catalog import PAGEVIEW_FIELDS, PRODUCT_FIELDS, STAR_FIELDS, USER_FIELDS

from tests.helpers import dataset_args, events, manifest, playground, table_rows


def classify_lines(lines: list[bytes], fields: tuple[str, ...], users: int | None = None,
                   user_field: str = "id") -> tuple[Counter, int]:
    """Dirt found by reading the lines back, and the number of distinct records."""
    found: Counter = Counter()
    previous = None
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            found["malformed"] += 1
            previous = None
            continue
        if record == previous:
            found["duplicate"] += 1
        elif set(record) != set(fields):
            found["missing_field"] += 1
        elif users is not None and record[user_field] >= users:
            found["orphan"] += 1
        previous = record
    return found, len(lines) - found["duplicate"]


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dirty")
    playground("generate", "all", "--scale", "small", "--dirty-rate", "0.05", *dataset_args(root))
    return root


def test_users_dirt_matches_manifest(dirty: Path) -> None:
    lines = (dirty / "lake/landing/users/users.json").read_bytes().splitlines()
    found, records = classify_lines(lines, USER_FIELDS)
    m = manifest(dirty, "users")
    assert dict(found) == m["dirty"]
    assert records == m["records"] == 10_000 and len(lines) == m["written"]
    assert sum(found.values()) == pytest.approx(0.05 * 10_000, rel=0.15)


def test_vip_dirt_matches_manifest(dirty: Path) -> None:
    lines = (dirty / "lake/landing/vipusers/vipusers.json").read_bytes().splitlines()
    found, records = classify_lines(lines, ("id",), users=10_000)
    m = manifest(dirty, "vip_users")
    assert dict(found) == m["dirty"] and records == m["records"]


def test_products_dirt_matches_manifest(dirty: Path) -> None:
    files = sorted((dirty / "lake/landing/products").glob("product_*.json"))
    found, _ = classify_lines([f.read_bytes() for f in files], PRODUCT_FIELDS)
    assert dict(found) == manifest(dirty, "products")["dirty"]
    assert len(files) == 1_000


def test_orders_dirt_matches_manifest(dirty: Path) -> None:
    db = dirty / "orders.db"
    orders = table_rows(db, "SELECT orderId, userId, orderDate, orderValue FROM orders ORDER BY orderId")
    items: dict[int, list[int]] = {}
    for order_id, product_id in table_rows(db, "SELECT orderId, productId FROM items ORDER BY orderId, rowId"):
        items.setdefault(order_id, []).append(product_id)
    found: Counter = Counter()
    previous = None
    for order_id, *values in orders:
        row = (*values, items[order_id])
        if row == previous:
            found["duplicate"] += 1
        elif None in values:
            found["missing_field"] += 1
        elif values[0] >= 10_000:
            found["orphan_user"] += 1
        elif max(items[order_id]) >= 1_000:
            found["orphan_product"] += 1
        previous = row
    m = manifest(dirty, "orders")
    assert {**found, "items": sum(map(len, items.values()))} == m["dirty"]


def test_event_dirt_matches_manifest(dirty: Path) -> None:
    for topic, fields in (("pageviews", PAGEVIEW_FIELDS), ("stars", STAR_FIELDS)):
        bodies = [b for _, _, b in events(dirty / "events.db", topic)]
        found: Counter = Counter()
        seen: set[str] = set()
        for body in bodies:
            try:
                record = json.loads(body)
            except json.JSONDecodeError:
                found["malformed"] += 1
                continue
            if record["event_id"] in seen:
                found["duplicate"] += 1
            elif set(record) != set(fields):
                found["missing_field"] += 1
            elif record["user_id"] >= 10_000:
                found["orphan"] += 1
            seen.add(record["event_id"])
        m = manifest(dirty, topic)
        assert dict(found) == m["dirty"], topic
        assert len(bodies) == m["written"]


def test_clean_by_default(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "3000", *dataset_args(tmp_path))
    lines = (tmp_path / "lake/landing/users/users.json").read_bytes().splitlines()
    found, records = classify_lines(lines, USER_FIELDS)
    assert not found and records == 3_000
    assert manifest(tmp_path, "users")["dirty"] == {}


def test_orphans_name_ids_no_product_or_user_will_take(dirty: Path) -> None:
    """Far outside the catalogue: the trickle's next products (ids products, products + 1, …) are never
    ids an orphan already named, so an item's dirt stays dirt and a new product starts unreferenced."""
    from playground.generators.dirty import ORPHAN_IDS

    db = dirty / "orders.db"
    named = [p for (p,) in table_rows(db, "SELECT productId FROM items") if p >= 1_000]
    assert named and all(ORPHAN_IDS <= p < 2**31 for p in named)
