#!/usr/bin/env bash
# Screenshots of the sample report for the README (docs/screenshots). Run after `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
site="$(cd "${1:-out/report/GM0344/2025-03}" && pwd)"  # absolute, so a site outside the project works too
mkdir -p docs/screenshots
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
for page in overview trend compare ze_access vehicle_mix time_profile locations sectors origin visit_frequency; do
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars --window-size=1280,1500 \
    --screenshot="docs/screenshots/$page.png" "file://$site/$page.html" >/dev/null 2>&1
  echo "docs/screenshots/$page.png"
done
