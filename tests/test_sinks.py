"""Round trips through every sink: local lake, Azure Blob (Azurite), SQLite, PostgreSQL, Kafka
(mock cluster) and the embedded log read by another process while it is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from playground.io.bus.embedded import EmbeddedLog
from playground.io.lake import Lake

from tests.helpers import dataset_args, events, playground, table_rows

pytestmark = pytest.mark.e2e


def test_local_lake_layout(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "100", *dataset_args(tmp_path))
    playground("generate", "products", "--count", "5", *dataset_args(tmp_path))
    lake = Lake(str(tmp_path / "lake"))
    assert lake.list("landing/products") == [f"product_{i}.json" for i in (0, 1, 2, 3, 4)]
    assert lake.list("landing") == ["products", "users", "vipusers"]  # _manifests is bookkeeping, not data
    assert len(lake.read_bytes("landing/users/users.json").splitlines()) == 100
    assert not list((tmp_path / "lake").rglob("*.inprogress"))


def test_azure_blob_lake_round_trip(tmp_path: Path, azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite)
    service.create_container("landing")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    local = tmp_path / "local"
    playground("generate", "users", "--count", "2000", "--seed", "4", *dataset_args(local))
    playground("generate", "products", "--count", "20", "--seed", "4", *dataset_args(local))
    args = dataset_args(tmp_path)
    args[args.index("--lake") + 1] = "abfs://"
    playground("generate", "users", "--count", "2000", "--seed", "4", *args)
    playground("generate", "products", "--count", "20", "--seed", "4", *args)
    container = service.get_container_client("landing")
    blob = container.download_blob("users/users.json").readall()
    assert blob == (local / "lake/landing/users/users.json").read_bytes()
    names = sorted(b.name for b in container.list_blobs(name_starts_with="products/"))
    assert len(names) == 20
    assert container.download_blob("products/product_7.json").readall() == \
        (local / "lake/landing/products/product_7.json").read_bytes()
    manifest = json.loads(container.download_blob("_manifests/products.json").readall())
    assert manifest["records"] == 20 and manifest["location"].startswith("abfs://")
    assert Lake("abfs://").list("landing/products")[:2] == ["product_0.json", "product_1.json"]


def test_postgres_matches_sqlite(tmp_path: Path, postgres_url: str) -> None:
    import sqlalchemy as sa

    playground("generate", "orders", "--count", "20000", "--seed", "6", *dataset_args(tmp_path))
    args = dataset_args(tmp_path)
    args[args.index("--orders-url") + 1] = postgres_url
    playground("generate", "orders", "--count", "20000", "--seed", "6", *args)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        pg_orders = conn.execute(sa.text('SELECT "orderId", "userId", "orderDate", "orderValue" FROM orders '
                                         'ORDER BY "orderId"')).all()
        pg_items = conn.execute(sa.text('SELECT * FROM items ORDER BY "orderId", "rowId"')).all()
    sqlite_orders = table_rows(tmp_path / "orders.db", "SELECT * FROM orders ORDER BY orderId")
    assert len(pg_orders) == 20_000
    assert [(o, u, d.strftime("%Y-%m-%d %H:%M:%S.%f"), v) for o, u, d, v in pg_orders] == sqlite_orders
    assert [tuple(r) for r in pg_items] == table_rows(tmp_path / "orders.db",
                                                      "SELECT * FROM items ORDER BY orderId, rowId")


def test_kafka_mock_cluster_round_trip(tmp_path: Path, kafka_bootstrap: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    playground("generate", "pageviews", "--count", "3000", "--seed", "8", *dataset_args(tmp_path))
    args = dataset_args(tmp_path)
    args[args.index("--bus") + 1] = f"kafka://{kafka_bootstrap}"
    playground("generate", "pageviews", "--count", "3000", "--seed", "8", *args)
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": "test", "enable.auto.commit": False})
    received: dict[str, Counter] = {"pageviews": Counter(), "stars": Counter()}
    keys_by_partition: dict[tuple[str, int], set[bytes]] = {}
    for topic in received:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        idle = 0
        while idle < 10:
            message = consumer.poll(0.5)
            if message is None:
                idle += 1
                continue
            assert message.error() is None, message.error()
            received[topic][message.value()] += 1
            keys_by_partition.setdefault((topic, message.partition()), set()).add(message.key())
    consumer.close()
    for topic in received:
        expected = Counter(body for _, _, body in events(tmp_path / "events.db", topic))
        assert received[topic] == expected, topic
    assert sum(received["pageviews"].values()) == 3_000
    pv_keys = [keys for (topic, _), keys in keys_by_partition.items() if topic == "pageviews"]
    assert len(pv_keys) > 1
    assert sum(map(len, pv_keys)) == len(set().union(*pv_keys))  # a user's events stay in one partition


def test_embedded_log_read_by_another_process_while_written(tmp_path: Path) -> None:
    bus = tmp_path / "events.db"
    playground("generate", "users", "--count", "1000", *dataset_args(tmp_path))
    playground("generate", "products", "--count", "50", *dataset_args(tmp_path))
    writer = subprocess.Popen(
        [sys.executable, "-m", "playground.generators.cli", "stream", "--rate", "3000", "--duration", "6",
         "--seed", "5", "--bus", str(bus), "--lake", str(tmp_path / "lake")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    while not bus.exists():
        time.sleep(0.05)
    log = EmbeddedLog(str(bus), readonly=True)
    next_sequence: dict[tuple[str, int], int] = {}
    seen_while_running = []
    caught_up = False
    while not caught_up:
        running = writer.poll() is None
        caught_up = not running
        for topic in ("pageviews", "stars"):
            for partition in log.partitions(topic):
                start = next_sequence.get((topic, partition), 0)
                records = log.read(topic, partition, start, limit=5_000)
                caught_up = caught_up and len(records) < 5_000
                for record in records:
                    assert record.sequence_number == start  # contiguous, nothing torn or skipped
                    json.loads(record.body)
                    start += 1
                next_sequence[(topic, partition)] = start
        seen_while_running.append((running, sum(next_sequence.values())))
        time.sleep(0.2 if running else 0)
    _, err = writer.communicate()
    assert writer.returncode == 0, err
    counts = [n for running, n in seen_while_running if running]
    assert len(set(counts)) > 3, "the reader should see the log grow while it is written"
    total = sum(log.end_sequences("pageviews").values()) + sum(log.end_sequences("stars").values())
    assert sum(next_sequence.values()) == total
    assert 0.8 * 3000 * 6 < total < 1.2 * 3000 * 6  # the stream starts in full swing
    log.close()


def test_a_reader_of_a_log_still_being_created_sees_it_empty(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "events.db"
    sqlite3.connect(path).close()  # the producer has created the file, not yet its tables
    log = EmbeddedLog(str(path), readonly=True)
    assert log.partitions("pageviews") == [] and log.end_sequences("pageviews") == {}
    assert log.read("pageviews", 0, 0) == []
