#!/usr/bin/env bash
# The header bomb of issue 15 against a real server: a CSV whose header is
# `email` and DASHES dashes (it folds to `email`) over ROWS rows of `x`,
# uploaded by a MEMBER. Prints what the upload got, how the job ended, the
# server's peak resident memory (VmHWM) and the database file's size.
#
#   server/benches/scripts/header_bomb.sh [SERVER_BINARY]
#   DASHES=100000 ROWS=3000 server/benches/scripts/header_bomb.sh /path/to/old/contacts-server
#
# SERVER_BINARY defaults to target/release/contacts-server.
set -euo pipefail
binary="${1:-target/release/contacts-server}"
dashes="${DASHES:-300000}"
rows="${ROWS:-5000}"
port="${PORT:-18181}"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
db="sqlite://$work/bomb.db?mode=rwc"

python3 - "$work/bomb.csv" "$dashes" "$rows" <<'PY'
import sys
path, dashes, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    f.write("email" + "-" * dashes + "\n")
    f.write("x\n" * rows)
PY
token="$("$binary" user create --name mo --role MEMBER --database-url "$db")"
RUST_LOG=warn "$binary" serve --listen "127.0.0.1:$port" --database-url "$db" >/dev/null &
server=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

echo "file: $(stat -c %s "$work/bomb.csv") bytes, header of $((5 + dashes)) characters, $rows rows"
answer="$(curl -s "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" \
  -F operations='{"query":"mutation($f: Upload!) { importContacts(file: $f) { id status } }","variables":{"f":null}}' \
  -F map='{"0":["variables.f"]}' -F 0=@"$work/bomb.csv")"
echo "upload: $answer"
job="$(printf '%s' "$answer" | python3 -c 'import json,sys; d=json.load(sys.stdin).get("data") or {}; print((d.get("importContacts") or {}).get("id",""))')"
if [ -n "$job" ]; then
  for _ in $(seq 1 600); do
    status="$(curl -s "http://127.0.0.1:$port/graphql" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"query\":\"{ importJob(id: \\\"$job\\\") { status failed } }\"}")"
    case "$status" in *SUCCEEDED*|*FAILED*) break ;; esac
    kill -0 "$server" 2>/dev/null || { status="the server died"; break; }
    sleep 0.5
  done
  echo "job: $status"
fi
grep VmHWM "/proc/$server/status" 2>/dev/null | sed 's/^/server peak memory: /' || echo "server peak memory: (the server is gone)"
echo "database: $(du -cb "$work"/bomb.db* | tail -1 | cut -f1) bytes"
