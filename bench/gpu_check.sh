#!/usr/bin/env bash
# bench/gpu_check.py on a lent GPU machine (the `device` tool), from the repository root there.
#
#   bash bench/gpu_check.sh prepare     # here, once: fills .whl/ and .gpu/ (ignored; they travel with carry)
#   run(command="bash bench/gpu_check.sh", carry=[".whl", ".gpu"], timeout_s=600)   # on the GPU machine
#   python bench/gpu_check.py --device cpu --small                                 # the CPU rehearsal
#
# .whl/: the wheels the GPU image lacks, for its Python 3.12: diffusers and platformdirs (diffusers'
# importlib_metadata requirement is the standard library's importlib.metadata there).
# .gpu/shared/: the test photos and TAEF2 from ../shared, which does not travel; the tests read them
# there through MORPHAPP_SHARED.
set -uo pipefail
if [ "${1:-}" = prepare ]; then
    set -e
    shared="${SHARED:-../shared}"
    git_dir="$(git rev-parse --git-common-dir)"
    mkdir -p "$git_dir/info"
    for ignored in /.whl/ /.gpu/; do
        grep -qx "$ignored" "$git_dir/info/exclude" 2>/dev/null || echo "$ignored" >>"$git_dir/info/exclude"
    done
    versions="$(python -c 'import diffusers, platformdirs; print(diffusers.__version__, platformdirs.__version__)')"
    read -r diffusers_version platformdirs_version <<<"$versions"
    python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
        "diffusers==$diffusers_version" "platformdirs==$platformdirs_version"
    mkdir -p .gpu/shared/testdata/pairs .gpu/shared/models
    cp "$shared"/testdata/pairs/{cat,dog,lion,tiger}.png .gpu/shared/testdata/pairs/
    cp -r "$shared/models/taef2" .gpu/shared/models/
    du -sh .whl .gpu
    exit 0
fi
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
timeout -k 15 530 python3 bench/gpu_check.py --device cuda --pairs .gpu/shared/testdata/pairs \
    --json "$out/gpu_check.json" "$@" 2>&1 | tee "$out/gpu_check.log"
