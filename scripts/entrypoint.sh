#!/bin/sh
# The container's entry point: prepare the database, then run the container's command
# (gunicorn by default). `make deploy-check` runs this same script outside Docker.
#
#   MIGRATE_ON_START=1   apply migrations first (default); set 0 on app servers when a
#                        separate release job migrates (docs/scaling.md)
#   SEED_DATA=1          also load the cited seed data (idempotent)
#   PYTHON               the interpreter (default: python on PATH, the image's venv)
set -eu

cd "$(dirname "$0")/.."

if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
    "${PYTHON:-python}" scripts/release.py
fi

exec "$@"
