"""The original project's way of doing things, re-created as the baselines we measure against."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path

from faker import Faker


def original_users(count: int, path: Path) -> float:
    """Rows/s of the original per-record Faker loop writing users.json (SPEC.md's fields, cs_CZ)."""
    fake = Faker("cs_CZ")
    Faker.seed(0)
    began = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            record = {
                "id": i, "name": fake.name(), "city": fake.city(), "street_address": fake.street_address(),
                "phone_number": fake.phone_number(), "birth_number": fake.birth_number(),
                "user_name": fake.user_name(), "administrative_unit": fake.administrative_unit(),
                "description": fake.paragraph(nb_sentences=5), "jobs": [fake.job() for _ in range(3)],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return count / (time.perf_counter() - began)


def original_orders(count: int, path: Path) -> float:
    """Rows/s (orders + items) of the original loop: random orders inserted 100 at a time with executemany."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE orders (orderId INTEGER PRIMARY KEY, userId INTEGER, orderDate TEXT, orderValue REAL)")
    db.execute("CREATE TABLE items (orderId INTEGER, rowId INTEGER, productId INTEGER, PRIMARY KEY (orderId, rowId))")
    rng = random.Random(0)
    rows = 0
    began = time.perf_counter()
    for batch_start in range(0, count, 100):
        orders, items = [], []
        for order_id in range(batch_start, min(batch_start + 100, count)):
            orders.append((order_id, rng.randint(0, 999_999), f"2015-01-01 {rng.randint(0, 23):02d}:00:00",
                           rng.uniform(1, 100_000)))
            items += [(order_id, row, rng.randint(0, 9_999)) for row in range(1, rng.randint(1, 10) + 1)]
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
        db.executemany("INSERT INTO items VALUES (?, ?, ?)", items)
        db.commit()
        rows += len(orders) + len(items)
    db.close()
    return rows / (time.perf_counter() - began)


def original_stream(count: int, path: Path) -> float:
    """Events/s of a per-event producer: build a dict, json.dumps it, send it on its own."""
    from playground.io.bus.embedded import EmbeddedLog

    log = EmbeddedLog(str(path))
    rng = random.Random(0)
    began = time.perf_counter()
    for i in range(count):
        event = {"user_id": rng.randint(0, 9_999), "http_method": "GET", "uri": f"/products/{i}",
                 "client_ip": "10.0.0.1", "user_agent": "Mozilla/5.0", "latency": abs(rng.gauss(200, 50))}
        log.send("pageviews", [event["user_id"]], [json.dumps(event).encode()])
    log.close()
    return count / (time.perf_counter() - began)
