"""Ordered, bounded parallel map: results come back in input order with a few in flight, so
generation overlaps writing without holding a whole data set in memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def ordered_map(fn: Callable[[In], Out], items: Iterable[In], workers: int) -> Iterator[Out]:
    """Threads suffice: numpy, polars and the database drivers release the GIL in their hot loops."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        in_flight: deque[Future[Out]] = deque()
        for item in items:
            in_flight.append(pool.submit(fn, item))
            if len(in_flight) > workers:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()
