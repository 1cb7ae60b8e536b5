#!/usr/bin/env bash
# Set up, list the zoo and sample the best MNIST model to sample.png -- offline.
# mnist-cdcgan-hinge is class-conditional: without --label it draws every digit, one row each
# (-n 100: ten of each). Another zoo model: bash scripts/quickstart.sh NAME
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ganzoo list
.venv/bin/ganzoo sample "${1:-mnist-cdcgan-hinge}" -n 100 -o sample.png --seed 0
