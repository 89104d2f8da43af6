"""Ordered, bounded parallel map: results come back in input order with a few in flight, so
generation overlaps writing without holding a whole data set in memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

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


def prefetch(items: Iterable[Out], depth: int = 1) -> Generator[Out]:
    """Produce the next items in a background thread while the caller works on the current one."""
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead: deque[Future[Out]] = deque(pool.submit(next, iterator, _END) for _ in range(depth))
        while True:
            item = ahead.popleft().result()
            if item is _END:
                return
            ahead.append(pool.submit(next, iterator, _END))
            yield item


_END: Any = object()
