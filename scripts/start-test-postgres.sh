#!/usr/bin/env bash
# Starts a throw-away PostgreSQL cluster for the relay's tests and exports
# EDGENODE_TEST_POSTGRES_URL (a Unix socket in a temporary directory: no TCP port at all).
# Source it (scripts/test.sh does): it installs Debian's postgresql when it is missing, runs
# initdb and pg_ctl as the postgres user when run as root, and stops and deletes the cluster
# when the sourcing shell exits. Does nothing when EDGENODE_TEST_POSTGRES_URL is already set.
#
# Run by hand:  source scripts/start-test-postgres.sh && swift test --filter RelayTests
set -euo pipefail

if [ -n "${EDGENODE_TEST_POSTGRES_URL:-}" ]; then
    echo "Using the PostgreSQL at EDGENODE_TEST_POSTGRES_URL for the relay tests." >&2
    return 0 2>/dev/null || exit 0
fi

pg_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

if ! pg_bindir >/dev/null; then
    echo "Installing PostgreSQL (Debian's postgresql) for the relay tests ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    # The package starts its own cluster; the tests do not use it.
    $SUDO pg_ctlcluster --help >/dev/null 2>&1 && for cluster in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
        $SUDO pg_ctlcluster "${cluster%/*}" "${cluster#*/}" stop 2>/dev/null || true
    done
fi
EDGENODE_PG_BIN="$(pg_bindir)"

# initdb refuses to run as root: run the server as the postgres user then.
if [ "$(id -u)" -eq 0 ]; then
    edgenode_pg_as() { runuser -u postgres -- "$@"; }
else
    edgenode_pg_as() { "$@"; }
fi

EDGENODE_PG_DIR="$(mktemp -d /tmp/edgenode-test-pg.XXXXXX)"
chmod 0755 "$EDGENODE_PG_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres: "$EDGENODE_PG_DIR"
edgenode_pg_as "$EDGENODE_PG_BIN/initdb" -D "$EDGENODE_PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$EDGENODE_PG_DIR/initdb.log" 2>&1 \
    || { cat "$EDGENODE_PG_DIR/initdb.log" >&2; exit 1; }
# Unix socket only (listen_addresses=''), in the temporary directory; no fsync: it is thrown away.
edgenode_pg_as "$EDGENODE_PG_BIN/pg_ctl" -D "$EDGENODE_PG_DIR/data" -l "$EDGENODE_PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $EDGENODE_PG_DIR -p 5433 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$EDGENODE_PG_DIR/server.log" >&2; exit 1; }
edgenode_pg_as "$EDGENODE_PG_BIN/createdb" -h "$EDGENODE_PG_DIR" -p 5433 -U postgres edgenode_test

edgenode_stop_test_postgres() {
    edgenode_pg_as "$EDGENODE_PG_BIN/pg_ctl" -D "$EDGENODE_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$EDGENODE_PG_DIR"
}
trap edgenode_stop_test_postgres EXIT

export EDGENODE_TEST_POSTGRES_URL="postgres://postgres@localhost:5433/edgenode_test?host=$EDGENODE_PG_DIR"
echo "Started a throw-away PostgreSQL for the relay tests: $EDGENODE_TEST_POSTGRES_URL" >&2
