#!/usr/bin/env bash
# Checks the Prometheus alert rules: `promtool check rules` (syntax, PromQL, templates) and
# `promtool test rules` (every alert fires where it should and stays silent where it should not).
# Exit 77 (skipped) when promtool is missing; it comes in the Debian package "prometheus".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../prometheus"

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool.sh: promtool not found (apt-get install prometheus); skipped" >&2
  exit 77
fi

promtool --version 2>&1 | head -n 1
promtool check rules resetscope.rules.yml
promtool test rules resetscope.rules.test.yml
