"""Pageview sessions and stars, as the original streamers made them, in event-time order.

A session is one user making 1-30 pageviews from one IP and user agent; sessions start
abs(gauss(10, 5)) s apart at the original pace, and a higher rate means more users at once,
not faster ones. About one session in 50 ends with a star (1-5). 1% of pageviews have an empty
client_ip, 1% a latency outlier of 500-5000 ms, the rest abs(gauss(200, 50)) ms, scaled to the page viewed
(behaviour.py) unless the rules are off.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from playground.catalog import PAGEVIEW_FIELDS, PAGEVIEWS_TOPIC, STAR_FIELDS, STARS_TOPIC
from playground.errors import PlaygroundError
from playground.generators.behaviour import Shop, page_latency
from playground.generators.blocks import RNG_BLOCK, Draws, block_rng
from playground.generators.dirty import CLEAN, DUPLICATE, MALFORMED, MISSING_FIELD, ORPHAN, dirty_plan, orphan_id, spoil
from playground.generators.products import SHOP
from playground.generators.vocab import user_agents, vocab

MAX_PAGEVIEWS = 30
SESSION_GAP_S = (10.0, 5.0)      # gauss(mean, sd) between session starts, at the original pace
THINK_TIME_S = (5.0, 3.0)        # gauss between a session's pageviews
STAR_DELAY_S = (60.0, 30.0)      # gauss from the last pageview to the star
STAR_SHARE = 1 / 50
EMPTY_IP_SHARE = 0.01
OUTLIER_SHARE = 0.01
LATENCY_MS = (200.0, 50.0)
OUTLIER_MS = (500, 5000)
# Pages a shopper visits, with the HTTP method each takes and how often.
SITE_PAGES = (
    ("GET", "product"), ("GET", "/"), ("GET", "/search?q="), ("GET", "/cart"), ("POST", "/cart/items"),
    ("DELETE", "/cart/items"), ("POST", "/checkout"), ("GET", "/account"), ("PUT", "/account"),
)
SITE_PATHS = tuple(path for _, path in SITE_PAGES)
SITE_WEIGHTS = np.array([0.55, 0.10, 0.10, 0.06, 0.08, 0.02, 0.04, 0.03, 0.02])
EVENTS_PER_SESSION = (1 + MAX_PAGEVIEWS) / 2 + STAR_SHARE
ORIGINAL_RATE = EVENTS_PER_SESSION / SESSION_GAP_S[0]  # events/s of the original streamer
EVENT_DIRT = (MALFORMED, MISSING_FIELD, ORPHAN, DUPLICATE)
STAR_SLOT = MAX_PAGEVIEWS  # the star's place after a session's pageview slots
# The stream starts in full swing: sessions begin before the start and only their later events
# are sent. Pre-roll is 10 minutes of sessions, capped so that a huge rate does not wait on it.
PREROLL_S = 600.0
PREROLL_SESSIONS = 200_000


@dataclass(frozen=True)
class StreamConfig:
    seed: int
    users: int
    products: int
    start: datetime | None  # None: live, the stream starts when its first events are ready
    rate: float | None = None  # events/s on average; None: the original pace
    dirty_rate: float = 0.0
    behaviour: bool = True  # the shop's rules (behaviour.py)

    @property
    def concurrency(self) -> float:
        return 1.0 if self.rate is None else self.rate / ORIGINAL_RATE


@dataclass
class EventBatch:
    """Events of both topics in event-time order, as arrays: `keys` are user ids (the partition
    key); `dirt` names, per event, the dirt it was written with (the second copy of a duplicate)."""
    time_us: np.ndarray  # int64
    is_star: np.ndarray  # bool: the stars topic, else pageviews
    keys: np.ndarray  # int64
    bodies: np.ndarray  # object: bytes
    dirt: np.ndarray  # object: str or None

    def __len__(self) -> int:
        return len(self.bodies)

    @property
    def pageviews(self) -> int:
        return int(len(self.is_star) - self.is_star.sum())

    @property
    def stars(self) -> int:
        return int(self.is_star.sum())

    @property
    def topics(self) -> list[str]:
        return np.where(self.is_star, STARS_TOPIC, PAGEVIEWS_TOPIC).tolist()

    def by_topic(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(topic, keys, bodies) of each topic present."""
        masks = ((PAGEVIEWS_TOPIC, ~self.is_star), (STARS_TOPIC, self.is_star))
        return [(topic, self.keys[mask], self.bodies[mask]) for topic, mask in masks if mask.any()]

    def slice(self, lo: int, hi: int) -> EventBatch:
        return EventBatch(self.time_us[lo:hi], self.is_star[lo:hi], self.keys[lo:hi], self.bodies[lo:hi],
                          self.dirt[lo:hi])

    def dirt_counts(self) -> dict[str, Counter]:
        counts: dict[str, Counter] = {PAGEVIEWS_TOPIC: Counter(), STARS_TOPIC: Counter()}
        for i in np.flatnonzero(self.dirt != None):  # noqa: E711 (element-wise on an object array)
            counts[STARS_TOPIC if self.is_star[i] else PAGEVIEWS_TOPIC][self.dirt[i]] += 1
        return counts


