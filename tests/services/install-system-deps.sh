#!/usr/bin/env bash
# System packages the tests use, installed from Debian when missing (as root), or a clear list of
# what to install otherwise. Idempotent: a machine that has everything installs nothing.
set -euo pipefail

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)  # PySpark, for dbt's local spark target
# The Databricks bronze job reads the orders database by JDBC on local PySpark (tests/test_spark_bronze.py).
ls /usr/share/java/postgresql.jar >/dev/null 2>&1 || need+=(libpostgresql-jdbc-java)
# dbt-synapse loads the ODBC driver manager even to parse a project.
ls /usr/lib/*/libodbc.so.2 >/dev/null 2>&1 || need+=(libodbc2)
ls /usr/lib/*/libltdl.so.7 >/dev/null 2>&1 || need+=(libltdl7)
# The browser test drives Debian's chromium through Playwright (never `playwright install`, which downloads).
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: the tests need these Debian packages: ${need[*]}" >&2
  echo "       install them (sudo apt-get install -y ${need[*]}) or run 'make test' as root" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package starts a cluster of its own; the tests start their own servers instead.
if command -v pg_ctlcluster >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
