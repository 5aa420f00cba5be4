#!/usr/bin/env bash
# A CPU profile of one command with perf: where its threads spend their
# time, by thread and by function (self time, no call graph). With
# SYSTEM=1 it samples the whole machine while the command runs (`perf
# record -a`), so a database server's processes show beside ours, and
# prints the share by process as well.
#
#   server/benches/scripts/profile.sh -- target/release/contacts-server import FILE --as bench
#   SYSTEM=1 server/benches/scripts/profile.sh -- env CONTACTS_DATABASE_URL=postgres://... target/release/contacts-server import FILE --as bench
#   server/benches/scripts/profile.sh -- /path/to/target/release/deps/contact_lookup-HASH
#
# TOP (default 25) lines of each report; FREQ (default 999) samples a second.
# Needs perf and kernel.perf_event_paranoid <= 1 (or root).
set -euo pipefail
[ "${1:-}" = "--" ] && shift
top="${TOP:-25}"
freq="${FREQ:-999}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
scope=()
[ "${SYSTEM:-}" = 1 ] && scope=(-a)
echo "command: $*"
echo "load: $(uptime)"
perf record -q -F "$freq" "${scope[@]}" -o "$work/perf.data" -- "$@" >/dev/null
# head closes the pipe early; perf's SIGPIPE is not a failure.
report() { perf report -i "$work/perf.data" --stdio --no-children "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$top" || true; }
if [ "${SYSTEM:-}" = 1 ]; then
  echo "== by process"
  report --sort pid
fi
echo "== by thread"
report --sort comm
echo "== by function (self)"
report --sort comm,dso,symbol
