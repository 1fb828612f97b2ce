#!/bin/sh
# Browser tests use Debian's Chromium (Playwright drives it by path; it never
# downloads a browser of its own). Install it when missing and we may.
set -e
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[kassa] installing Debian chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "[kassa] /usr/bin/chromium is missing: browser tests will be skipped (apt-get install chromium)"
fi
