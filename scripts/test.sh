#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then `swift test` (which also runs the
# end-to-end tests against the real binaries and the independent PyNaCl verifier).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

if ! python3 -c "import nacl.signing" >/dev/null 2>&1; then
    echo "Installing PyNaCl (test helper) ..." >&2
    python3 -m pip install --quiet pynacl 2>/dev/null || python3 -m pip install --quiet --break-system-packages pynacl
fi

swift build --build-tests
swift test
