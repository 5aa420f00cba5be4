#!/usr/bin/env bash
# The SQLite write-ahead log during an import: runs `contacts-server import`
# of CSV into an empty SQLite database, samples the size of the database's
# -wal file every INTERVAL seconds (default 0.2) while it runs, and prints
# the largest size seen, the import's time and peak memory (GNU time), and
# the database's size at the end (main file and log).
#
#   server/benches/scripts/sqlite_wal_peak.sh [SERVER_BINARY] [CSV]
#
# SERVER_BINARY defaults to target/release/contacts-server; CSV to the
# import bench's file target/bench-data/import-1000000.csv (written by
# `cargo bench -p contacts-server --bench import`).
set -euo pipefail
binary="${1:-target/release/contacts-server}"
csv="${2:-target/bench-data/import-1000000.csv}"
interval="${INTERVAL:-0.2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CONTACTS_DATABASE_URL="sqlite://$work/import.db?mode=rwc"
export RUST_LOG=warn
"$binary" user create --name bench --role ADMIN >/dev/null

echo "file: $csv ($(($(wc -l <"$csv") - 1)) rows)"
echo "load: $(uptime)"
/usr/bin/time -f "import: wall %e s, user %U s, system %S s, peak RSS %M KiB" -o "$work/time" \
  "$binary" import "$csv" --as bench >"$work/out" &
import=$!
peak=0
samples=0
while kill -0 "$import" 2>/dev/null; do
  size="$(stat -c %s "$work/import.db-wal" 2>/dev/null || echo 0)"
  [ "$size" -gt "$peak" ] && peak="$size"
  samples=$((samples + 1))
  sleep "$interval"
done
wait "$import"
cat "$work/time"
echo "summary: $(tail -1 "$work/out")"
echo "write-ahead log: peak $peak bytes ($(awk "BEGIN { printf \"%.1f\", $peak / 1e6 }") MB), $samples samples every $interval s"
echo "database at the end: $(stat -c %s "$work/import.db") bytes, log $(stat -c %s "$work/import.db-wal" 2>/dev/null || echo 0) bytes"
