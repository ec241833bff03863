#!/usr/bin/env bash
# Create or reuse .venv and install Playbook Q&A with everything it needs. Safe to re-run:
# a stamp of pyproject.toml + constraints.txt skips the install when nothing changed.
#
#   bash scripts/setup.sh          everything (extras all + dev)
#   bash scripts/setup.sh --core   all but llama-cpp-python and what needs it (the llm and dev
#                                  extras): enough to index and run the evals, so the test command
#                                  builds the eval indexes while llama.cpp compiles
#
# Where a fresh machine's time goes (2 cores): unpacking ~2.5 GB of wheels, downloading the
# part that is not on local disk, and compiling llama-cpp-python (~5 min of CPU; PyPI has no
# binary wheel of it). uv does the first two in parallel and builds llama.cpp while it
# downloads: measured in one session under the same load, the CPU build of PyTorch (a local
# file) installed in 56 s with uv against 249 s with pip. pip remains the fallback when uv
# cannot be installed or fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
TORCH=torch==2.13.0  # the CPU build: an unpinned torch would pull gigabytes of CUDA
# llama.cpp's multimodal library (mtmd) is never used here: skipping it shortens the compile.
# GGML_NATIVE=OFF builds for AVX2/FMA/F16C instead of -march=native: on a Sapphire Rapids CPU
# (AMX) the native build routes the model's matrices through ggml's AMX kernels, which
# segfaulted on the first token (2026-12-02, llama-cpp-python 0.3.36; ggml-org/llama.cpp#20824).
# uv gets it as a config setting too, so a wheel cached from a native build is not reused.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF}"
LLAMA=$(grep -E '^llama-cpp-python==' constraints.txt)
LLAMA_PORTABLE=(--config-settings-package "llama-cpp-python:cmake.define.GGML_NATIVE=OFF")

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.playbook-install-stamp core_stamp=.venv/.playbook-core-stamp
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
[ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ] && exit 0
core=""
if [ "${1:-}" = --core ]; then
  core=1
  [ "$(cat "$core_stamp" 2>/dev/null || true)" = "$want" ] && exit 0
fi
CORE_EXTRAS="ui,mcp,evals"  # everything but the llm and dev extras (llama-cpp-python)

pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
# No bytecode compiled at install: compiling all ~23k files of the venv took ~100 s of CPU (at the
# end of the install, after llama.cpp's build), and most of them (transformers' model zoo, sympy,
# torch's tooling) are never imported. scripts/quickstart.sh lets Python write the bytecode of
# what is imported, once, as it is imported.
uv=(.venv/bin/uv pip install --quiet --python .venv/bin/python)
started=$SECONDS

local_torch_wheel() {
  # The CPU wheel of PyTorch where pip's configuration says local wheels lie (find-links).
  local dir
  for dir in $(.venv/bin/python -m pip config list 2>/dev/null | grep -i 'find-links' \
               | cut -d= -f2- | tr -d "'\""); do
    ls "$dir"/torch-2.13.0+cpu-*.whl 2>/dev/null | head -1
  done | head -1
}

install_with_uv() {
  if [ "$(.venv/bin/uv --version 2>/dev/null)" != "uv $UV_VERSION" ]; then
    "${pip[@]}" install "uv==$UV_VERSION" || return 1
  fi
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    local wheel
    wheel=$(local_torch_wheel)
    echo "==> installing PyTorch (CPU build${wheel:+, from $wheel})"
    if [ -n "$wheel" ]; then "${uv[@]}" --no-deps "$wheel" || return 1
    else "${pip[@]}" install "$TORCH" || return 1
    fi
  fi
  if [ -n "$core" ]; then
    echo "==> installing the core packages with uv"
    "${uv[@]}" -c constraints.txt -e ".[$CORE_EXTRAS]"
  else
    echo "==> installing everything else with uv (llama-cpp-python compiles meanwhile, ~5 min)"
    "${uv[@]}" -c constraints.txt -e ".[all,dev]" "${LLAMA_PORTABLE[@]}"
  fi
}

install_core_with_pip() {
  echo "==> installing PyTorch (CPU build) and the core packages with pip"
  "${pip[@]}" install "$TORCH"
  "${pip[@]}" install -c constraints.txt -e ".[$CORE_EXTRAS]"
}

install_with_pip() {
  # The llama.cpp wheel is built in the background (`pip wheel`, into .venv/wheels, so a re-run
  # never rebuilds it) while the rest installs; the second pip call only adds it.
  local wheels=.venv/wheels build=""
  mkdir -p "$wheels"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> building $LLAMA in the background (log: .venv/llama-build.log)"
    "${pip[@]}" wheel --no-deps "$LLAMA" -w "$wheels" >.venv/llama-build.log 2>&1 &
    build=$!
  fi
  install_core_with_pip
  if [ -n "$build" ] && ! wait "$build"; then
    echo "error: building $LLAMA failed; the last lines of .venv/llama-build.log:" >&2
    tail -20 .venv/llama-build.log >&2
    return 1
  fi
  echo "==> installing the language-model extras and the dev tools"
  "${pip[@]}" install --find-links "$wheels" -c constraints.txt -e ".[all,dev]"
}

if ! install_with_uv; then
  echo "warning: installing with uv failed; falling back to pip (slower)" >&2
  if [ -n "$core" ]; then install_core_with_pip; else install_with_pip; fi
fi
limited() {
  # `timeout SECONDS command...` where GNU timeout exists (macOS has none by default)
  local seconds=$1
  shift
  if command -v timeout >/dev/null; then timeout "$seconds" "$@"; else "$@"; fi
}

llama_decodes() {
  # One token after a prompt of a few dozen (a batched matmul), in a child process: a llama.cpp
  # built natively for an AMX CPU (before GGML_NATIVE=OFF, see CMAKE_ARGS) satisfies uv, but
  # crashes here; it is then rebuilt.
  (limited 120 .venv/bin/python - <<'PY'
from llama_cpp import Llama
from rag.llm_local import bundled_model_path
Llama(model_path=str(bundled_model_path()), n_ctx=256, verbose=False)("The playbook says " * 8,
                                                                      max_tokens=1)
PY
  ) >/dev/null 2>&1
}

rebuild_llama() {
  # Without any cache (a cached wheel may be the native build); pip reads CMAKE_ARGS.
  "${uv[@]}" -c constraints.txt --reinstall-package llama-cpp-python --no-cache \
    "${LLAMA_PORTABLE[@]}" "$LLAMA" ||
    "${pip[@]}" install --force-reinstall --no-deps --no-cache-dir "$LLAMA"
}

if [ -z "$core" ] && ! llama_decodes; then
  echo "==> the installed llama-cpp-python crashed on one token: rebuilding it (~5 min)"
  rebuild_llama
  llama_decodes || { echo "error: llama-cpp-python still crashes on one token" >&2; exit 1; }
fi
if [ -n "$core" ]; then
  echo "    core packages installed after $((SECONDS - started)) s"
  echo "$want" > "$core_stamp"
else
  echo "    everything installed after $((SECONDS - started)) s"
  echo "$want" > "$stamp"
fi
