"""The orders database, addressed by a SQLAlchemy URL.

SQLite (the default) and PostgreSQL are bulk-loaded through Arrow ADBC drivers (SQLite's
prepared-statement loop and Postgres COPY, both in C); any other SQLAlchemy dialect, Azure SQL
included, through SQLAlchemy's batched executemany.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.schema import CreateTable

from playground.catalog import TABLE_KEYS, TABLE_TYPES
from playground.errors import PlaygroundError

INSERT_BATCH = 10_000
_SQL_TYPES = {"int": sa.Integer, "float": sa.Float, "timestamp": sa.DateTime}


def _table(name: str, **options: Any) -> sa.Table:
    """A table of generators/catalog.py; keys are given by the generator, never made by the database."""
    return sa.Table(name, metadata, *(sa.Column(column, _SQL_TYPES[kind](), primary_key=column in TABLE_KEYS[name],
                                                autoincrement=False)
                                      for column, kind in TABLE_TYPES[name].items()), **options)


metadata = sa.MetaData()
orders_table = _table("orders")
# One B-tree keyed by the primary key in SQLite: bulk loads run ~1.4x faster.
items_table = _table("items", sqlite_with_rowid=False)


class OrdersDB:
    def __init__(self, url: str):
        try:
            self.url: URL = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise PlaygroundError(f"orders DB URL {url!r} is not a SQLAlchemy URL ({exc}); "
                                  "expected e.g. sqlite:///data/orders.db or postgresql://user@host/db") from exc
        self.shown = self.url.render_as_string(hide_password=True)
        options: dict[str, Any] = {}
        if self.url.get_backend_name() == "mssql" and self.url.get_driver_name() == "pyodbc":
            options["fast_executemany"] = True
        if self.dialect == "sqlite" and self.url.database and self.url.database != ":memory:":
            folder = os.path.dirname(os.path.abspath(self.url.database))
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise PlaygroundError(f"cannot create the folder of orders DB {self.shown}: {exc}") from exc
        try:
            self.engine = sa.create_engine(self.url, **options)
            if self.dialect == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_settings)
            with self.engine.connect():
                pass
        except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as exc:
            raise PlaygroundError(f"orders DB {self.shown}: no driver for it ({exc}); install the "
                                  "matching extra (postgres, mssql)") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise PlaygroundError(f"cannot connect to orders DB {self.shown}: {exc.__class__.__name__}: "
                                  f"{str(exc.orig if hasattr(exc, 'orig') else exc).strip()}. "
                                  "Check --orders-url (or PLAYGROUND_ORDERS_URL) and that the server runs") from exc
        self._adbc: Any = None
        self._staging: Any = None
        self._staging_pool: ThreadPoolExecutor | None = None

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def reset(self) -> None:
        """Empty tables for a fresh data set."""
        self.close()
        metadata.drop_all(self.engine, tables=[items_table, orders_table])
        metadata.create_all(self.engine)

    def ensure(self) -> None:
        metadata.create_all(self.engine)

    def max_order_id(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(orders_table.c.orderId))).scalar()

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (orders_table, items_table)}

    @property
    def bulk(self) -> bool:
        return self.dialect in ("sqlite", "postgresql")

    def prepare(self, orders: pl.DataFrame, items: pl.DataFrame) -> tuple[Any, Any]:
        """Frames in the form the database loads (safe to call from worker threads)."""
        if not self.bulk:
            return orders, items
        if self.dialect == "sqlite":  # SQLAlchemy reads SQLite datetimes from this text form
            orders = orders.with_columns(pl.col("orderDate").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        else:  # binary COPY wants the column's own width: Integer is int4
            orders, items = (f.with_columns(pl.col(pl.Int64).cast(pl.Int32)) for f in (orders, items))
        return orders.to_arrow(), items.to_arrow()

    def read(self, query: sa.Select) -> pl.DataFrame:
        """A query's rows as a frame, as the database gives them: through ADBC (Arrow, no Python objects per
        row) where it is bulk-capable, SQLAlchemy otherwise. SQLite gives datetimes as text, and types a column
        by its first values: a query that may meet values of several types reads them as text (bronze does,
        bronze/tables.py) and types them itself."""
        if self.bulk:
            sql = str(query.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True}))
            with self._connect_adbc().cursor() as cur:
                cur.execute(sql)
                frame = pl.from_arrow(cur.fetch_arrow_table())
        else:
            frame = pl.read_database(query, self.engine)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def append(self, orders: pl.DataFrame, items: pl.DataFrame) -> None:
        """Add orders with their items in one transaction: a reader never sees one without the other."""
        self.append_prepared(*self.prepare(orders, items))

    def append_prepared(self, orders: Any, items: Any) -> None:
        if self.bulk:
            self._append_adbc(orders, items)
        else:
            with self.engine.begin() as conn:
                for table, frame in ((orders_table, orders), (items_table, items)):
                    for batch in frame.iter_slices(INSERT_BATCH):
                        conn.execute(table.insert(), batch.to_dicts())

    def _connect_adbc(self) -> Any:
        if self._adbc is None:
            if self.dialect == "sqlite":
                import adbc_driver_sqlite.dbapi as adbc

                self._adbc = adbc.connect(self.url.database or ":memory:", autocommit=True)
                with self._adbc.cursor() as cur:
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA busy_timeout=30000")
                    cur.execute("PRAGMA cache_size=-100000")
            else:
                try:
                    import adbc_driver_postgresql.dbapi as adbc_postgresql
                except ModuleNotFoundError as exc:
                    raise PlaygroundError("bulk loading into PostgreSQL needs the `postgres` extra "
                                          "(adbc-driver-postgresql)") from exc
                plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._adbc = adbc_postgresql.connect(plain, autocommit=True)
        return self._adbc

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load a fresh data set faster. SQLite has one writer per file, so orders are written to a
        side file while items go to the database, on two cores, and orders move in at the end (a
        page copy: SQLite's transfer optimisation into an empty table). Readers see the orders
        only when the load is complete."""
        database = self.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:":
            yield
            return
        import adbc_driver_sqlite.dbapi as adbc

        side = f"{database}.orders-load"
        _remove_sqlite_file(side)
        self._staging = adbc.connect(side, autocommit=True)
        with self._staging.cursor() as cur:
            cur.execute("PRAGMA journal_mode=OFF")  # a throwaway file: a crash just means generating again
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute(str(CreateTable(orders_table).compile(self.engine)))
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orders-load")
        self._staging_pool = pool
        with self._connect_adbc().cursor() as cur:
            cur.execute("PRAGMA synchronous=OFF")  # a fresh data set: an OS crash means generating again
        try:
            yield
            self._staging.close()
            self._staging = None
            with self._connect_adbc().cursor() as cur:
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute(f"ATTACH DATABASE '{side.replace(chr(39), chr(39) * 2)}' AS staged")
                cur.execute("BEGIN")
                cur.execute(f"INSERT INTO {orders_table.name} SELECT * FROM staged.{orders_table.name}")
                cur.execute("COMMIT")
                cur.execute("DETACH DATABASE staged")
        finally:
            pool.shutdown()
            if self._staging is not None:
                self._staging.close()
            self._staging = self._staging_pool = None
            _remove_sqlite_file(side)

    def _append_adbc(self, orders: Any, items: Any) -> None:
        if self._staging is not None and self._staging_pool is not None:
            staged = self._staging_pool.submit(_ingest, self._staging, {orders_table.name: orders})
            _ingest(self._connect_adbc(), {items_table.name: items})
            staged.result()
        else:
            _ingest(self._connect_adbc(), {orders_table.name: orders, items_table.name: items})

    def close(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def __enter__(self) -> OrdersDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self.engine.dispose()


def _ingest(conn: Any, tables: dict[str, Any]) -> None:
    """Append Arrow data to tables in one transaction."""
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        try:
            for table, data in tables.items():
                cur.adbc_ingest(table, data, mode="append")
        except Exception:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")


def _sqlite_settings(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA page_size=16384")  # only takes on a new file: ~5% faster bulk loads
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (ingestion) while trickle writes
    cursor.close()


def _remove_sqlite_file(path: str) -> None:
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        if os.path.exists(name):
            os.remove(name)
