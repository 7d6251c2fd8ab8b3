#!/usr/bin/env bash
# The test suite, as `make test` runs it: once on SQLite, then once more on PostgreSQL when
# OPENBILL_TEST_DATABASE_URL names a server (see DEVELOPERS.md). Extra arguments go to pytest.
#
# The SQLite pass runs with OPENBILL_TEST_DATABASE_URL unset, so the `db_url` fixture hands out
# SQLite files; the server stays reachable for the PostgreSQL-only `pg_url` fixture through
# OPENBILL_TEST_PG_SERVER_URL, an internal variable of this script. Both passes always run; the
# script fails if either fails, and "no tests collected" (pytest exit 5) counts as a failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pytest_bin="${OPENBILL_PYTEST:-.venv/bin/pytest}"
if [[ ! -x "$pytest_bin" ]]; then
    echo "test.sh: $pytest_bin not found; run 'make venv' (or 'make test') first" >&2
    exit 2
fi

pg_url="${OPENBILL_TEST_DATABASE_URL:-}"
# Tests run in parallel processes (pytest-xdist), one per core unless OPENBILL_TEST_WORKERS
# says otherwise (0: in this process, no workers). Every test has its own database, so
# workers never share one.
workers="${OPENBILL_TEST_WORKERS:-auto}"
parallel=(-n "$workers")
failed=()

# A URL as printed in logs: user@host, the password left out.
without_password() {
    sed -E 's#^([^:]+://[^:/@]+):[^@]*@#\1@#' <<<"$1"
}

run_pass() {
    local label="$1"
    shift
    echo
    echo "== suite on $label =="
    "$@"
    local rc=$?
    case "$rc" in
    0) ;;
    5)
        echo "== suite on $label: no tests were collected (pytest exit 5); that is a failure ==" >&2
        failed+=("$label")
        ;;
    *) failed+=("$label (pytest exit $rc)") ;;
    esac
}

sqlite_env=(env -u OPENBILL_TEST_DATABASE_URL)
if [[ -n "$pg_url" ]]; then
    sqlite_env+=("OPENBILL_TEST_PG_SERVER_URL=$pg_url")
fi
run_pass "SQLite" "${sqlite_env[@]}" "$pytest_bin" -q "${parallel[@]}" "$@"

if [[ -n "$pg_url" ]]; then
    run_pass "PostgreSQL ($(without_password "$pg_url"))" \
        env OPENBILL_TEST_DATABASE_URL="$pg_url" "$pytest_bin" -q "${parallel[@]}" "$@"
else
    echo
    echo "== PostgreSQL pass skipped: OPENBILL_TEST_DATABASE_URL is not set (see DEVELOPERS.md) =="
fi

if ((${#failed[@]})); then
    echo >&2
    for pass in "${failed[@]}"; do
        echo "== FAILED: suite on $pass ==" >&2
    done
    exit 1
fi
