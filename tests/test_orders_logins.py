"""The orders database's writer and reader logins (issue: everything connected as the administrator):
terraform/modules/orders_logins applied for real by Terraform (built-in resources only) against a
PostgreSQL server, then used as the generators and bronze use them; Azure SQL's statements checked
against Microsoft's documented syntax; the roots wire each user to its login."""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from playground.errors import PlaygroundError

from dagster_project.provisioning.orders_logins import Login, make_logins, statements
from dagster_project.provisioning.settings import TERRAFORM_DIR
from dagster_project.provisioning.terraform import TerraformResource
from tests.conftest import ROOT
from tests.terraform_config import labels, referenced

pytestmark = pytest.mark.e2e


@pytest.fixture
def orders_database(postgres_url: str) -> str:
    """A fresh database on the tests' PostgreSQL server, as its administrator's URL."""
    name = f"orders_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)


def as_login(admin_url: str, login: str) -> sa.Engine:
    return sa.create_engine(sa.make_url(admin_url).set(username=login, password="x"))


def test_the_module_makes_a_writer_and_a_reader_that_can_do_only_their_part(orders_database: str,
                                                                             tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    writer, reader = f"writer_{suffix}", f"reader_{suffix}"
    shutil.copytree(TERRAFORM_DIR / "modules" / "orders_logins", tmp_path / "modules" / "orders_logins")
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(f"""
variable "reader_password" {{
  type    = string
  default = "first-Pass1"
}}

module "orders_logins" {{
  source     = "../modules/orders_logins"
  admin_url  = "{orders_database}"
  writer     = {{ name = "{writer}", password = "w-Pass1" }}
  reader     = {{ name = "{reader}", password = var.reader_password }}
  writer_url = "writer-url"
  reader_url = "reader-url"
  python     = "{sys.executable}"
  repository = "{ROOT}"
}}

output "generators_url" {{
  value     = module.orders_logins.writer_url
  sensitive = true
}}
""")
    terraform = TerraformResource(root=str(root), settings_file=str(tmp_path / ".env.x"))
    terraform.init()
    summary, _ = terraform.plan()
    assert (summary.add, summary.destroy) == (1, 0)
    applied = terraform.apply()
    assert "Resources: 1 added" in applied and "w-Pass1" not in applied  # the script's output is suppressed
    assert terraform.outputs()["generators_url"]["value"] == "writer-url"

    with as_login(orders_database, writer).begin() as conn:  # the generators: tables and rows
        conn.exec_driver_sql("CREATE TABLE orders (id int)")
        conn.exec_driver_sql("INSERT INTO orders VALUES (1), (2)")
    reading = as_login(orders_database, reader)
    with reading.connect() as conn:  # bronze: rows of a table made after the grants
        assert conn.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 2
    with reading.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        conn.exec_driver_sql("INSERT INTO orders VALUES (3)")
    with reading.begin() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        conn.exec_driver_sql("CREATE TABLE mine (id int)")
    reading.dispose()

    # A new password makes the logins again, over the existing ones (the script is idempotent).
    (root / "terraform.tfvars").write_text('reader_password = "second-Pass2"\n')
    summary, _ = terraform.plan()
    assert (summary.add, summary.destroy) == (1, 1)
    assert "Resources: 1 added, 0 changed, 1 destroyed" in terraform.apply()


def test_a_database_it_cannot_reach_is_one_error_naming_it_without_its_password() -> None:
    with pytest.raises(PlaygroundError) as error:
        make_logins("postgresql+psycopg://admin:s3cret@127.0.0.1:9/orders", Login("w", "p"), Login("r", "p"))
    assert "cannot make the orders database's logins as postgresql+psycopg://admin:***@127.0.0.1:9/orders" in str(
        error.value)
    assert "s3cret" not in str(error.value) and "allowed_ip_ranges" in str(error.value)
    with pytest.raises(PlaygroundError, match="lower-case letters"):
        Login("Robert'); DROP TABLE orders;--", "p")


def test_azure_sql_gets_contained_users_in_its_fixed_roles() -> None:
    """Azure SQL Database: CREATE USER <name> WITH PASSWORD = '<password>' makes a contained database user;
    ALTER ROLE <role> ADD MEMBER <user>; db_datareader / db_datawriter / db_ddladmin cover every table of
    the database, those made later too (Microsoft's T-SQL reference and "Database-level roles")."""
    made = statements("mssql", Login("generators_writer", "p'1"), Login("bronze_reader", "p2"), "orders")
    assert made[0] == ("IF DATABASE_PRINCIPAL_ID('generators_writer') IS NULL CREATE USER [generators_writer] WITH "
                       "PASSWORD = 'p''1' ELSE ALTER USER [generators_writer] WITH PASSWORD = 'p''1'")
    roles = {(s.split()[2], s.split()[-1]) for s in made if s.startswith("ALTER ROLE")}
    assert roles == {("db_datareader", "[generators_writer]"), ("db_datawriter", "[generators_writer]"),
                     ("db_ddladmin", "[generators_writer]"), ("db_datareader", "[bronze_reader]")}


def test_each_user_of_the_orders_database_connects_with_its_own_login() -> None:
    """The generators write as the writer, the solution's settings (Dagster's bronze) and the Databricks
    job's secret read as the reader; the administrator's URL reaches the logins step only."""
    for root in ("databricks_solution", "microsoft_solution"):
        folder = TERRAFORM_DIR / root
        calls = labels(folder, "module")
        logins = {"orders_logins/terraform_data.logins"}
        assert referenced(folder, calls["generators"]["orders_url"]) == logins
        assert referenced(folder, labels(folder, "output")["playground_orders_url"]["value"]) == logins
        assert "writer_url" in calls["generators"]["orders_url"]
        assert "reader_url" in labels(folder, "output")["playground_orders_url"]["value"]
        users_of_admin = [name for name, call in calls.items()
                          if any("orders_admin_url" in str(v) for v in call.values())]
        assert users_of_admin == ["orders_logins"], users_of_admin
    databricks = labels(TERRAFORM_DIR / "databricks_solution", "module")["databricks"]
    assert databricks["orders_url"] == "${module.orders_logins.reader_url}"
