#!/usr/bin/env bash
# The main job on a Debian machine, from a fresh clone: installs what it needs
# (scripts/setup-debian.sh demo), creates .venv, and runs `python -m ninja_redis demo`,
# which writes and reads Laravel-format data in a local Redis (a throwaway redis-server
# is started when none answers). Extra arguments go to the demo:
#   scripts/demo.sh --env /path/to/laravel/.env
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh demo
if [ "$#" -gt 0 ]; then
    exec make demo DEMO_ARGS="$*"
fi
exec make demo
