"""Data-set sizes: named scales, explicit counts that override them, and how generation is paced.

Light on purpose: the CLI reads these defaults before it imports any generator."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from playground.catalog import SCALE_NAMES, SOURCES
from playground.errors import PlaygroundError

DEFAULT_CHUNK = 65_536  # records per chunk: memory is bounded by it
DEFAULT_WORKERS = os.cpu_count() or 2
DEFAULT_START = datetime(2022, 8, 13, tzinfo=UTC)  # event time of a generated (not live) stream


@dataclass(frozen=True)
class Sizes:
    """Records of each counted source of the catalog (sizes.users, sizes.orders, ...)."""

    counts: dict[str, int]

    def __getattr__(self, source: str) -> int:
        if not source.startswith("_") and source in self.counts:
            return self.counts[source]
        raise AttributeError(source)

    def with_count(self, source: str, count: int | None) -> Sizes:
        if count is None:
            return self
        if count < 0:
            raise PlaygroundError(f"the count of {source} must be >= 0, got {count}")
        if source not in self.counts:
            raise PlaygroundError(f"--count applies to one source; got source {source!r}")
        return Sizes({**self.counts, source: count})


def sizes_for(scale: str) -> Sizes:
    """Each counted source's records at a scale, as the catalog says."""
    if scale not in SCALE_NAMES:
        raise PlaygroundError(f"unknown scale {scale!r}; choose one of {', '.join(SCALE_NAMES)}")
    return Sizes({name: source.counts[scale] for name, source in SOURCES.items() if source.counts})
