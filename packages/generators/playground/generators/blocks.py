"""Deterministic randomness: record i's values depend only on (seed, stream, i).

Random numbers are drawn in fixed blocks of RNG_BLOCK records, each from its own seeded
generator, so any range [start, stop) can be produced alone, by any worker, in any chunk size,
and comes out identical.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np

RNG_BLOCK = 8192

Draws = dict[str, np.ndarray]
DrawFn = Callable[[np.random.Generator, int], Draws]


def block_rng(seed: int, stream: str, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(stream.encode()), block])))


def draw_range(draw: DrawFn, seed: int, stream: str, start: int, stop: int) -> Draws:
    """Draws for records [start, stop); arrays keep records on their last axis."""
    first, last = start // RNG_BLOCK, max(start, stop - 1) // RNG_BLOCK
    parts = [draw(block_rng(seed, stream, b), RNG_BLOCK) for b in range(first, last + 1)]
    offset = start - first * RNG_BLOCK
    return {key: np.concatenate([p[key] for p in parts], axis=-1)[..., offset: offset + stop - start]
            for key in parts[0]}


def chunks(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    """Spans of `size` records, made as they are taken: memory stays flat however many there are."""
    return ((lo, min(lo + size, stop)) for lo in range(start, stop, size))
