#!/usr/bin/env bash
# Chromium and its driver for the demo's browser tests (tests/test_demo.py); scripts/test.sh runs this.
# On Debian as root it installs them once with apt; any failure only makes those tests skip with a message
# (GANZOO_NO_BROWSER=1: do not try).
if [ -z "${GANZOO_NO_BROWSER:-}" ] && ! command -v chromedriver >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null 2>&1 && [ -f /etc/debian_version ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
    >/dev/null 2>&1 || echo "browser.sh: could not install chromium (apt); the demo's browser tests will skip" >&2
fi
exit 0
