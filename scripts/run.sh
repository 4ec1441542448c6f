#!/usr/bin/env bash
# The product's main job: build edgenode and run a demo shop (a salon in Atyrau) on localhost.
# Prints the API's URL and device tokens; Ctrl-C stops it and deletes the demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

swift build --product edgenode
binary="$(swift build --show-bin-path)/edgenode"
exec "$binary" serve --demo --port "${EDGENODE_DEMO_PORT:-8470}"
