#!/usr/bin/env bash
# The whole platform on this machine: every Worker under workers/ in one workerd, migrated D1, demo data.
# The gateway listens on http://127.0.0.1:${PORT:-8787}.
source "$(dirname "$0")/lib.sh"
# SKIP_INSTALL=1: the caller already ran the install (the benchmark starts two platforms).
if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi
ensure_dev_vars
build_console
SKIP_INSTALL=1 bash scripts/migrate.sh
PORT="${PORT:-8787}"
# Every workers/*/wrangler.toml, the gateway's first (the first config is the one that serves the port).
read_workers CONFIGS configs
# Telemetry (docs/observability.md): OTEL_* variables in this shell reach every Worker (--var would
# reach the gateway only), through a copy of each config with them in [vars].
if [ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  mapfile -t CONFIGS < <(node scripts/lib/otel-configs.mjs "${CONFIGS[@]}")
  echo "exporting traces and metrics to $OTEL_EXPORTER_OTLP_ENDPOINT"
fi
echo "starting the platform on http://127.0.0.1:$PORT (docs: /docs, API: /openapi.json)"
# The issuer is pinned to the address served, as ISSUER is in production: token `iss` and the
# discovery URLs never come from a request's Host header. WEBHOOKS_ALLOW_LOOPBACK lets a webhook
# point at a receiver on this machine (http://127.0.0.1:...), and retries come after 2 s, 4 s, ...
# instead of 30 s, 1 min, ... (wrangler.toml holds the production values and never sets the first).
exec wrangler dev "${CONFIGS[@]}" \
  --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE_DIR" --show-interactive-dev-session=false \
  --var "ISSUER:http://127.0.0.1:$PORT" --var "WEBHOOKS_ALLOW_LOOPBACK:on" --var "WEBHOOK_RETRY_BASE_SECONDS:2" "$@"
