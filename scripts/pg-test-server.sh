#!/usr/bin/env bash
# Find or start a PostgreSQL server for the test suite.
#
#   scripts/pg-test-server.sh [start]      print one line on stdout: the server's SQLAlchemy URL
#   scripts/pg-test-server.sh stop PATH    stop a throwaway server and delete its folder; PATH is
#                                          the folder or a state file holding it (empty: no-op)
#
# start: when a server answers on $PG_TEST_HOST:$PG_TEST_PORT (default 127.0.0.1:5432), print
# its URL (user postgres, database postgres, no password: trust or .pgpass). Otherwise create a
# throwaway cluster: initdb into a fresh mktemp folder (trust auth, fsync off: it only ever holds
# test data), listen on 127.0.0.1 at a free port, start it with `pg_ctl -w` and print its URL.
# The folder is written to the file named by $PG_TEST_SERVER_STATE (if set) so that the caller
# can stop the server later with `stop "$PG_TEST_SERVER_STATE"`; .ci/run does so in its exit trap.
# As root, the cluster runs as the system user `postgres`, or `openbill-pg` (created if needed).
# Diagnostics go to stderr; stdout carries only the URL.
set -euo pipefail

MARKER=".openbill-pg-test-server"
host="${PG_TEST_HOST:-127.0.0.1}"
port="${PG_TEST_PORT:-5432}"

say() { echo "pg-test-server: $*" >&2; }
die() {
    say "$*"
    exit 1
}

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$dir" && -x "$dir/initdb" ]]; then
            echo "$dir"
            return
        fi
    fi
    # Highest installed major version first.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" ]]; then
            echo "$dir"
            return
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    return 1
}

server_answers() {
    local pg_isready
    pg_isready="$(command -v pg_isready || true)"
    if [[ -z "$pg_isready" ]]; then
        local bindir
        bindir="$(find_bindir)" || return 1
        pg_isready="$bindir/pg_isready"
    fi
    "$pg_isready" -q -h "$1" -p "$2" -t 5
}

# PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user.
cluster_user() {
    if [[ "$(id -u)" != 0 ]]; then
        id -un
    elif id -u postgres >/dev/null 2>&1; then
        echo postgres
    else
        if ! id -u openbill-pg >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin openbill-pg >&2
        fi
        echo openbill-pg
    fi
}

# Run a command as the cluster's owner, from inside its folder (the owner may not be allowed
# into the caller's working directory).
as_owner() {
    local owner="$1" dir="$2"
    shift 2
    if [[ "$(id -u)" == 0 ]]; then
        (cd "$dir" && runuser -u "$owner" -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local candidate tries
    for tries in $(seq 1 50); do
        candidate=$((20000 + RANDOM % 40000))
        if ! port_in_use "$candidate"; then
            echo "$candidate"
            return
        fi
    done
    return 1
}

stop_cluster() {
    local target="${1:-}" dir owner bindir
    [[ -n "$target" ]] || die "usage: $0 stop FOLDER|STATE_FILE"
    if [[ -f "$target" ]]; then
        dir="$(head -n 1 "$target")"
        [[ -n "$dir" ]] || return 0 # no throwaway server was started
    else
        dir="$target"
    fi
    [[ -d "$dir" ]] || return 0
    # Only ever delete a folder this script made.
    [[ -f "$dir/$MARKER" ]] || die "$dir is not a throwaway test server folder; not touching it"
    owner="$(stat -c %U "$dir")"
    bindir="$(cat "$dir/$MARKER")"
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        as_owner "$owner" "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop >&2 ||
            say "pg_ctl stop failed; see $dir/server.log"
    fi
    rm -rf "$dir"
    say "stopped and removed the throwaway server in $dir"
}

start_cluster() {
    local bindir owner dir attempt
    bindir="$(find_bindir)" || die "no PostgreSQL server binaries found (initdb); install postgresql"
    owner="$(cluster_user)"
    dir="$(mktemp -d "${PG_TEST_TMPDIR:-/tmp}/openbill-pg.XXXXXX")"
    echo "$bindir" >"$dir/$MARKER"
    chown "$owner" "$dir"
    chmod 0700 "$dir"
    # From here on, a failure must not leave a server or a folder behind.
    cleanup_dir="$dir"
    trap 'stop_cluster "$cleanup_dir" || true' EXIT
    if [[ -n "${PG_TEST_SERVER_STATE:-}" ]]; then
        echo "$dir" >"$PG_TEST_SERVER_STATE"
    fi

    say "nothing answers on $host:$port; creating a throwaway cluster in $dir as $owner"
    if ! as_owner "$owner" "$dir" "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi

    for attempt in 1 2 3; do
        port="$(free_port)" || die "no free TCP port found"
        if as_owner "$owner" "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
            -w -t 60 -s -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >&2; then
            trap - EXIT
            say "throwaway server listening on 127.0.0.1:$port (stop: $0 stop $dir)"
            echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
            return 0
        fi
        say "start on port $port failed (attempt $attempt):"
        tail -n 5 "$dir/server.log" >&2 || true
    done
    die "could not start the throwaway server; see above"
}

case "${1:-start}" in
start)
    if server_answers "$host" "$port"; then
        echo "postgresql+psycopg://postgres@$host:$port/postgres"
    else
        start_cluster
    fi
    ;;
stop)
    stop_cluster "${2:-}"
    ;;
*)
    die "usage: $0 [start] | stop FOLDER|STATE_FILE"
    ;;
esac
