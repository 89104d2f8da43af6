"""The embedded event log: Event Hubs' model (topics, partitions, offsets, sequence numbers,
enqueued time) in one SQLite file in WAL mode.

One process appends; any number of readers in other processes read committed batches
concurrently and see each batch whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from generators.errors import PlaygroundError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    sequence_number INTEGER NOT NULL,
    offset INTEGER NOT NULL,          -- byte position in the partition, as Event Hubs reports it
    enqueued_time INTEGER NOT NULL,   -- milliseconds since the epoch, UTC
    body BLOB NOT NULL,
    PRIMARY KEY (topic, partition, sequence_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_sequence INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""


@dataclass(frozen=True)
class EventRecord:
    topic: str
    partition: int
    sequence_number: int
    offset: int
    enqueued_time: int
    body: bytes


class EmbeddedLog:
    def __init__(self, path: str, partitions: int = 2, readonly: bool = False):
        if partitions < 1:
            raise PlaygroundError(f"an event log needs at least one partition, got {partitions}")
        self.path = path
        self.default_partitions = partitions
        try:
            if readonly:
                if not os.path.exists(path):
                    raise PlaygroundError(f"event log {path} does not exist; start `playground stream` first")
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            else:
                folder = os.path.dirname(os.path.abspath(path))
                os.makedirs(folder, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise PlaygroundError(f"cannot open event log {path}: {exc}. Choose a writable --bus path") from exc

    def partitions(self, topic: str) -> list[int]:
        rows = self.db.execute("SELECT partition FROM partitions WHERE topic = ? ORDER BY partition",
                               (topic,)).fetchall()
        return [r[0] for r in rows]

    def send(self, topic: str, keys: Sequence[int], bodies: Sequence[bytes]) -> None:
        if not bodies:
            return
        enqueued = int(time.time() * 1000)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            state = {p: [s, o] for p, s, o in db.execute(
                "SELECT partition, next_sequence, next_offset FROM partitions WHERE topic = ?", (topic,))}
            if not state:
                state = {p: [0, 0] for p in range(self.default_partitions)}
            n = len(state)
            rows = []
            for key, body in zip(keys, bodies, strict=True):
                partition = key % n
                cursor = state[partition]
                rows.append((topic, partition, cursor[0], cursor[1], enqueued, body))
                cursor[0] += 1
                cursor[1] += len(body)
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT OR REPLACE INTO partitions VALUES (?, ?, ?, ?)",
                           [(topic, p, s, o) for p, (s, o) in state.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def end_sequences(self, topic: str) -> dict[int, int]:
        """Per partition, the sequence number the next event will get."""
        return dict(self.db.execute("SELECT partition, next_sequence FROM partitions WHERE topic = ?", (topic,)))

    def read(self, topic: str, partition: int, from_sequence: int, limit: int = 10_000) -> list[EventRecord]:
        rows = self.db.execute(
            "SELECT topic, partition, sequence_number, offset, enqueued_time, body FROM events "
            "WHERE topic = ? AND partition = ? AND sequence_number >= ? ORDER BY sequence_number LIMIT ?",
            (topic, partition, from_sequence, limit))
        return [EventRecord(*row) for row in rows]

    def close(self) -> None:
        self.db.close()
