#!/usr/bin/env bash
# The test command lives in scripts/test.sh (npm test); this is a shortcut to it.
exec bash "$(dirname "$0")/scripts/test.sh" "$@"
