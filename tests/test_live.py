"""Data that keeps arriving: trickled products and orders, and the live event stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playground.generators.behaviour import Shop
from playground.generators.events import StreamConfig
from playground.generators.live import run_stream, run_trickle
from playground.io.bus.embedded import EmbeddedLog
from playground.io.lake import Lake
from playground.io.orders_db import OrdersDB

from tests.helpers import dataset_args, manifest, playground, table_rows

pytestmark = pytest.mark.e2e


def test_trickle_continues_the_data_set(tmp_path: Path) -> None:
    base = tmp_path / "base"
    playground("generate", "users", "--count", "1000", *dataset_args(base))
    playground("generate", "products", "--count", "20", *dataset_args(base))
    playground("generate", "orders", "--count", "500", *dataset_args(base))
    lake = Lake(str(base / "lake"))
    with OrdersDB(f"sqlite:///{base / 'orders.db'}") as db:
        stats = run_trickle(lake, db, Shop(42, 1000, 0), products_per_s=10, orders_per_s=400, duration_s=1.5)
    assert stats.first_product == 20 and stats.first_order_id == 501
    assert 10 <= stats.products <= 16 and 400 <= stats.orders <= 620

    products = sorted(int(p.stem.split("_")[1]) for p in (base / "lake/landing/products").glob("product_*.json"))
    assert products == list(range(20 + stats.products))
    # A trickled product is the product a one-off generation makes.
    oneoff = tmp_path / "oneoff"
    playground("generate", "products", "--count", str(20 + stats.products), *dataset_args(oneoff))
    last = f"lake/landing/products/product_{19 + stats.products}.json"
    assert (base / last).read_bytes() == (oneoff / last).read_bytes()

    orders = table_rows(base / "orders.db", "SELECT orderId, userId FROM orders ORDER BY orderId")
    assert [o for o, _ in orders] == list(range(1, 501 + stats.orders))
    assert all(0 <= u < 1000 for _, u in orders)
    max_product = table_rows(base / "orders.db", "SELECT max(productId) FROM items")[0][0]
    assert max_product < 20 + stats.products
    assert manifest(base, "orders")["records"] == 500 + stats.orders
    assert manifest(base, "products")["records"] == 20 + stats.products


def test_stream_keeps_its_rate_and_stamps_now(tmp_path: Path) -> None:
    log = EmbeddedLog(str(tmp_path / "events.db"))
    began = datetime.now(UTC)
    stats = run_stream(log, StreamConfig(seed=1, users=1000, products=50, start=None, rate=2000), duration_s=2.0)
    sent = stats.sent["pageviews"] + stats.sent["stars"]
    assert 0.8 * 4000 < sent < 1.2 * 4000
    reader = EmbeddedLog(str(tmp_path / "events.db"), readonly=True)
    records = [r for p in reader.partitions("pageviews") for r in reader.read("pageviews", p, 0, 100_000)]
    assert len(records) == stats.sent["pageviews"]
    for record in records:
        event_time = datetime.fromisoformat(json.loads(record.body)["event_time"])
        assert began <= event_time <= datetime.now(UTC)
        # sent when its event time came, not before
        # sent when its event time came: not before it, and not long after
        assert 0 <= record.enqueued_time - event_time.timestamp() * 1000 < 1_000


def test_stream_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    bus = tmp_path / "events.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "playground.generators.cli", "stream", "--rate", "500", "--bus", str(bus),
         "--lake", str(tmp_path / "lake")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    deadline = time.time() + 60
    while time.time() < deadline and not (bus.exists() and EmbeddedLog(str(bus), readonly=True).end_sequences(
            "pageviews")):
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sent" in err and "pageviews" in err
    reader = EmbeddedLog(str(bus), readonly=True)
    total = sum(reader.end_sequences("pageviews").values())
    assert total > 200
    assert f"sent {total:,} pageviews" in err


def test_a_slow_first_batch_still_streams_for_the_whole_duration(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 38, medium 10: on a loaded machine `stream --duration 3` could send nothing, the clock having
    started before the first batch was ready. The duration counts from the first batch."""
    import playground.generators.live as live

    ready = live.prefetch

    def slow_to_start(batches):  # the first batch takes longer than the whole duration
        for n, batch in enumerate(ready(batches)):
            if n == 0:
                time.sleep(1.5)
            yield batch

    monkeypatch.setattr(live, "prefetch", slow_to_start)
    log = EmbeddedLog(str(tmp_path / "events.db"))
    stats = run_stream(log, StreamConfig(seed=1, users=1000, products=50, start=None, rate=500), duration_s=1.0)
    assert stats.sent["pageviews"] + stats.sent["stars"] >= 500


def test_a_trickle_behind_schedule_stops_at_the_first_signal(tmp_path: Path) -> None:
    """Issue 38, medium 10: `trickle --products-per-s 1e12` ignored SIGTERM, catching up inside its loops."""
    playground("generate", "products", "--count", "20", *dataset_args(tmp_path))
    checks = []

    def stop_soon() -> bool:  # a signal arrives while the trickle catches up
        checks.append(time.time())
        return len(checks) > 3

    with OrdersDB(f"sqlite:///{tmp_path / 'orders.db'}") as db:
        stats = run_trickle(Lake(str(tmp_path / "lake")), db, Shop(42, 1000, 20), products_per_s=100,
                            orders_per_s=100_000, duration_s=60, should_stop=stop_soon)
    assert stats.orders <= 300  # two batches of 100 at most after the signal, not the tick's thousands
