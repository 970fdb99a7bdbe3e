#!/usr/bin/env bash
# Unpacks Debian's nginx and caddy (no install, no service started) so test/docs/operations.test.ts
# can run `nginx -t` and `caddy validate` on the examples in docs/operations.md:
#   eval "$(bash tools/docs/proxy-binaries.sh)" && npx vitest run test/docs/operations.test.ts
set -euo pipefail
dir="${1:-${TMPDIR:-/tmp}/gatehouse-proxy-bin}"
mkdir -p "$dir/debs" "$dir/root"
(cd "$dir/debs" && apt-get download nginx caddy >&2)
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
echo "export GATEHOUSE_TEST_NGINX=$dir/root/usr/sbin/nginx GATEHOUSE_TEST_CADDY=$dir/root/usr/bin/caddy"
