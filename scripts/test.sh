#!/usr/bin/env bash
# Set up, then run the test suite; other arguments go to pytest.
#   bash scripts/test.sh -q          # the full suite (what CI runs: .ci/run)
#   bash scripts/test.sh --fast      # the fast tier: no tests marked slow, stop at the first failure
#                                    # (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/browser.sh   # Chromium for the demo's browser tests (they skip without it)
args=()
for a in "$@"; do
  if [ "$a" = "--fast" ]; then
    args+=(-m "not slow" -x -q -p no:randomly)
  else
    args+=("$a")
  fi
done
exec .venv/bin/python -m pytest ${args[@]+"${args[@]}"}
