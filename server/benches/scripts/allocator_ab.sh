#!/usr/bin/env bash
# A/B of the global allocator: the contact_lookup bench built with mimalloc
# (the default, as `contacts-server` ships) and with the system allocator
# (`--features system-allocator`), run in turn AB_ROUNDS times (default 2:
# mimalloc, system, mimalloc, system), so the VM's drift hits both alike.
# Each run prints its own allocator, the machine load before it (uptime)
# and the bench's output unchanged.
#
# Then, if IMPORT_ROWS is set and target/bench-data/import-$IMPORT_ROWS.csv
# exists (the import bench writes it: BENCH_ROWS=N cargo bench -p
# contacts-server --bench import), the `contacts-server` binary of each of
# the two bench builds imports that file into an empty SQLite database, in
# turn, AB_ROUNDS times, timed by GNU time.
#
#   server/benches/scripts/allocator_ab.sh
#   BENCH_CONTACTS=1000000 BENCH_SECONDS=10 AB_ROUNDS=2 IMPORT_ROWS=1000000 server/benches/scripts/allocator_ab.sh
#
# Run from anywhere inside the workspace; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds="${AB_ROUNDS:-2}"
export BENCH_CONTACTS="${BENCH_CONTACTS:-1000000}"
export BENCH_SECONDS="${BENCH_SECONDS:-10}"
target="${CARGO_TARGET_DIR:-target}"

echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- server || echo ' (with uncommitted changes under server/)')"
echo "knobs: BENCH_CONTACTS=$BENCH_CONTACTS BENCH_SECONDS=$BENCH_SECONDS AB_ROUNDS=$rounds"

# Build both first, so no run shares the machine with a compile. Each
# build leaves its `contacts-server` binary (built with the same features)
# in $target/release; keep both for the import runs. (`cargo build
# --release` would build the library again: without the dev-dependencies,
# its dependencies get other features.)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for features in "" "system-allocator"; do
  cargo bench -q -p contacts-server --bench contact_lookup ${features:+--features "$features"} --no-run 2>/dev/null
  cp "$target/release/contacts-server" "$work/contacts-server-${features:-mimalloc}"
done

for round in $(seq 1 "$rounds"); do
  for features in "" "system-allocator"; do
    echo
    echo "== contact_lookup, round $round, features: ${features:-none}"
    echo "load: $(uptime)"
    cargo bench -q -p contacts-server --bench contact_lookup ${features:+--features "$features"} 2>/dev/null
  done
done

rows="${IMPORT_ROWS:-}"
csv="target/bench-data/import-$rows.csv"
if [ -z "$rows" ]; then
  exit 0
fi
if [ ! -f "$csv" ]; then
  echo "no $csv: run BENCH_ROWS=$rows cargo bench -p contacts-server --bench import first" >&2
  exit 1
fi
for round in $(seq 1 "$rounds"); do
  for variant in mimalloc system-allocator; do
    db="sqlite://$work/import-$variant-$round.db?mode=rwc"
    CONTACTS_DATABASE_URL="$db" RUST_LOG=warn "$work/contacts-server-$variant" user create --name bench --role ADMIN >/dev/null
    echo
    echo "== import of $rows rows into an empty SQLite database, round $round, binary: $variant"
    echo "load: $(uptime)"
    CONTACTS_DATABASE_URL="$db" RUST_LOG=warn /usr/bin/time -o "$work/time" \
      -f "wall %e s, user %U s, system %S s, peak RSS %M KiB" \
      "$work/contacts-server-$variant" import "$csv" --as bench
    cat "$work/time"
    rm -f "$work/import-$variant-$round".db*
  done
done
