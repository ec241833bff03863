#!/usr/bin/env bash
# Create or reuse .venv and install Playbook Q&A with everything it needs. Safe to re-run:
# a stamp of pyproject.toml + constraints.txt skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.playbook-install-stamp
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "==> installing (first run builds llama-cpp-python from source: about 5 minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # The CPU wheel of PyTorch first: an unpinned torch would pull gigabytes of CUDA.
  .venv/bin/python -m pip install --quiet torch==2.13.0
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
  echo "$want" > "$stamp"
fi
