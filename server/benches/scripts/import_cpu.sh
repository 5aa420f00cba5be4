#!/usr/bin/env bash
# Whose CPU an import uses: runs `contacts-server import` of the first ROWS
# rows of CSV into an empty database (BACKEND sqlite or postgres) and
# prints the wall time, the CPU time of our process (GNU time, user +
# system) and of the whole machine over the same interval (/proc/stat), and
# their difference. On PostgreSQL the difference is mostly its server
# processes; but it also holds whatever else runs on the machine, so read it
# with the load printed before the run (on a shared machine, an upper bound).
#
#   server/benches/scripts/import_cpu.sh postgres 200000 [SERVER_BINARY] [CSV]
#
# SERVER_BINARY defaults to target/release/contacts-server; CSV to
# target/bench-data/import-1000000.csv (the import bench writes it).
# PostgreSQL: ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres);
# the script creates and drops the database contacts_bench_cpu.
set -euo pipefail
backend="${1:?sqlite or postgres}"
rows="${2:-200000}"
binary="${3:-target/release/contacts-server}"
csv="${4:-target/bench-data/import-1000000.csv}"
admin="${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d)"
cleanup() {
  rm -rf "$work"
  [ "$backend" = postgres ] && psql "$admin" -qc 'DROP DATABASE IF EXISTS contacts_bench_cpu' || true
}
trap cleanup EXIT
head -n "$((rows + 1))" "$csv" >"$work/rows.csv"
case "$backend" in
  sqlite) export CONTACTS_DATABASE_URL="sqlite://$work/import.db?mode=rwc" ;;
  postgres)
    psql "$admin" -qc 'DROP DATABASE IF EXISTS contacts_bench_cpu' -c 'CREATE DATABASE contacts_bench_cpu'
    export CONTACTS_DATABASE_URL="${admin%/*}/contacts_bench_cpu" ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac
export RUST_LOG=warn
"$binary" user create --name bench --role ADMIN >/dev/null

# Busy jiffies of all CPUs: everything but idle and iowait.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
total() { awk '/^cpu / { s = 0; for (i = 2; i <= 9; i++) s += $i; print s }' /proc/stat; }
hz="$(getconf CLK_TCK)"
echo "$rows rows, $backend, $(nproc) CPUs"
echo "load: $(uptime)"
busy0="$(busy)"; total0="$(total)"
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$binary" import "$work/rows.csv" --as bench >"$work/out"
busy1="$(busy)"; total1="$(total)"
read -r wall user sys peak <"$work/time"
awk -v wall="$wall" -v user="$user" -v sys="$sys" -v peak="$peak" -v rows="$rows" \
  -v busy=$((busy1 - busy0)) -v total=$((total1 - total0)) -v hz="$hz" 'BEGIN {
  ours = user + sys; machine = busy / hz
  printf "wall %.2f s (%.0f rows/s), peak RSS %.1f MiB\n", wall, rows / wall, peak / 1024
  printf "CPU: our process %.2f s (user %.2f, system %.2f), %.1f us a row\n", ours, user, sys, ours / rows * 1e6
  printf "CPU: the machine %.2f s, idle %.0f%% of the interval\n", machine, 100 * (1 - busy / total)
  printf "CPU: the rest (the database server and anything else running) %.2f s, %.1f us a row\n", machine - ours, (machine - ours) / rows * 1e6
}'
echo "summary: $(tail -1 "$work/out")"
