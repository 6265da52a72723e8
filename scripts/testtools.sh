#!/usr/bin/env bash
# Installs the Debian packages the tests drive as real programs, once:
#   prometheus       the metrics tests scrape --metrics_addr with a real server
#   chromium         the dashboard test renders --ui in headless Chromium
#   chromium-driver  (kept beside chromium for WebDriver users; the test speaks CDP)
# Quick when everything is installed: it only checks the binaries.
set -euo pipefail

need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "testtools: missing ${need[*]}: run as root or apt-get install ${need[*]}" >&2
  exit 1
fi
echo "testtools: installing ${need[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# Retries: another apt-get (scripts/emulators.sh installing clang) may hold the lock.
for i in 1 2 3 4 5 6; do
  if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
    exit 0
  fi
  echo "testtools: apt-get failed (try $i), retrying in 10 s" >&2
  sleep 10
done
exit 1