def _abs_gauss(rng: np.random.Generator, params: tuple[float, float], shape: int | tuple[int, ...]) -> np.ndarray:
    return np.abs(rng.normal(params[0], params[1], shape))


def _draw_sessions(rng: np.random.Generator, n: int) -> Draws:
    slots = (MAX_PAGEVIEWS + 1, n)
    return {
        "gap": _abs_gauss(rng, SESSION_GAP_S, n),
        "user": rng.random(n),
        "pageviews": rng.integers(1, MAX_PAGEVIEWS + 1, n),
        "ip": rng.integers(1 << 24, 224 << 24, n),  # public-looking unicast range
        "user_agent": rng.integers(0, len(user_agents()), n),
        "think": _abs_gauss(rng, THINK_TIME_S, slots),
        "page": rng.choice(len(SITE_PAGES), size=slots, p=SITE_WEIGHTS),
        "product": rng.random(slots),
        "product_page": rng.integers(0, 3, slots),
        "word": rng.integers(0, len(vocab().words), slots),
        "latency": _abs_gauss(rng, LATENCY_MS, slots),
        "outlier": rng.random(slots) < OUTLIER_SHARE,
        "outlier_ms": rng.integers(OUTLIER_MS[0], OUTLIER_MS[1] + 1, slots),
        "empty_ip": rng.random(slots) < EMPTY_IP_SHARE,
        "star": rng.random(n) < STAR_SHARE,
        "stars": rng.integers(1, 6, n),
        "star_delay": _abs_gauss(rng, STAR_DELAY_S, n),
        "id_hi": rng.integers(0, np.iinfo(np.uint64).max, slots, dtype=np.uint64, endpoint=True),
        "id_lo": rng.integers(0, np.iinfo(np.uint64).max, slots, dtype=np.uint64, endpoint=True),
    }


def _uuids(high: np.ndarray, low: np.ndarray) -> pl.Series:
    """Version-4 UUID strings from two random 64-bit halves each, built column-wise."""
    random_bytes = np.stack([high, low], axis=1).astype(">u8").tobytes()
    hex32 = pl.Series(np.frombuffer(random_bytes.hex().encode(), dtype="S32").astype("U32"))
    return pl.select(pl.concat_str(
        hex32.str.slice(0, 8), pl.lit("-"), hex32.str.slice(8, 4), pl.lit("-4"), hex32.str.slice(13, 3),
        pl.lit("-a"), hex32.str.slice(17, 3), pl.lit("-"), hex32.str.slice(20, 12))).to_series()


