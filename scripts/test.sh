#!/usr/bin/env bash
# Run the whole AIVM test suite on a fresh machine: creates .venv, installs the project with
# its test dependencies, then runs ruff, mypy and pytest. Extra arguments go to pytest
# (e.g. `scripts/test.sh -m "not slow"` for the fast tests only).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

echo "== ruff"
.venv/bin/ruff check src tests benchmarks examples scripts
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -n 2 "$@"
