#!/usr/bin/env bash
# Make PostgreSQL server binaries available for the SQL backend's tests.
#
# The tests (backends/sql/tests/conftest.py) start a throw-away cluster with
# initdb/pg_ctl from /usr/lib/postgresql/*/bin, so only the binaries are
# needed: no running service. Installs Debian's postgresql package when they
# are missing and we are root; otherwise says what to do and fails.
# Skipped entirely when PYPET_REBUILD_POSTGRES_URL points at an existing server.
set -euo pipefail

if [[ -n "${PYPET_REBUILD_POSTGRES_URL:-}" ]]; then
    echo "postgres.sh: using the server in PYPET_REBUILD_POSTGRES_URL; nothing to install"
    exit 0
fi

found() { compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; }

if found; then
    echo "postgres.sh: found $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort | tail -n 1)"
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin and not root;" >&2
    echo "  install them (sudo apt-get install postgresql) or set PYPET_REBUILD_POSTGRES_URL" >&2
    exit 1
fi

echo "postgres.sh: installing PostgreSQL server binaries with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends postgresql

if ! found; then
    echo "postgres.sh: apt-get finished but no /usr/lib/postgresql/*/bin/initdb exists" >&2
    exit 1
fi
if ! id postgres > /dev/null 2>&1; then
    echo "postgres.sh: the postgresql package did not create the 'postgres' system user" >&2
    exit 1
fi
echo "postgres.sh: installed $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort | tail -n 1)"
