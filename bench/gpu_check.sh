#!/usr/bin/env bash
# bench/gpu_check.py on a lent GPU machine (the `device` tool), from the repository root there.
#
# Prepare here, once (both folders are ignored through .git/info/exclude, and travel with `carry`):
#   .whl/   wheels the GPU image lacks, for its Python 3.12: diffusers, platformdirs, importlib_metadata
#           (pip download --no-deps --only-binary=:all: --python-version 3.12 ... -d .whl NAME==VERSION)
#   .gpu/shared/testdata/pairs/   cat, dog, lion and tiger .png from ../shared (which does not travel)
# Then: run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpu"], timeout_s=600)
# On the CPU, the rehearsal: python bench/gpu_check.py --device cpu --small
set -uo pipefail
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
export PYTHONUNBUFFERED=1 MORPHAPP_SHARED="$PWD/.gpu/shared" HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
timeout 540 python3 bench/gpu_check.py --device cuda --pairs .gpu/shared/testdata/pairs \
    --json "$out/gpu_check.json" "$@" 2>&1 | tee "$out/gpu_check.log"
