#!/usr/bin/env bash
# The two quick-start commands of the README:
#   bash scripts/quickstart.sh chat   set up, index content/, start the chat page on 127.0.0.1:7860
#   bash scripts/quickstart.sh test   set up, run ruff, mypy, lint-imports, the whole test suite and the eval gate
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False
browser=""
if [ "${1:-}" = test ] && [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # The browser tests need Debian's chromium (about a minute): fetch it while pip works.
  mkdir -p tests/artifacts
  (apt-get update -qq && apt-get install -y -qq chromium) >tests/artifacts/chromium-install.log 2>&1 &
  browser=$!
fi
# Bytecode is written as modules are first imported (setup.sh compiles none): where
# PYTHONDONTWRITEBYTECODE is set (CI machines), every process the tests start would otherwise
# compile chromadb, gradio, torch and our own modules from source again at each import.
unset PYTHONDONTWRITEBYTECODE
case "${1:-}" in
  chat)
    bash scripts/setup.sh
    .venv/bin/playbook ingest
    if .venv/bin/python -c "import ui.app" 2>/dev/null; then
      exec .venv/bin/playbook serve
    fi
    .venv/bin/playbook ask "How do I approach a tribal team?"
    ;;
  test)
    # The gate's indexes (the suites of evals.suites.GROUPS["gate"]: cwe, 18f-handbook and npm-docs
    # take minutes of embedding) are built in the background as soon as the core packages are in,
    # while llama-cpp-python compiles (the rest of setup), the checks and pytest run. The group
    # lists cwe-dev right after the one-article playbook: tests/test_eval_gate.py runs cwe-dev over
    # the same cached index (it waits for a build in progress, or builds it when absent).
    bash scripts/setup.sh --core
    mkdir -p tests/artifacts
    .venv/bin/python -m evals.gate --prepare gate >tests/artifacts/gate-prepare.log 2>&1 &
    prepare=$!
    trap 'kill "$prepare" 2>/dev/null || true' EXIT  # a failed step must not leave it running
    bash scripts/setup.sh
    echo "==> ruff"; .venv/bin/ruff check ingest rag ui evals tests benchmarks
    echo "==> mypy"; .venv/bin/mypy
    echo "==> lint-imports (architecture contracts in pyproject.toml)"; .venv/bin/lint-imports
    if [ -n "$browser" ] && ! wait "$browser"; then
      echo "warning: installing chromium failed (tests/artifacts/chromium-install.log)" >&2
    fi
    # Two workers, whole files each (a file's fixtures are built once): many tests wait on
    # servers, browsers and subprocesses they start, which left a core idle half the time.
    echo "==> pytest"
    # A worker that crashed (a segfault in native code) once left pytest-xdist's controller
    # waiting forever: stop after 45 minutes (~10x a quiet run), interrupting so that pytest
    # still prints what failed.
    limit=()  # GNU timeout; macOS has none by default, and then pytest runs unbounded
    command -v timeout >/dev/null && limit=(timeout --signal=INT --kill-after=60 2700)
    ${limit[@]+"${limit[@]}"} \
      .venv/bin/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=20
    wait "$prepare" || echo "warning: preparing the gate's indexes failed (tests/artifacts/gate-prepare.log)" >&2
    echo "==> eval gate (playbook, cwe-dev, 18f-dev, npm-dev, checker labels; thresholds in evals/thresholds.toml)"
    .venv/bin/python -m evals.gate
    ;;
  *)
    echo "usage: bash scripts/quickstart.sh chat|test" >&2
    exit 2
    ;;
esac
