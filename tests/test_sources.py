"""Each source's schema, value ranges and internal consistency."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from faker.decode import unidecode
from playground.catalog import (
    ORDER_DATE_MAX,
    ORDER_DATE_MIN,
    PAGEVIEW_FIELDS,
    PRODUCT_FIELDS,
    STAR_FIELDS,
    USER_FIELDS,
)
from playground.generators.behaviour import Shop
from playground.generators.events import EventStream, StreamConfig
from playground.generators.orders import orders_batch
from playground.generators.products import product_prices, products_frame
from playground.generators.users import birth_numbers, users_frame, vip_ids
from playground.generators.vocab import TITLES, VOCAB_FILE, render, vocab

from tests.helpers import dataset_args, events, manifest, playground


@pytest.fixture(scope="module")
def users() -> pl.DataFrame:
    return users_frame(7, 0, 20_000)


def test_users_have_every_field_in_order(users: pl.DataFrame) -> None:
    assert tuple(users.columns) == USER_FIELDS
    assert users["id"].to_list() == list(range(20_000))
    assert users.null_count().sum_horizontal().item() == 0
    record = json.loads(users.head(1).write_ndjson())
    assert isinstance(record["jobs"], list) and len(record["jobs"]) == 3


def test_descriptions_are_paragraphs_of_five_sentences(users: pl.DataFrame) -> None:
    sentences = users["description"].str.count_matches(r"\.").to_numpy()
    assert (sentences == 5).all()


def test_birth_number_agrees_with_sex_and_date(users: pl.DataFrame) -> None:
    v = vocab()
    female_first = set(v.first_female.to_list())
    male_first = set(v.first_male.to_list())
    checked = 0
    for name, number in users.select("name", "birth_number").iter_rows():
        words = [w for w in name.split(" ") if w not in TITLES and w not in v.suffixes.to_list()]
        if words[0] == "Ing." or words[0] == "arch.":
            words = words[1:]
        first = next(w for w in words if w in female_first or w in male_first)
        digits = number.replace("/", "")
        yy, mm, dd = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
        female = mm > 50
        month = mm - 50 if female else mm
        assert 1 <= month <= 12 and 1 <= dd <= 31
        assert (first in female_first) == female or first in (female_first & male_first)
        if len(digits) == 10:
            assert int(digits) % 11 == 0, number
        else:
            assert len(digits) == 9 and yy >= 32 and yy < 54, number  # 9 digits only before 1954
        checked += 1
    assert checked == users.height


def test_birth_numbers_by_hand() -> None:
    dates = np.array(["1990-03-05", "1950-12-31"], dtype="datetime64[D]")
    numbers = birth_numbers(dates, np.array([True, False]), np.array([123, 45])).to_list()
    # 1990-03-05, a woman: month 53; 905305123 = 11 * 82300465 + 8 -> check digit 8
    assert numbers == ["905305/1238", "501231/045"]
    assert 9053051238 % 11 == 0


def test_user_names_come_from_the_name(users: pl.DataFrame) -> None:
    sample = users.head(200)
    titles = set(TITLES) | set(vocab().suffixes.to_list()) | {"Ing.", "arch."}
    for name, user_name in sample.select("name", "user_name").iter_rows():
        first, last = (unidecode(w).lower() for w in name.split(" ") if w not in titles)
        forms = {f"{last}.{first}", f"{first}.{last}", f"{first[0]}{last}"}
        assert user_name in forms or (user_name[:-2] == first and user_name[-2:].isdigit()), (name, user_name)


def test_phone_numbers_are_czech_mobiles(users: pl.DataFrame) -> None:
    assert users["phone_number"].str.contains(r"^(\+420|00420) (60[1-8]|70[2-5]|7[2379]\d) \d{3} \d{3}$").all()


def test_vip_ids_are_distinct_existing_users() -> None:
    ids = vip_ids(3, 1_000, 300)
    assert len(set(ids.tolist())) == 300
    assert ids.min() >= 0 and ids.max() < 1_000


def test_products() -> None:
    frame = products_frame(5, 10, 20)
    assert tuple(frame.columns) == PRODUCT_FIELDS
    record = frame.row(0, named=True)
    assert record["id"] == 10 and record["name"] == "product_10"
    assert len(record["pages"]) == 3 and all(p.startswith("https://") for p in record["pages"])
    assert record["description"].endswith(".") and record["description"].count(".") == 1
    assert (frame["price"] >= 1).all() and (frame["price"] <= 10_000).all()


def test_orders_refer_to_existing_users_and_products_and_add_up() -> None:
    users, products = 500, 50
    batch = orders_batch(Shop(11, users, products), 0, 5_000)
    orders, items = batch.orders, batch.items
    assert orders["orderId"].to_list() == list(range(1, 5_001))
    assert orders["userId"].is_between(0, users - 1).all()
    assert items["productId"].is_between(0, products - 1).all()
    assert orders["orderDate"].min() >= ORDER_DATE_MIN.replace(tzinfo=None)
    assert orders["orderDate"].max() < ORDER_DATE_MAX.replace(tzinfo=None)
    per_order = items.group_by("orderId").agg(n=pl.len(), max_row=pl.col("rowId").max(),
                                              products=pl.col("productId"))
    assert per_order["n"].is_between(1, 10).all()
    assert (per_order["n"] == per_order["max_row"]).all()  # rowId runs 1..k
    prices = product_prices(11, 0, products)
    joined = per_order.join(orders, on="orderId")
    for row in joined.head(300).iter_rows(named=True):
        assert row["orderValue"] == pytest.approx(sum(prices[p] for p in row["products"]), abs=0.011)
    assert not batch.dirt


def test_events_form_sessions() -> None:
    # Plain: latencies as the original drew them (with the rules they follow the page: test_behaviour.py).
    config = StreamConfig(seed=3, users=1_000, products=100, start=datetime(2022, 8, 13, tzinfo=UTC), behaviour=False)
    batch = next(EventStream(config).batches())
    pageviews = [json.loads(b) for b, t in zip(batch.bodies, batch.topics, strict=True) if t == "pageviews"]
    stars = [json.loads(b) for b, t in zip(batch.bodies, batch.topics, strict=True) if t == "stars"]
    assert all(tuple(p) == PAGEVIEW_FIELDS for p in pageviews)
    assert all(tuple(s) == STAR_FIELDS for s in stars)
    assert list(batch.time_us) == sorted(batch.time_us)
    times = [p["event_time"] for p in pageviews]
    assert times == sorted(times)
    n = len(pageviews)
    empty_ip = sum(p["client_ip"] == "" for p in pageviews) / n
    outliers = sum(p["latency"] >= 500 for p in pageviews) / n
    assert 0.005 < empty_ip < 0.015
    assert 0.005 < outliers < 0.015
    assert all(0 <= p["latency"] <= 5000 for p in pageviews)
    assert all(1 <= s["stars"] <= 5 for s in stars)
    assert all(0 <= p["user_id"] < 1_000 for p in pageviews + stars)
    assert len({p["event_id"] for p in pageviews + stars}) == n + len(stars)
    # A user's session shares one IP and user agent (sessions of one user may differ).
    by_user: dict[int, Counter] = {}
    for p in pageviews:
        if p["client_ip"]:
            by_user.setdefault(p["user_id"], Counter())[(p["client_ip"], p["user_agent"])] += 1
    sessions = sum(len(c) for c in by_user.values())
    assert 0.85 * n / 15.5 < sessions < 1.15 * n / 15.5  # 1-30 pageviews a session, 15.5 on average
    assert 0.6 / 50 < len(stars) / sessions < 1.4 / 50  # one session in 50 ends with a star
    methods = Counter(p["http_method"] for p in pageviews)
    assert set(methods) <= {"GET", "POST", "PUT", "DELETE"} and methods["GET"] > n * 0.7


def test_rate_sets_the_event_time_pace() -> None:
    start = datetime(2022, 8, 13, tzinfo=UTC)
    for rate in (10.0, 1_000.0):
        batches = EventStream(StreamConfig(3, 1_000, 100, start, rate=rate)).batches()
        next(batches)  # the first batch holds only the beginnings of its last sessions
        steady = [next(batches) for _ in range(3)]
        span_s = (steady[-1].time_us[-1] - steady[0].time_us[0]) / 1e6
        assert sum(len(b) for b in steady) / span_s == pytest.approx(rate, rel=0.05)


def test_the_committed_czech_lists_are_fakers() -> None:
    """vocab_cs_CZ.json is rendered from Faker (`python -m playground.generators.vocab`): a Faker that changes its
    lists shows here, not as silently different data."""
    assert VOCAB_FILE.read_text(encoding="utf-8") == render(), "run `python -m playground.generators.vocab` and review"


def test_keep_existing_goes_on_from_what_was_generated_and_never_resets(tmp_path: Path) -> None:
    """The cloud generators' init containers run again whenever the container group restarts: with
    --keep-existing they keep the users, products and orders already there (the trickle's later orders
    included), so ids above bronze's watermark are never reused."""
    args = dataset_args(tmp_path)
    for source, count in (("users", "50"), ("products", "20"), ("orders", "30")):
        playground("generate", source, "--count", count, "--keep-existing", *args)
    users_file = tmp_path / "lake" / "landing" / "users" / "users.json"
    users_bytes = users_file.read_bytes()
    orders_db = tmp_path / "orders.db"
    with sqlite3.connect(orders_db) as con:  # the trickle's order, after the first load
        con.execute('INSERT INTO orders ("orderId", "userId", "orderDate", "orderValue") '
                    "SELECT max(\"orderId\") + 1, 1, '2024-01-01', 9.5 FROM orders")
    users_file.write_bytes(users_bytes + b'{"marker": true}\n')  # what a restart must not overwrite

    for source, count in (("users", "50"), ("products", "20"), ("orders", "30")):
        output = playground("generate", source, "--count", count, "--keep-existing", *args)
        assert source in output
    assert users_file.read_bytes().endswith(b'{"marker": true}\n')
    with sqlite3.connect(orders_db) as con:
        assert con.execute('SELECT count(*), max("orderId") FROM orders').fetchone() == (31, 31)

    # Without it, generation starts afresh.
    playground("generate", "orders", "--count", "30", *args)
    with sqlite3.connect(orders_db) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchone() == (30,)


