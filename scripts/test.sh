#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then `swift test` (which also runs the
# end-to-end tests against the real binaries, the independent PyNaCl verifier and schemathesis
# against a running demo daemon). The relay's storage suite also runs against a throw-away
# PostgreSQL that scripts/start-test-postgres.sh installs (Debian's postgresql) and starts.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh

if ! python3 -c "import nacl.signing" >/dev/null 2>&1; then
    echo "Installing PyNaCl (test helper) ..." >&2
    python3 -m pip install --quiet pynacl 2>/dev/null || python3 -m pip install --quiet --break-system-packages pynacl
fi

if ! python3 -c "import yaml" >/dev/null 2>&1; then
    python3 -m pip install --quiet pyyaml 2>/dev/null || python3 -m pip install --quiet --break-system-packages pyyaml
fi
if ! python3 -c "import schemathesis" >/dev/null 2>&1; then
    echo "Installing schemathesis (OpenAPI conformance test) ..." >&2
    python3 -m pip install --quiet schemathesis 2>/dev/null || python3 -m pip install --quiet --break-system-packages schemathesis
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "Installing systemd (for systemd-analyze verify of the unit) ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq systemd >/dev/null
fi

# Sets EDGENODE_TEST_POSTGRES_URL (unless already set) and stops the cluster when this script exits.
source scripts/start-test-postgres.sh

swift build --build-tests
swift test
