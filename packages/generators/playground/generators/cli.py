"""`playground`: generate the data set, stream events, trickle new products and orders.

A command imports the generators and sinks it uses when it runs (numpy, polars, Faker and SQLAlchemy
take about a second to import), so `--help` answers at once."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console

from playground.catalog import GENERATIONS
from playground.errors import PlaygroundError
from playground.generators.scales import DEFAULT_CHUNK, DEFAULT_START, DEFAULT_WORKERS, sizes_for

if TYPE_CHECKING:
    from playground.generators.run import Manifest

DEFAULT_LAKE = "data/lake"
DEFAULT_ORDERS_URL = "sqlite:///data/orders.db"
DEFAULT_BUS = "data/events.db"

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Generate, stream and trickle the playground's e-commerce data.")
console = Console(stderr=True)


# What `generate` takes: the source leading each generation of the catalog (users come with VIP users,
# orders with their items, pageviews with stars), or all of them.
CHOICES = (*(sources[0] for sources in GENERATIONS.values()), "all")


LakeOpt = Annotated[str, typer.Option(envvar="PLAYGROUND_LAKE", help="Lake root: a folder or abfs:// URL.")]
OrdersOpt = Annotated[str, typer.Option(envvar="PLAYGROUND_ORDERS_URL", help="SQLAlchemy URL of the orders DB.")]
BusOpt = Annotated[str, typer.Option(envvar="PLAYGROUND_BUS", help=(
    "Event bus: a file (embedded log), kafka://host:port, eventhubs or eventhubs-amqp "
    "(connection string in EVENTHUBS_CONNECTION_STRING)."))]
ScaleOpt = Annotated[str, typer.Option(help="small, medium or large.")]
DirtyOpt = Annotated[float, typer.Option(help="Share of dirty records (malformed, missing fields, orphans, "
                                               "duplicates); counted in landing/_manifests/.")]
PlainOpt = Annotated[bool, typer.Option(help="Without the shop's behaviour (README: Behaviour): users, dates, "
                                             "products and latencies drawn uniformly, as the original did.")]


@contextmanager
def progress_bars(quiet: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    if quiet:
        yield lambda description, total: (lambda advance: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bars:
        def start(description: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(description, total=total)
            return lambda advance: bars.advance(task, advance)

        yield start


def _fail(error: PlaygroundError) -> None:
    console.print(f"[bold red]error:[/] {error}")
    raise typer.Exit(2)


def _summary(manifests: list[Manifest], elapsed: float) -> None:
    from rich.table import Table

    table = Table(title=f"Generated in {elapsed:.1f} s", title_justify="left")
    for column in ("source", "records", "written", "dirty", "where"):
        table.add_column(column, justify="right" if column in ("records", "written") else "left")
    for m in manifests:
        dirt = ", ".join(f"{k} {v:,}" for k, v in sorted(m.dirty.items()) if k != "items") or "-"
        table.add_row(m.source, f"{m.records:,}", f"{m.written:,}", dirt, m.location)
        if "items" in m.dirty:
            table.add_row("items", f"{m.dirty['items']:,}", f"{m.dirty['items']:,}", "-", m.location)
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PlaygroundError(f"--start {text!r} is not an ISO-8601 time such as 2022-08-13T00:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def generate(
    source: Annotated[str, typer.Argument(help=f"What to generate: {', '.join(CHOICES)} (users includes the VIP "
                                               "list).", click_type=click.Choice(CHOICES))],
    scale: ScaleOpt = "small",
    count: Annotated[int | None, typer.Option(help="Records of SOURCE, overriding the scale.")] = None,
    vip_count: Annotated[int | None, typer.Option(help="VIP users (with users), overriding the scale.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes.")] = 42,
    lake: LakeOpt = DEFAULT_LAKE,
    orders_url: OrdersOpt = DEFAULT_ORDERS_URL,
    bus: BusOpt = DEFAULT_BUS,
    dirty_rate: DirtyOpt = 0.0,
    chunk_size: Annotated[int, typer.Option(help="Records per chunk (memory is bounded by it).")] = DEFAULT_CHUNK,
    workers: Annotated[int, typer.Option(help="Parallel chunk builders.")] = DEFAULT_WORKERS,
    start: Annotated[str, typer.Option(help="Event time of the first pageview.")] = DEFAULT_START.isoformat(),
    rate: Annotated[float | None, typer.Option(help="Events per second of event time (default: the "
                                                    "original's pace, ~1.5/s).")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
    plain: PlainOpt = False,
    keep_existing: Annotated[bool, typer.Option(
        help="Keep what the same settings generated earlier (seed, count, dirty rate: the manifests in the lake, "
             "the orders in the DB, the events on the bus) instead of writing it afresh: a restarted container "
             "goes on, never resets.")] = False,
) -> None:
    """Write a fresh data set for SOURCE (or all) into the lake, the orders DB and the event bus."""
    began = time.perf_counter()
    from playground.generators.dirty import check_rate
    from playground.generators.rates import MAX_EVENTS_PER_S, check_bounded
    from playground.generators.room import check_room
    from playground.generators.run import Generation, counts_of, land, no_progress
    from playground.io.lake import Lake

    manifests: list[Manifest] = []
    try:
        if chunk_size < 1 or workers < 1:
            raise PlaygroundError("--chunk-size and --workers must be at least 1")
        check_rate(dirty_rate)
        check_bounded("--rate", rate, MAX_EVENTS_PER_S)
        sizes = sizes_for(scale)
        if count is not None:
            if source == "all":
                raise PlaygroundError("--count applies to one source; use --scale for all")
            sizes = sizes.with_count(source, count)
        sizes = sizes.with_count("vip_users", vip_count)
        the_lake = Lake(lake)
        chosen = [generation for generation, sources in GENERATIONS.items()
                  if source in ("all", sources[0])]
        run = Generation(the_lake, orders_url, bus, seed, sizes, dirty_rate, chunk_size, workers, no_progress,
                         _parse_time(start), rate, keep_existing, behaviour=not plain)
        if not all(run.kept(generation) for generation in chosen):  # nothing to write, no room needed
            check_room({name: n for generation in chosen for name, n in counts_of(generation, sizes).items()},
                       the_lake, orders_url, bus)
        the_lake.check_writable()
        with progress_bars(quiet) as progress:
            for generation in chosen:
                manifests += land(replace(run, progress=progress), generation)
    except PlaygroundError as error:
        _fail(error)
    _summary(manifests, time.perf_counter() - began)


@contextmanager
def _stop_on_signals() -> Iterator[Callable[[], bool]]:
    """Ctrl-C or SIGTERM ends the loop between batches, so what was sent stays whole."""
    stopping = []

    def handler(signum: int, frame: object) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(stopping)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@app.command()
def stream(
    rate: Annotated[float | None, typer.Option(help="Events per second (default: the original's ~1.5/s).")] = None,
    duration: Annotated[float | None, typer.Option(help="Seconds to run (default: until Ctrl-C).")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Default: from the clock (printed), so runs differ.")] = None,
    bus: BusOpt = DEFAULT_BUS,
    lake: LakeOpt = DEFAULT_LAKE,
    scale: ScaleOpt = "small",
    partitions: Annotated[int, typer.Option(help="Partitions of a new embedded-log topic.")] = 2,
    dirty_rate: DirtyOpt = 0.0,
    plain: PlainOpt = False,
) -> None:
    """Stream pageview sessions and stars live, each event stamped with the time it is sent."""
    from playground.generators.dirty import check_rate
    from playground.generators.events import StreamConfig
    from playground.generators.live import run_stream
    from playground.generators.rates import MAX_DURATION_S, MAX_EVENTS_PER_S, check_bounded
    from playground.generators.run import population
    from playground.io.bus import open_bus
    from playground.io.lake import Lake

    try:
        check_bounded("--rate", rate, MAX_EVENTS_PER_S)
        check_bounded("--duration", duration, MAX_DURATION_S)
        check_rate(dirty_rate)
        seed = seed if seed is not None else int(time.time())
        shop = population(Lake(lake), sizes_for(scale), seed)
        users, products = shop.users, shop.products
        the_bus = open_bus(bus, partitions)
        config = StreamConfig(seed, users, products, None, rate, dirty_rate, behaviour=not plain)
        console.print(f"streaming to {bus} (seed {seed}, {rate or 'original pace'} events/s, "
                      f"{users:,} users, {products:,} products); Ctrl-C stops")
        with _stop_on_signals() as should_stop:
            stats = run_stream(the_bus, config, duration, should_stop)
    except PlaygroundError as error:
        _fail(error)
    console.print(f"sent {stats.sent['pageviews']:,} pageviews and {stats.sent['stars']:,} stars"
                  + (f"; fell behind schedule by up to {stats.behind_s:.1f} s" if stats.behind_s > 1 else ""))


@app.command()
def trickle(
    products_per_s: Annotated[float, typer.Option(help="New product files per second.")] = 0.2,
    orders_per_s: Annotated[float, typer.Option(help="New orders per second (inserted 100 at a time).")] = 20.0,
    duration: Annotated[float | None, typer.Option(help="Seconds to run (default: until Ctrl-C).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same products and orders.")] = 42,
    lake: LakeOpt = DEFAULT_LAKE,
    orders_url: OrdersOpt = DEFAULT_ORDERS_URL,
    scale: ScaleOpt = "small",
    dirty_rate: DirtyOpt = 0.0,
    plain: PlainOpt = False,
) -> None:
    """Keep products and orders arriving, continuing the data set where it ends."""
    from playground.generators.dirty import check_rate
    from playground.generators.live import run_trickle
    from playground.generators.rates import MAX_DURATION_S, MAX_ORDERS_PER_S, MAX_PRODUCTS_PER_S, check_bounded
    from playground.generators.run import population
    from playground.io.lake import Lake
    from playground.io.orders_db import OrdersDB

    try:
        check_bounded("--products-per-s", products_per_s, MAX_PRODUCTS_PER_S, zero=True)
        check_bounded("--orders-per-s", orders_per_s, MAX_ORDERS_PER_S, zero=True)
        check_bounded("--duration", duration, MAX_DURATION_S)
        check_rate(dirty_rate)
        the_lake = Lake(lake)
        the_lake.check_writable()
        shop = population(the_lake, sizes_for(scale), seed, behaviour=not plain)
        with OrdersDB(orders_url) as db, _stop_on_signals() as should_stop:
            stats = run_trickle(the_lake, db, shop, products_per_s, orders_per_s, duration, dirty_rate,
                                should_stop)
    except PlaygroundError as error:
        _fail(error)
    console.print(f"added {stats.products:,} products (from product_{stats.first_product}) and {stats.orders:,} "
                  f"orders with {stats.items:,} items (from orderId {stats.first_order_id})")


if __name__ == "__main__":
    app()
