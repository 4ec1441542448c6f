#!/usr/bin/env bash
# The product's main job, for now: build edgenode, initialise a demo replica and show its status.
# (A later issue turns this into the running daemon with a demo shop.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

swift build --product edgenode
binary="$(swift build --show-bin-path)/edgenode"
data_dir="${EDGENODE_DATA_DIR:-$(mktemp -d /tmp/edgenode-demo.XXXXXX)}"
if [ ! -e "$data_dir/certificate" ]; then
    "$binary" init --data-dir "$data_dir" --branch "Atyrau Central"
    echo
fi
"$binary" status --data-dir "$data_dir"
echo
echo "Data directory: $data_dir   (try: $binary --help)"
