#!/usr/bin/env bash
# Set zoo up from a fresh checkout: system packages (where apt exists), then a virtual
# environment in .venv with zoo and its development tools installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")"

# Graphviz draws `zoo graph`; dataset-fashion-mnist ships the four original Fashion-MNIST files,
# so training and the accuracy tests need no download; chromium is the headless browser the hub
# pages are tested in (tests/test_hub_pages.py).
SYSTEM_PACKAGES=(graphviz dataset-fashion-mnist chromium)
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${SYSTEM_PACKAGES[@]}" >/dev/null
else
  echo "apt-get not found: install ${SYSTEM_PACKAGES[*]} with your package manager" >&2
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
echo "zoo is installed in .venv: run '.venv/bin/zoo list' or activate it with 'source .venv/bin/activate'"