def test_keep_existing_keeps_only_what_the_same_settings_generated(tmp_path: Path) -> None:
    """What is kept is what these settings would write: another count or dirty rate writes a source afresh,
    and so do orders and events once the users or products they refer to were generated again; events are
    kept only while the bus still holds them."""
    args = [*dataset_args(tmp_path), "--keep-existing"]
    for source, count in (("users", "50"), ("products", "20"), ("orders", "30"), ("pageviews", "200")):
        playground("generate", source, "--count", count, *args)

    def generated() -> dict[str, str]:
        return {source: manifest(tmp_path, source)["generated_at"]
                for source in ("users", "products", "orders", "pageviews", "stars")}

    first = generated()
    for source, count in (("users", "50"), ("products", "20"), ("orders", "30"), ("pageviews", "200")):
        playground("generate", source, "--count", count, *args)
    assert generated() == first and len(events(tmp_path / "events.db", "pageviews")) == 200

    playground("generate", "products", "--count", "25", *args)  # another count
    playground("generate", "orders", "--count", "30", *args)  # the same settings, but they refer to products
    (tmp_path / "events.db").unlink()  # the bus lost its events
    playground("generate", "pageviews", "--count", "200", *args)
    again = generated()
    assert again["users"] == first["users"]
    assert all(again[source] > first[source] for source in ("products", "orders", "pageviews", "stars"))
    assert len(events(tmp_path / "events.db", "pageviews")) == 200
    playground("generate", "orders", "--count", "30", "--dirty-rate", "0.1", *args)  # another dirty rate
    assert manifest(tmp_path, "orders")["dirty_rate"] == 0.1 and generated()["orders"] > again["orders"]
