"""The orders database's two logins, made by its administrator when the solution is provisioned
(terraform/modules/orders_logins runs this module): the generators' writer (creates the tables and
writes the orders) and bronze's reader (reads them), so nothing after the provision connects as the
administrator. Idempotent: a login that exists gets the password given, and its grants, again.

    ORDERS_ADMIN_URL=mssql+pymssql://admin:...@server:1433/orders ORDERS_WRITER=generators_writer \\
    ORDERS_WRITER_PASSWORD=... ORDERS_READER=bronze_reader ORDERS_READER_PASSWORD=... \\
        python -m dagster_project.provisioning.orders_logins

Azure SQL: contained database users (`CREATE USER ... WITH PASSWORD`) in the database's fixed roles
(db_datareader, db_datawriter, db_ddladmin), which cover tables made later. PostgreSQL (the orders
database by URL elsewhere, and the tests): login roles, the writer's schema rights, and default
privileges so that the reader reads the tables the writer makes later.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

import sqlalchemy as sa
from playground.errors import PlaygroundError

NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SETTINGS = ("ORDERS_ADMIN_URL", "ORDERS_WRITER", "ORDERS_WRITER_PASSWORD", "ORDERS_READER", "ORDERS_READER_PASSWORD")


@dataclass(frozen=True)
class Login:
    name: str
    password: str

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise PlaygroundError(f"login name {self.name!r}: lower-case letters, digits and _ only, at most 63")
        if not self.password:
            raise PlaygroundError(f"login {self.name}: an empty password")

    @property
    def quoted_password(self) -> str:
        return "'" + self.password.replace("'", "''") + "'"


def statements(dialect: str, writer: Login, reader: Login, database: str) -> list[str]:
    if dialect == "mssql":
        made = []
        for login, roles in ((writer, ("db_datareader", "db_datawriter", "db_ddladmin")), (reader, ("db_datareader",))):
            made.append(f"IF DATABASE_PRINCIPAL_ID('{login.name}') IS NULL "
                        f"CREATE USER [{login.name}] WITH PASSWORD = {login.quoted_password} "
                        f"ELSE ALTER USER [{login.name}] WITH PASSWORD = {login.quoted_password}")
            made += [f"ALTER ROLE {role} ADD MEMBER [{login.name}]" for role in roles]
        return made
    if dialect == "postgresql":
        made = []
        for login in (writer, reader):
            made.append(f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login.name}') THEN "
                        f"CREATE ROLE {login.name} LOGIN; END IF; END $$")
            made.append(f"ALTER ROLE {login.name} WITH LOGIN PASSWORD {login.quoted_password}")
            made.append(f"GRANT CONNECT ON DATABASE \"{database}\" TO {login.name}")
        return [*made,
                f"GRANT USAGE, CREATE ON SCHEMA public TO {writer.name}",
                f"GRANT USAGE ON SCHEMA public TO {reader.name}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader.name}",
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {writer.name} IN SCHEMA public "
                f"GRANT SELECT ON TABLES TO {reader.name}"]
    raise PlaygroundError(f"orders database logins: {dialect} is not supported (Azure SQL or PostgreSQL)")


def make_logins(admin_url: str, writer: Login, reader: Login) -> None:
    try:
        url = sa.make_url(admin_url)
    except sa.exc.ArgumentError:
        raise PlaygroundError("ORDERS_ADMIN_URL is not a SQLAlchemy URL (mssql+pymssql://user:pw@host/db)") from None
    shown = url.render_as_string(hide_password=True)
    engine = None
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements(url.get_backend_name(), writer, reader, url.database or ""):
                conn.exec_driver_sql(statement)
    except (sa.exc.SQLAlchemyError, ModuleNotFoundError) as exc:
        raise PlaygroundError(f"cannot make the orders database's logins as {shown}: {exc.__class__.__name__}: "
                              f"{str(getattr(exc, 'orig', exc)).strip()}. Run the provision from a machine in "
                              "allowed_ip_ranges, with the mssql extra installed (make setup-cloud)") from None
    finally:
        if engine is not None:
            engine.dispose()


def main() -> None:
    missing = [name for name in SETTINGS if not os.environ.get(name)]
    try:
        if missing:
            raise PlaygroundError(f"orders database logins: {', '.join(missing)} not set")
        make_logins(os.environ["ORDERS_ADMIN_URL"],
                    Login(os.environ["ORDERS_WRITER"], os.environ["ORDERS_WRITER_PASSWORD"]),
                    Login(os.environ["ORDERS_READER"], os.environ["ORDERS_READER_PASSWORD"]))
    except PlaygroundError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    writer, reader = os.environ["ORDERS_WRITER"], os.environ["ORDERS_READER"]
    print(f"orders database logins ready: {writer} (writes), {reader} (reads)")


if __name__ == "__main__":
    main()
