#!/usr/bin/env bash
# Make sure the headless Chromium that the browser test drives is installed (Debian/Ubuntu package `chromium`).
# Quiet and quick when it is already there; installs it with apt when we are root; otherwise says what to do.
# The browser test skips with a clear reason when no Chromium is found, so this script never fails `make test`.
set -u

CHROMIUM="${GAN_LESSONS_CHROMIUM:-/usr/bin/chromium}"

# The same places tests/browser_support.py looks in.
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ -z "${GAN_LESSONS_CHROMIUM:-}" ] && command -v chromium chromium-browser google-chrome google-chrome-stable \
        >/dev/null 2>&1; then
    exit 0
fi

say() { echo "ensure_browser: $*" >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    say "no $CHROMIUM and no apt-get on this machine: the browser test will be skipped."
    say "Install Chromium with your package manager and set GAN_LESSONS_CHROMIUM=/path/to/chromium to run it."
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    SUDO=""
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        say "no $CHROMIUM and not root: the browser test will be skipped."
        say "To run it: sudo apt-get update && sudo apt-get install -y chromium"
        exit 0
    fi
else
    SUDO=""
fi

say "installing Chromium for the browser test (apt-get install chromium) ..."
log="$(mktemp)"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 \
    && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium fonts-dejavu-core >>"$log" 2>&1 \
    && [ -x "$CHROMIUM" ]; then
    say "installed $("$CHROMIUM" --version 2>/dev/null)"
    rm -f "$log"
else
    tail -n 20 "$log" >&2
    rm -f "$log"
    say "could not install Chromium: the browser test will be skipped."
    say "To run it: sudo apt-get update && sudo apt-get install -y chromium"
fi
exit 0
