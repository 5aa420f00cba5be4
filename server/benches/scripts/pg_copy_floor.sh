#!/usr/bin/env bash
# What PostgreSQL itself needs to store imported contacts, with no client
# in the way: imports the first ROWS rows of CSV with `contacts-server
# import` into a scratch database, has the server write its contacts and
# their history rows to files in its binary COPY format, then times the
# server's own `COPY ... FROM 'file'` of them (psql's \timing) into
#   - the real `contacts` and `contact_changes` tables of a fresh database
#     (migrations applied, the same importing user),
#   - copies of both without their foreign keys (LIKE ... INCLUDING ALL),
#   - a copy of `contacts` with only its primary key, then with its other
#     indexes added one at a time, in the order the migrations made them.
# A CHECKPOINT runs before each COPY so one copy's dirty pages are not
# written during the next.
#
#   ROWS=1000000 server/benches/scripts/pg_copy_floor.sh [SERVER_BINARY] [CSV]
#
# SERVER_BINARY defaults to target/release/contacts-server; CSV to
# target/bench-data/import-1000000.csv (the import bench writes it).
# Needs a PostgreSQL on this machine (the server reads and writes the files
# in a temporary directory) and a superuser at ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/postgres). Creates and drops the
# databases contacts_bench_copy_src and contacts_bench_copy_dst.
set -euo pipefail
binary="${1:-target/release/contacts-server}"
csv="${2:-target/bench-data/import-1000000.csv}"
rows="${ROWS:-1000000}"
admin="${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
base="${admin%/*}"
work="$(mktemp -d)"
chmod 777 "$work"
cleanup() {
  rm -rf "$work"
  psql "$admin" -qc 'DROP DATABASE IF EXISTS contacts_bench_copy_src' -c 'DROP DATABASE IF EXISTS contacts_bench_copy_dst'
}
trap cleanup EXIT
export RUST_LOG=warn
head -n "$((rows + 1))" "$csv" >"$work/rows.csv"
psql "$admin" -qc 'DROP DATABASE IF EXISTS contacts_bench_copy_src' -c 'DROP DATABASE IF EXISTS contacts_bench_copy_dst' \
  -c 'CREATE DATABASE contacts_bench_copy_src' -c 'CREATE DATABASE contacts_bench_copy_dst'
for db in contacts_bench_copy_src contacts_bench_copy_dst; do
  CONTACTS_DATABASE_URL="$base/$db" "$binary" user create --name bench --role ADMIN >/dev/null
done
CONTACTS_DATABASE_URL="$base/contacts_bench_copy_src" "$binary" import "$work/rows.csv" --as bench >/dev/null
psql -X "$base/contacts_bench_copy_src" -q \
  -c "COPY contacts TO '$work/contacts.bin' WITH (FORMAT binary)" \
  -c "COPY contact_changes TO '$work/changes.bin' WITH (FORMAT binary)"
echo "$rows rows; contacts $(stat -c %s "$work/contacts.bin") bytes, history $(stat -c %s "$work/changes.bin") bytes in COPY's binary format"
echo "load: $(uptime)"

dst="$base/contacts_bench_copy_dst"
copy() { # label, table, file
  echo "-- $1"
  psql -X "$dst" -v ON_ERROR_STOP=1 -c 'CHECKPOINT' -c '\timing on' -c "COPY $2 FROM '$work/$3' WITH (FORMAT binary)" | grep -E '^(COPY|Time)'
}
copy "contacts, the real table (indexes, foreign keys)" contacts contacts.bin
copy "contact_changes, the real table (foreign keys to contacts and users)" contact_changes changes.bin
psql -X "$dst" -q -c 'CREATE TABLE contacts_nofk (LIKE contacts INCLUDING ALL)' \
  -c 'CREATE TABLE changes_nofk (LIKE contact_changes INCLUDING ALL)'
copy "contacts without foreign keys (all indexes)" contacts_nofk contacts.bin
copy "contact_changes without foreign keys" changes_nofk changes.bin
psql -X "$dst" -q -c 'CREATE TABLE contacts_bare (LIKE contacts INCLUDING DEFAULTS)' \
  -c 'ALTER TABLE contacts_bare ADD PRIMARY KEY (id)'
copy "contacts, primary key only" contacts_bare contacts.bin
psql -X "$dst" -At -c "SELECT i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname
  WHERE i.schemaname = 'public' AND i.tablename = 'contacts' AND i.indexname <> 'contacts_pkey' ORDER BY c.oid" |
  while IFS= read -r def; do
    def="$(printf '%s' "$def" | sed -E 's/INDEX ([a-z_0-9]+) ON public\.contacts /INDEX bare_\1 ON public.contacts_bare /')"
    psql -X "$dst" -q -c 'TRUNCATE contacts_bare' -c "$def"
    copy "contacts_bare, + ${def#CREATE }" contacts_bare contacts.bin
  done
