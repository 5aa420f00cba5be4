#!/usr/bin/env bash
# Two contacts-server binaries importing the same file in turn, so that the
# machine's drift falls on both alike: a change's effect on the import is
# the gap between them, and the spread within each says how much a single
# run can be trusted.
#
#   server/benches/scripts/import_ab.sh BEFORE_BINARY AFTER_BINARY
#   # knobs: AB_ROUNDS=3 IMPORT_ROWS=1000000 AB_POSTGRES=1 CONTACTS_TEST_POSTGRES_URL=...
#
# The file is the import bench's (run `BENCH_ROWS=N cargo bench -p
# contacts-server --bench import` once to write it). Each import goes into
# an empty database: a new SQLite file, and with AB_POSTGRES=1 a new
# PostgreSQL database as well. Prints the load before each run and GNU
# time's wall, CPU and peak memory.
set -euo pipefail
cd "$(dirname "$0")/../../.."

before="$1"
after="$2"
rounds="${AB_ROUNDS:-3}"
rows="${IMPORT_ROWS:-1000000}"
csv="target/bench-data/import-$rows.csv"
pg="${CONTACTS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -f "$csv" ]; then
  echo "no $csv: run BENCH_ROWS=$rows cargo bench -p contacts-server --bench import first" >&2
  exit 1
fi

run() {
  local name="$1" binary="$2" db="$3"
  CONTACTS_DATABASE_URL="$db" RUST_LOG=warn "$binary" user create --name bench --role ADMIN >/dev/null
  echo "load: $(uptime)"
  CONTACTS_DATABASE_URL="$db" RUST_LOG=warn /usr/bin/time -o "$work/time" \
    -f "wall %e s, user %U s, system %S s, peak RSS %M KiB" \
    "$binary" import "$csv" --as bench >/dev/null
  echo "$name: $(cat "$work/time")"
}

for round in $(seq 1 "$rounds"); do
  for variant in before after; do
    binary="$before"
    [ "$variant" = after ] && binary="$after"
    echo
    echo "== round $round, $variant ($binary), $rows rows"
    run "SQLite, empty" "$binary" "sqlite://$work/ab.db?mode=rwc"
    rm -f "$work"/ab.db*
    if [ "${AB_POSTGRES:-}" = 1 ]; then
      psql -q -d "$pg" -c "DROP DATABASE IF EXISTS contacts_import_ab" -c "CREATE DATABASE contacts_import_ab"
      run "PostgreSQL, empty" "$binary" "${pg%/*}/contacts_import_ab"
    fi
  done
done
if [ "${AB_POSTGRES:-}" = 1 ]; then
  psql -q -d "$pg" -c "DROP DATABASE IF EXISTS contacts_import_ab"
fi
