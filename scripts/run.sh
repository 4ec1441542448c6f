#!/usr/bin/env bash
# The product's main job: build edgenode and run a demo shop (a salon in Atyrau) on localhost.
# Prints the web app's URL first, then the API's URL and device tokens; Ctrl-C stops it and
# deletes the demo data. EDGENODE_DEMO_PORT picks the port (default 8470); further arguments go
# to `edgenode serve`, e.g. `./scripts/run.sh --log-level info` to see every request, or
# `--bind 0.0.0.0` to let the shop's tablets reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh >&2

port="${EDGENODE_DEMO_PORT:-8470}"
# The daemon refuses EDGENODE_ variables it does not know: this one is the script's.
unset EDGENODE_DEMO_PORT
swift build --product edgenode >&2
binary="$(swift build --show-bin-path)/edgenode"
exec "$binary" serve --demo --port "$port" --log-level warning "$@"
