#!/usr/bin/env bash
# Installs what building and testing edgenode needs, when it is missing (Debian 12).
# Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "error: the Swift 6 toolchain is not installed (expected swift on PATH or in /opt/swift)" >&2; exit 1; }

# esbuild (Debian's, 0.17) bundles the web app (scripts/build-webapp.py).
packages=(pkg-config libsqlite3-dev libsodium-dev libavahi-client-dev tzdata python3 python3-pip esbuild)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing ${missing[*]} ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
