#!/usr/bin/env bash
# The image's entry point. `serve` (the default command) migrates both stores, then replaces
# this shell with `footfall serve`, so SIGTERM reaches footfall itself, which stops taking
# requests, answers those in flight and flushes the write-ahead log before it exits.
# `healthcheck` is the image's HEALTHCHECK; anything else is a footfall command
# (`backup create --to /backups`, `user create ...`).
set -euo pipefail

case "${1:-serve}" in
  serve)
    shift || true
    footfall migrate
    exec footfall serve "$@"
    ;;
  healthcheck)
    exec python -c '
import os, sys, urllib.request
port = os.environ.get("HTTP_PORT", "8000")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=4) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception as error:
    print(f"footfall: health check failed: {error}", file=sys.stderr)
    sys.exit(1)
'
    ;;
  *)
    exec footfall "$@"
    ;;
esac
