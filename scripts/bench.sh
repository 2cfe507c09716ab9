#!/usr/bin/env bash
# `npm run bench [-- <suite>...] [--quick] [--budget S] [--only ...]`: set-up (scripts/setup.sh), then the
# benchmark suites in bench/ (see bench/index.ts for the options). Exits non-zero when any
# benchmarked output failed its check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# compare and report only read results files: no set-up needed.
case "${1:-}" in compare | report) ;; *) bash scripts/setup.sh ;; esac
exec node --import tsx bench/index.ts "$@"
