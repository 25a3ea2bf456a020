#!/usr/bin/env bash
# Regenerates workers/*/worker-configuration.d.ts from the wrangler.toml files.
source "$(dirname "$0")/lib.sh"
ensure_deps
regen_types
echo "Env types regenerated"
