#!/usr/bin/env bash
# The whole test suite on a Debian machine, from a fresh clone:
#   Debian packages + services (scripts/setup-debian.sh test), .venv, then `make test`
#   (unasync --check, ruff, mypy, and every pytest test, PHP interop and slow ones included).
# Extra arguments go to pytest:  scripts/test.sh -k cache -x
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh test
if [ "$#" -gt 0 ]; then
    exec make test PYTEST_ARGS="$*"
fi
exec make test
