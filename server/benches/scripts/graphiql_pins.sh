#!/usr/bin/env bash
# Checks the Subresource Integrity hashes of the GraphiQL page against the
# npm registry: for every `https://cdn.jsdelivr.net/npm/PKG@VERSION/FILE` in
# server/src/http/graphiql.html it runs `npm pack PKG@VERSION`, hashes FILE
# from the tarball (the CDN serves it unchanged) with
#
#   openssl dgst -sha384 -binary FILE | openssl base64 -A
#
# and compares the result with the tag's `integrity`. To bump a version,
# edit the version in the page's URL and run this with --write, which puts
# the new hashes into the page.
#
#   server/benches/scripts/graphiql_pins.sh           # check; exit 1 on a mismatch
#   server/benches/scripts/graphiql_pins.sh --write   # rewrite the integrity values
set -euo pipefail
page="$(cd "$(dirname "$0")/../.." && pwd)/src/http/graphiql.html"
write=false
[[ "${1:-}" == "--write" ]] && write=true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
while read -r url; do
  rest="${url#https://cdn.jsdelivr.net/npm/}"
  spec="${rest%%/*}"    # react-dom@18.3.1
  file="${rest#*/}"     # umd/react-dom.production.min.js
  dir="$work/$spec"
  if [[ ! -d "$dir" ]]; then
    mkdir -p "$dir"
    tarball="$(cd "$dir" && npm pack --silent "$spec")"
    tar xzf "$dir/$tarball" -C "$dir"
  fi
  hash="sha384-$(openssl dgst -sha384 -binary "$dir/package/$file" | openssl base64 -A)"
  current="$(grep -F "\"$url\"" "$page" | grep -o 'integrity="[^"]*"' | cut -d'"' -f2)"
  if [[ "$current" == "$hash" ]]; then
    echo "ok       $spec/$file $hash"
  elif $write; then
    # Base64 holds `/` and `+`; `|` is neither.
    sed -i "\\|\"$url\"|s|integrity=\"[^\"]*\"|integrity=\"$hash\"|" "$page"
    echo "written  $spec/$file $hash"
  else
    echo "MISMATCH $spec/$file page has ${current:-nothing}, npm has $hash"
    status=1
  fi
done < <(grep -o 'https://cdn\.jsdelivr\.net/npm/[^"]*' "$page")
exit "$status"
