#!/usr/bin/env bash
# Builds the API reference (HTML, from the docstrings) into docs/api with pdoc; fails on any pdoc warning.
# tests/test_docs.py runs the same build in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(python -m pdoc dynjax --docformat markdown -o docs/api 2>&1)
echo "$log"
if grep -q "Warn" <<<"$log"; then echo "pdoc reported warnings" >&2; exit 1; fi
echo "API reference in docs/api/index.html"
