#!/usr/bin/env bash
# Regenerates workers/*/worker-configuration.d.ts from the wrangler.toml files.
source "$(dirname "$0")/lib.sh"
ensure_deps
# The gateway's secrets are typed from its .dev.vars: make sure it exists, so the types do not depend on it.
ensure_dev_vars
regen_types
echo "Env types regenerated"
