#!/usr/bin/env bash
# Create or reuse .venv and install Playbook Q&A with everything it needs. Safe to re-run:
# a stamp of pyproject.toml + constraints.txt skips the install when nothing changed.
#
# Where a fresh machine's time goes (2 cores): compiling llama-cpp-python (~5 min of CPU) and
# downloading/unpacking ~2.5 GB of wheels (mostly I/O). They overlap here: the llama.cpp wheel
# is built in the background (`pip wheel`, into .venv/wheels, so a re-run never rebuilds it)
# while the rest installs, then the second pip call only adds it and the dev tools.
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
  pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
  wheels=.venv/wheels
  mkdir -p "$wheels"
  llama=$(grep -E '^llama-cpp-python==' constraints.txt)
  started=$SECONDS
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> building $llama in the background (about 5 minutes on 2 cores; log: .venv/llama-build.log)"
    "${pip[@]}" wheel --no-deps "$llama" -w "$wheels" >.venv/llama-build.log 2>&1 &
    build=$!
  else
    build=""
  fi
  echo "==> installing PyTorch (CPU build) and the core packages"
  # The CPU wheel of PyTorch first: an unpinned torch would pull gigabytes of CUDA.
  "${pip[@]}" install torch==2.13.0
  "${pip[@]}" install -c constraints.txt -e ".[ui,evals]"
  echo "    core installed after $((SECONDS - started)) s"
  if [ -n "$build" ] && ! wait "$build"; then
    echo "error: building $llama failed; the last lines of .venv/llama-build.log:" >&2
    tail -20 .venv/llama-build.log >&2
    exit 1
  fi
  echo "==> installing the language-model extras and the dev tools"
  "${pip[@]}" install --find-links "$wheels" -c constraints.txt -e ".[all,dev]"
  echo "    everything installed after $((SECONDS - started)) s"
  echo "$want" > "$stamp"
fi
