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
if ! python3 -c "import aiosmtpd, icalendar" >/dev/null 2>&1; then
    echo "Installing aiosmtpd and icalendar (the fake mail server, the independent .ics parser) ..." >&2
    python3 -m pip install --quiet aiosmtpd icalendar 2>/dev/null || python3 -m pip install --quiet --break-system-packages aiosmtpd icalendar
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "Installing systemd (for systemd-analyze verify of the unit) ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq systemd >/dev/null
fi

# The LAN tests run real D-Bus and avahi-daemon processes in network namespaces of their own;
# the relay's TLS tests make a throw-away CA with the openssl command line.
lan_packages=(iproute2 util-linux dbus-daemon avahi-daemon avahi-utils openssl)
lan_missing=()
for package in "${lan_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || lan_missing+=("$package")
done
if [ "${#lan_missing[@]}" -gt 0 ]; then
    echo "Installing ${lan_missing[*]} (LAN discovery and TLS tests) ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Never let the package start a system-wide avahi-daemon on this machine's real network:
    # the tests start their own, confined to their namespaces.
    added_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        added_policy=1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${lan_missing[@]}" >/dev/null
    [ -z "$added_policy" ] || $SUDO rm -f /usr/sbin/policy-rc.d
fi

# The web app: esbuild (Debian's 0.17) rebuilds its bundle to compare with the embedded one; node
# runs the catalogue check; Debian's Chromium, driven by Playwright for Python (never
# `playwright install`), runs the browser tests, with axe-core (axe-playwright-python) for the
# accessibility checks.
web_packages=(esbuild node-qrcode-generator chromium fonts-dejavu-core)
command -v node >/dev/null 2>&1 || web_packages+=(nodejs)
web_missing=()
for package in "${web_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || web_missing+=("$package")
done
if [ "${#web_missing[@]}" -gt 0 ]; then
    echo "Installing ${web_missing[*]} (the web app's build check and browser tests) ..." >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${web_missing[@]}" >/dev/null
fi
for module in playwright:playwright pytest:pytest axe_playwright_python:axe-playwright-python; do
    if ! python3 -c "import ${module%%:*}" >/dev/null 2>&1; then
        echo "Installing ${module#*:} (browser tests) ..." >&2
        python3 -m pip install --quiet "${module#*:}" 2>/dev/null || python3 -m pip install --quiet --break-system-packages "${module#*:}"
    fi
done

# Sets EDGENODE_TEST_POSTGRES_URL (unless already set) and stops the cluster when this script exits.
source scripts/start-test-postgres.sh

# The web app's embedded assets must be what webapp/ builds to (run scripts/build-webapp.py after
# changing webapp/, and commit Sources/LocalAPI/WebApp/WebAssets.generated.swift).
python3 scripts/build-webapp.py --check

swift build --build-tests

# A hang must fail the run with a diagnosis instead of using up CI's time: after
# EDGENODE_TEST_TIMEOUT_SECONDS (default 2400; the suite takes a few minutes), print where every
# thread of the test process is (with gdb, when installed) and stop it. The tests run in a session
# of their own, so that everything they started (daemons, avahi-daemon, D-Bus) is stopped with them,
# and write their lines as they happen (so a log cut short still shows what was running).
limit_seconds="${EDGENODE_TEST_TIMEOUT_SECONDS:-2400}"
setsid stdbuf -oL -eL swift test &
test_session=$!
stop_tests() { pkill -KILL -s "$test_session" 2>/dev/null || true; }
trap 'stop_tests; exit 130' INT TERM
(
    sleep "$limit_seconds"
    echo "scripts/test.sh: the tests did not finish within ${limit_seconds} s; stopping them." >&2
    for pid in $(pgrep -s "$test_session" -f 'PackageTests\.xctest' || true); do
        if command -v gdb >/dev/null 2>&1; then
            echo "--- threads of test process $pid ---" >&2
            gdb -p "$pid" -batch -ex 'thread apply all bt 20' 2>/dev/null | grep -E '^(Thread|#)' >&2 || true
        fi
    done
    pkill -KILL -s "$test_session" || true
) &
watchdog_pid=$!
status=0
wait "$test_session" || status=$?
pkill -P "$watchdog_pid" sleep 2>/dev/null || true
kill "$watchdog_pid" 2>/dev/null || true

# The web app's browser tests: real `edgenode serve` processes (the debug binary just built) and
# Debian's Chromium; screenshots of every main screen in each language go to
# .build/webapp-artifacts/. In a session of their own, with a deadline, like the Swift tests.
web_status=0
WEBAPP_BINARY="$(swift build --show-bin-path)/edgenode" setsid timeout --kill-after=10 "${WEBAPP_TEST_TIMEOUT_SECONDS:-1800}" \
    python3 -m pytest -q -p no:cacheprovider webapp/tests || web_status=$?
[ "$web_status" -eq 0 ] || echo "scripts/test.sh: the web app's browser tests failed (status $web_status)" >&2
[ "$status" -ne 0 ] || status=$web_status
exit "$status"
