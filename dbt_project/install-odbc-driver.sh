#!/usr/bin/env bash
# dbt-synapse connects through Microsoft's "ODBC Driver 18 for SQL Server", which neither Debian nor PyPI
# carries: it is installed from Microsoft's package repository, as Microsoft documents for Debian and
# Ubuntu ("Install the Microsoft ODBC driver for SQL Server (Linux)"). Idempotent: a machine where the
# driver is registered installs nothing. Nothing is written before the repository has answered.
set -euo pipefail

DRIVER="ODBC Driver 18 for SQL Server"
DOCS="https://learn.microsoft.com/sql/connect/odbc/linux-mac/installing-the-microsoft-odbc-driver-for-sql-server"
REPO="${PLAYGROUND_MS_REPO:-https://packages.microsoft.com}"

registered() { grep -qsF "[$DRIVER]" "${ODBCSYSINI:-/etc}/odbcinst.ini"; }
fail() { echo "error: $DRIVER is not installed: $1" >&2; exit 1; }

if registered; then
  echo "$DRIVER: installed"
  exit 0
fi
# shellcheck disable=SC1091
. /etc/os-release
case "${ID:-}" in
  debian | ubuntu) ;;
  *) fail "install it as Microsoft documents for ${PRETTY_NAME:-this system} ($DOCS)" ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  fail "run 'sudo dbt_project/install-odbc-driver.sh' (installing it needs root), or install msodbcsql18 as $DOCS says"
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v gpg >/dev/null 2>&1 || missing+=(gpg)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
fetch() {
  curl -fsSL --max-time 60 "$1" ||
    fail "cannot reach Microsoft's package repository ($1); check this machine's network or proxy, or install msodbcsql18 as $DOCS says"
}
key="$(fetch "$REPO/keys/microsoft.asc")"
sources="$(fetch "$REPO/config/$ID/$VERSION_ID/prod.list")"
echo "installing $DRIVER (msodbcsql18) from $REPO"
printf '%s\n' "$key" | gpg --dearmor --yes -o /usr/share/keyrings/microsoft-prod.gpg
printf '%s\n' "$sources" >/etc/apt/sources.list.d/mssql-release.list
apt-get update -qq
ACCEPT_EULA=Y apt-get install -y -qq --no-install-recommends msodbcsql18 >/dev/null
registered || fail "msodbcsql18 installed but the driver is not in ${ODBCSYSINI:-/etc}/odbcinst.ini; see $DOCS"
echo "$DRIVER: installed"
