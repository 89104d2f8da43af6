"""The embedded event log: Event Hubs' model (topics, partitions, offsets, sequence numbers,
enqueued time) in one SQLite file in WAL mode.

Events are stored as segments, runs of consecutive events of one partition, as Kafka stores
record batches: a row per event would cap the log at SQLite's ~100k rows/s on this hardware.
One process appends; any number of readers in other processes read committed batches
concurrently and see each batch whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from playground.errors import PlaygroundError

SEGMENT_EVENTS = 10_000
EMPTY_EVENTS = pa.schema([("topic", pa.string()), ("partition", pa.int32()), ("sequence_number", pa.int64()),
                          ("offset", pa.int64()), ("enqueued_ms", pa.int64()),
                          ("body", pa.large_binary())]).empty_table()

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    first_sequence INTEGER NOT NULL,
    last_sequence INTEGER NOT NULL,
    first_offset INTEGER NOT NULL,    -- byte position in the partition, as Event Hubs reports it
    enqueued_time INTEGER NOT NULL,   -- milliseconds since the epoch, UTC
    lengths BLOB NOT NULL,            -- each event's body length, little-endian int32
    bodies BLOB NOT NULL,             -- the bodies, back to back
    UNIQUE (topic, partition, first_sequence)
);
CREATE TABLE IF NOT EXISTS partitions (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_sequence INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""

# From the segment holding a sequence number on: the index finds it at once, where `last_sequence >= ?`
# alone read every earlier segment of the partition (reads slowed as the log grew).
FROM_SEGMENT = """first_sequence >= coalesce((SELECT max(first_sequence) FROM segments
    WHERE topic = ? AND partition = ? AND first_sequence <= ?), 0)"""


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

    def _select(self, sql: str, params: tuple) -> sqlite3.Cursor | list:
        """A query, or nothing while the producer has not yet created the log's tables."""
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise

    def partitions(self, topic: str) -> list[int]:
        rows = self._select("SELECT partition FROM partitions WHERE topic = ? ORDER BY partition", (topic,))
        return [r[0] for r in rows]

    def send(self, topic: str, keys: Sequence[int] | np.ndarray, bodies: Sequence[bytes] | np.ndarray,
             enqueued_time: int | None = None) -> None:
        """Append a batch; `enqueued_time` (ms since the epoch) replays a recorded stream, else now: stamped,
        as Event Hubs stamps on append, once the write lock is held and never before the partition's last
        stamp, so each partition's enqueued times follow its order whatever producers race."""
        if len(bodies) == 0:
            return
        keys = np.asarray(keys, dtype=np.int64)
        bodies = np.asarray(bodies, dtype=object)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            now = int(time.time() * 1000)
            state = {p: [s, o] for p, s, o in db.execute(
                "SELECT partition, next_sequence, next_offset FROM partitions WHERE topic = ?", (topic,))}
            if not state:
                state = {p: [0, 0] for p in range(self.default_partitions)}
            partition_of = keys % len(state)
            rows = []
            for partition, cursor in state.items():
                group = bodies[partition_of == partition]
                if not len(group):
                    continue
                enqueued = enqueued_time if enqueued_time is not None else max(now, self._last_stamp(topic, partition))
                lengths = np.fromiter(map(len, group), dtype="<i4", count=len(group))
                for lo in range(0, len(group), SEGMENT_EVENTS):
                    part, part_lengths = group[lo: lo + SEGMENT_EVENTS], lengths[lo: lo + SEGMENT_EVENTS]
                    rows.append((topic, partition, cursor[0], cursor[0] + len(part) - 1, cursor[1], enqueued,
                                 part_lengths.tobytes(), b"".join(part)))
                    cursor[0] += len(part)
                    cursor[1] += int(part_lengths.sum())
            db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT OR REPLACE INTO partitions VALUES (?, ?, ?, ?)",
                           [(topic, p, s, o) for p, (s, o) in state.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _last_stamp(self, topic: str, partition: int) -> int:
        last = self.db.execute("SELECT enqueued_time FROM segments WHERE topic = ? AND partition = ? "
                               "ORDER BY first_sequence DESC LIMIT 1", (topic, partition)).fetchone()
        return last[0] if last else 0

    def end_sequences(self, topic: str) -> dict[int, int]:
        """Per partition, the sequence number the next event will get."""
        return dict(self._select("SELECT partition, next_sequence FROM partitions WHERE topic = ?", (topic,)))

    def read(self, topic: str, partition: int, from_sequence: int, limit: int = 10_000) -> list[EventRecord]:
        """Up to `limit` events of one partition from `from_sequence` on, in order."""
        records: list[EventRecord] = []
        segments = self._select(
            "SELECT first_sequence, first_offset, enqueued_time, lengths, bodies FROM segments "
            f"WHERE topic = ? AND partition = ? AND last_sequence >= ? AND {FROM_SEGMENT} ORDER BY first_sequence",
            (topic, partition, from_sequence, topic, partition, from_sequence))
        for first_sequence, first_offset, enqueued, lengths, bodies in segments:
            ends = np.cumsum(np.frombuffer(lengths, dtype="<i4")).tolist()
            start = 0
            for k, end in enumerate(ends):
                sequence = first_sequence + k
                if sequence >= from_sequence:
                    records.append(EventRecord(topic, partition, sequence, first_offset + start, enqueued,
                                               bodies[start:end]))
                    if len(records) == limit:
                        return records
                start = end
        return records

    def read_table(self, topic: str, partition: int, from_sequence: int, to_sequence: int) -> pa.Table:
        """Events [from_sequence, to_sequence) of one partition as Arrow columns, bodies unparsed:
        the segments' buffers become Arrow arrays without a Python object per event. The events of a
        damaged segment (its lengths do not match its bodies) come with a NULL body, for the reader to
        quarantine by their sequence numbers while the rest flows."""
        segments = self._select(
            "SELECT first_sequence, last_sequence, first_offset, enqueued_time, lengths, bodies FROM segments "
            f"WHERE topic = ? AND partition = ? AND last_sequence >= ? AND first_sequence < ? AND {FROM_SEGMENT} "
            "ORDER BY first_sequence", (topic, partition, from_sequence, to_sequence, topic, partition, from_sequence))
        # One Arrow array a column, built for all segments at once: a producer at a high rate writes a
        # few events a segment, and DuckDB scans thousands of tiny chunks ~50x slower than one.
        rows = list(segments)
        if not rows:
            return EMPTY_EVENTS
        firsts, lasts, first_offsets, enqueued, lengths, bodies = zip(*rows, strict=True)
        counts = np.array(lasts, dtype=np.int64) - np.array(firsts, dtype=np.int64) + 1
        whole = np.array([len(b) == 4 * c for b, c in zip(lengths, counts.tolist(), strict=True)])
        sizes = np.concatenate([np.frombuffer(b, dtype="<i4") if ok else np.full(c, -1, dtype="<i4")
                                for b, c, ok in zip(lengths, counts.tolist(), whole.tolist(), strict=True)]
                               ).astype(np.int64)
        segment = np.repeat(np.arange(len(rows)), counts)  # each event's segment
        starts_at = np.concatenate(([0], np.cumsum(counts)[:-1]))  # each segment's first event
        body_bytes = np.add.reduceat(np.maximum(sizes, 0), starts_at)
        damaged = ~whole | (np.minimum.reduceat(sizes, starts_at) < 0) | \
            (body_bytes != np.array([len(b) for b in bodies], dtype=np.int64))
        within = np.cumsum(np.maximum(sizes, 0)) - np.maximum(sizes, 0)  # each event's start in all bodies
        offset = np.array(first_offsets, dtype=np.int64)[segment] + within - np.repeat(within[starts_at], counts)
        sequence = np.array(firsts, dtype=np.int64)[segment] + np.arange(len(sizes)) - np.repeat(starts_at, counts)
        taken = (sequence >= from_sequence) & (sequence < to_sequence)
        sizes = np.where(damaged[segment], -1, sizes)
        data = b"".join(b for b, bad in zip(bodies, damaged.tolist(), strict=True) if not bad)
        kept = np.maximum(sizes, 0)  # bytes of each event in `data` (none of a damaged segment)
        ends = np.cumsum(kept)
        sizes, sequence, segment = sizes[taken], sequence[taken], segment[taken]
        body_ends = np.concatenate(([0], np.cumsum(np.maximum(sizes, 0))))
        first, last = np.flatnonzero(taken)[[0, -1]] if taken.any() else (0, -1)
        picked = data[ends[first] - kept[first]: ends[last]] if taken.any() else b""  # the range's bodies, in order
        valid = sizes >= 0
        body = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(sizes),
            [None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little")), pa.py_buffer(body_ends),
             pa.py_buffer(picked)])
        return pa.table({"topic": pa.repeat(pa.scalar(topic), len(sizes)),
                         "partition": pa.array(np.full(len(sizes), partition, dtype=np.int32)),
                         "sequence_number": sequence, "offset": offset[taken],
                         "enqueued_ms": np.array(enqueued, dtype=np.int64)[segment], "body": body})

    def close(self) -> None:
        self.db.close()
