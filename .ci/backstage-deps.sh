#!/usr/bin/env bash
# Installs tools/backstage (a real Backstage catalog backend, for
# test/knowledge/backstage-source.test.ts) when it is missing or its lock changed. Run by
# `npm test` (pretest): a test-only install of ~770 packages, kept out of the gateway's own.
set -euo pipefail
cd "$(dirname "$0")/../tools/backstage"
installed=node_modules/.package-lock.json
if [ -e node_modules/@backstage/plugin-catalog-backend/package.json ] && [ -e "$installed" ] && [ ! package-lock.json -nt "$installed" ]; then
  exit 0
fi
if [ -L node_modules ]; then
  echo "tools/backstage/node_modules is a symlink to another checkout's install; not reinstalling through it" >&2
  exit 0
fi
echo "installing tools/backstage (a Backstage catalog backend, for the knowledge tests)"
npm ci --no-audit --no-fund --loglevel=error
