"""The same seed gives byte-identical output whatever the chunk size or number of workers."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import dataset_args, events, playground, table_rows


def snapshot(root: Path) -> dict[str, object]:
    lake = root / "lake" / "landing"
    return {
        "users": (lake / "users" / "users.json").read_bytes(),
        "vip": (lake / "vipusers" / "vipusers.json").read_bytes(),
        "products": {p.name: p.read_bytes() for p in (lake / "products").iterdir()
                     if not p.name.startswith("_")},  # the write log is bookkeeping, in the order files were written
        "orders": table_rows(root / "orders.db", "SELECT * FROM orders ORDER BY orderId"),
        "items": table_rows(root / "orders.db", "SELECT * FROM items ORDER BY orderId, rowId"),
        "pageviews": events(root / "events.db", "pageviews"),
        "stars": events(root / "events.db", "stars"),
    }


def test_same_seed_same_bytes_across_chunks_and_workers(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    common = ["--scale", "small", "--seed", "9", "--dirty-rate", "0.02"]
    playground("generate", "all", *common, "--chunk-size", "65536", "--workers", "2", *dataset_args(a))
    playground("generate", "all", *common, "--chunk-size", "999", "--workers", "1", *dataset_args(b))
    playground("generate", "all", *common, "--chunk-size", "4096", "--workers", "3", *dataset_args(c))
    first = snapshot(a)
    assert first == snapshot(b)
    assert first == snapshot(c)
    assert len(first["products"]) == 1_000 and len(first["orders"]) == 100_000


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    playground("generate", "users", "--count", "50", "--seed", "1", *dataset_args(tmp_path / "a"))
    playground("generate", "users", "--count", "50", "--seed", "2", *dataset_args(tmp_path / "b"))
    users = "lake/landing/users/users.json"
    assert (tmp_path / "a" / users).read_bytes() != (tmp_path / "b" / users).read_bytes()
