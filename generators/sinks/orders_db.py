"""The orders database, addressed by a SQLAlchemy URL.

SQLite (the default) and PostgreSQL are bulk-loaded through Arrow ADBC drivers (SQLite's
prepared-statement loop and Postgres COPY, both in C); any other SQLAlchemy dialect, Azure SQL
included, through SQLAlchemy's batched executemany.
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from generators.errors import PlaygroundError
from generators.schema import items_table, metadata, orders_table

INSERT_BATCH = 10_000


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

    def append(self, orders: pl.DataFrame, items: pl.DataFrame) -> None:
        """Add orders with their items in one transaction: a reader never sees one without the other."""
        if self.dialect in ("sqlite", "postgresql"):
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
                    import adbc_driver_postgresql.dbapi as adbc
                except ModuleNotFoundError as exc:
                    raise PlaygroundError("bulk loading into PostgreSQL needs the `postgres` extra "
                                          "(adbc-driver-postgresql)") from exc
                plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._adbc = adbc.connect(plain, autocommit=True)
        return self._adbc

    def _append_adbc(self, orders: pl.DataFrame, items: pl.DataFrame) -> None:
        if self.dialect == "sqlite":  # SQLAlchemy reads SQLite datetimes from this text form
            orders = orders.with_columns(pl.col("orderDate").dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        else:  # binary COPY wants the column's own width: Integer is int4
            orders, items = (f.with_columns(pl.col(pl.Int64).cast(pl.Int32)) for f in (orders, items))
        conn = self._connect_adbc()
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            try:
                cur.adbc_ingest(orders_table.name, orders.to_arrow(), mode="append")
                cur.adbc_ingest(items_table.name, items.to_arrow(), mode="append")
            except Exception:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        if self._adbc is not None:
            self._adbc.close()
            self._adbc = None

    def __enter__(self) -> OrdersDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self.engine.dispose()