class EventStream:
    """Iterates the stream in event-time order, in batches as large as a block of sessions."""

    def __init__(self, config: StreamConfig):
        if config.users <= 0 or config.products <= 0:
            raise PlaygroundError("events need users and products to refer to; generate those first")
        self.config = config
        self.shop = Shop(config.seed, config.users, config.products, behaviour=config.behaviour)
        self.start_us: int | None = None if config.start is None else int(config.start.timestamp() * 1_000_000)

    def _session_events(self, block: int, clock_s: float) -> tuple[pl.DataFrame, float]:
        """Every event of one block of sessions (unsorted), and the start of the block's last session."""
        cfg = self.config
        d = _draw_sessions(block_rng(cfg.seed, "sessions", block), RNG_BLOCK)
        n = RNG_BLOCK
        starts = clock_s + np.cumsum(d["gap"] / cfg.concurrency)
        think = d["think"].copy()
        think[0] = 0.0
        pv_time = starts[None, :] + np.cumsum(think, axis=0)  # (slots, n)
        slot = np.arange(MAX_PAGEVIEWS + 1)[:, None]
        is_pv = slot < d["pageviews"][None, :]
        last_pv = pv_time[d["pageviews"] - 1, np.arange(n)]
        star_time = last_pv + d["star_delay"]
        is_star = (slot == STAR_SLOT) & d["star"][None, :]
        when = np.where(slot == STAR_SLOT, star_time[None, :], pv_time)
        keep = (is_pv | is_star).T  # session-major
        session = np.broadcast_to(block * RNG_BLOCK + np.arange(n), (MAX_PAGEVIEWS + 1, n)).T[keep]
        user = np.minimum((d["user"] * cfg.users).astype(np.int64), cfg.users - 1)
        latency = d["latency"]
        if cfg.behaviour:
            latency = page_latency(SITE_PATHS, d["page"], d["product_page"], latency, LATENCY_MS[0])
        rows = {
            "time_us": (when.T[keep] * 1e6).astype(np.int64),  # from the stream's start
            "session": session,
            "slot": np.broadcast_to(slot, (MAX_PAGEVIEWS + 1, n)).T[keep],
            "user_id": np.broadcast_to(user, (MAX_PAGEVIEWS + 1, n)).T[keep],
            "page": d["page"].T[keep],
            "product": self.shop.popular(d["product"].T[keep]),
            "product_page": d["product_page"].T[keep],
            "word": d["word"].T[keep],
            "latency": np.where(d["outlier"], d["outlier_ms"], np.rint(latency)).astype(np.int64).T[keep],
            "ip": np.broadcast_to(d["ip"], (MAX_PAGEVIEWS + 1, n)).T[keep],
            "empty_ip": d["empty_ip"].T[keep],
            "user_agent": np.broadcast_to(d["user_agent"], (MAX_PAGEVIEWS + 1, n)).T[keep],
            "stars": np.broadcast_to(d["stars"], (MAX_PAGEVIEWS + 1, n)).T[keep],
            "id_hi": d["id_hi"].T[keep],
            "id_lo": d["id_lo"].T[keep],
        }
        return pl.DataFrame(rows), float(starts[-1])

    def batches(self) -> Iterator[EventBatch]:
        pending = None
        concurrency = self.config.concurrency
        clock_s = -min(PREROLL_S, PREROLL_SESSIONS * SESSION_GAP_S[0] / concurrency)
        block = 0
        while True:
            events, horizon_s = self._session_events(block, clock_s)
            clock_s = horizon_s
            block += 1
            pending = events if pending is None else pl.concat([pending, events])
            # No later session starts before the horizon, so events before it are final.
            cut = int(horizon_s * 1e6)
            pending = pending.sort("time_us", "session", "slot")
            ready = pending.filter(pl.col("time_us").is_between(0, cut, closed="left"))
            pending = pending.filter(pl.col("time_us") >= cut)
            if ready.height:
                if self.start_us is None:
                    self.start_us = int(time.time() * 1_000_000)
                yield self._encode(ready.with_columns(pl.col("time_us") + self.start_us))

    def _encode(self, events: pl.DataFrame) -> EventBatch:
        cfg = self.config
        v = vocab()
        col = pl.col
        methods = pl.Series([m for m, _ in SITE_PAGES])
        paths = pl.Series([p for _, p in SITE_PAGES])
        ip = col("ip")
        frame = events.with_columns(
            event_id=_uuids(events["id_hi"].to_numpy(), events["id_lo"].to_numpy()),
            event_time=pl.from_epoch("time_us", "us").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            http_method=methods.gather(events["page"]),
            path=paths.gather(events["page"]),
            user_agent=user_agents().gather(events["user_agent"]),
            word=v.words.gather(events["word"]),
        ).with_columns(
            uri=pl.when(col("path") == "product").then(pl.concat_str(
                pl.lit(f"{SHOP}/products/"), col("product").cast(pl.String),
                pl.when(col("product_page") == 1).then(pl.lit("/reviews"))
                .when(col("product_page") == 2).then(pl.lit("/specs")).otherwise(pl.lit(""))))
            .when(col("path") == "/search?q=").then(pl.concat_str(pl.lit(SHOP + "/search?q="), "word"))
            .otherwise(pl.concat_str(pl.lit(SHOP), "path")),
            client_ip=pl.when("empty_ip").then(pl.lit("")).otherwise(pl.concat_str(
                (ip // (1 << 24)).cast(pl.String), pl.lit("."), (ip // (1 << 16) % 256).cast(pl.String), pl.lit("."),
                (ip // (1 << 8) % 256).cast(pl.String), pl.lit("."), (ip % 256).cast(pl.String))),
        )
        is_star = (frame["slot"] == STAR_SLOT).to_numpy()
        bodies = np.empty(len(is_star), dtype=object)
        for mask, fields in ((~is_star, PAGEVIEW_FIELDS), (is_star, STAR_FIELDS)):
            encoded = frame.filter(pl.lit(mask)).select(pl.struct(*fields).struct.json_encode().cast(pl.Binary))
            bodies[mask] = np.asarray(encoded.to_series().to_list(), dtype=object)
        batch = EventBatch(frame["time_us"].to_numpy(), is_star, frame["user_id"].to_numpy(), bodies,
                           np.full(len(bodies), None, dtype=object))
        if cfg.dirty_rate > 0:
            batch = self._spoil(batch, frame)
        return batch

    def _spoil(self, batch: EventBatch, frame: pl.DataFrame) -> EventBatch:
        """Planned per event (session, slot), so the dirt does not depend on batch boundaries."""
        cfg = self.config
        positions = (frame["session"] * (MAX_PAGEVIEWS + 1) + frame["slot"]).to_numpy()
        lo, hi = int(positions.min()), int(positions.max()) + 1
        full = dirty_plan(cfg.seed, "events", lo, hi, cfg.dirty_rate, EVENT_DIRT)
        plan = full[positions - lo]

        def orphan(record: dict) -> None:
            record["user_id"] = orphan_id(record["user_id"])

        # Each event is written once, or twice (a duplicate), in place.
        repeat = np.where(plan == EVENT_DIRT.index(DUPLICATE), 2, 1)
        at = np.repeat(np.arange(len(batch)), repeat)
        out = EventBatch(batch.time_us[at], batch.is_star[at], batch.keys[at], batch.bodies[at], batch.dirt[at])
        first_copy = np.cumsum(repeat) - repeat
        for i in np.flatnonzero(plan != CLEAN):
            kind = EVENT_DIRT[plan[i]]
            lines = spoil(json.loads(batch.bodies[i]), kind, int(positions[i]), orphan, "event_id")
            for k, line in enumerate(lines):
                out.bodies[first_copy[i] + k] = line.encode()
            out.dirt[first_copy[i] + len(lines) - 1] = kind
        return out
