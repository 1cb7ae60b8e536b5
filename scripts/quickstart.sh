#!/usr/bin/env bash
# Set up, list the zoo and sample a pretrained model to sample.png -- offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ganzoo list
.venv/bin/ganzoo sample "${1:-digits-dcgan-nonsat}" -n 64 -o sample.png --seed 0
