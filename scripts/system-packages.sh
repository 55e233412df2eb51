#!/usr/bin/env bash
# Installs the Debian packages that the test suite drives for real, when they are missing.
# Needs root (CI runs as root); elsewhere it says what to install and carries on.
set -euo pipefail

wanted=()
[ -x /usr/bin/chromium ] || wanted+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || wanted+=(nginx-light)
[ ${#wanted[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "system-packages: missing ${wanted[*]}; install them with: sudo apt-get install -y ${wanted[*]}" >&2
  exit 0
fi
echo "system-packages: installing ${wanted[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
# nginx's package starts a server on port 80; the tests start their own.
if [[ " ${wanted[*]} " == *" nginx-light "* ]]; then
  service nginx stop >/dev/null 2>&1 || nginx -s stop >/dev/null 2>&1 || true
fi
