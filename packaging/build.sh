#!/usr/bin/env bash
# Build morphapp as a self-contained one-folder bundle for this machine (PyInstaller), and on Linux
# a tar.gz of it with an installer. Run it inside the virtual environment to bundle:
#   packaging/build.sh [--out DIR] [--no-tar]
# What it installs into that environment when missing: morphapp itself with its ONNX extra
# (pip install -e ".[onnx]") and PyInstaller. It never installs torch: an unpinned `pip install
# torch` on Linux is the multi-GB CUDA build; install the CPU build first (see README.md).
# Output (DIR defaults to build-out/ in the repository):
#   DIR/dist/morphapp/            the bundle (run DIR/dist/morphapp/morphapp)
#   DIR/morphapp-VERSION-linux-ARCH.tar.gz   that folder plus install.sh (Linux only)
#   DIR/work/                     PyInstaller's build cache (delete freely)
set -euo pipefail

usage() {
    # The comment block at the top of this file, without its '# '.
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build-out"
make_tar=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --out=*) out="${1#--out=}"; shift ;;
        --no-tar) make_tar=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

python="${PYTHON:-python}"
command -v "$python" >/dev/null || python=python3
if [[ -z "${VIRTUAL_ENV:-}" && -z "${CONDA_PREFIX:-}" && -z "${PYTHON:-}" ]]; then
    echo "build.sh: no virtual environment is active; activate the one to bundle (or set PYTHON=...)" >&2
    exit 2
fi

# --- what the bundle needs in this environment ---------------------------------------------------
if ! "$python" -c "import torch" 2>/dev/null; then
    echo "build.sh: torch is not installed here. Install the build you want to ship first, e.g." >&2
    echo "  pip install torch --index-url https://download.pytorch.org/whl/cpu   (Linux, CPU)" >&2
    exit 2
fi
if ! "$python" -c "import morphapp, onnx, onnxruntime, PySide6, av, cv2" 2>/dev/null \
    || [[ "$("$python" -c 'import morphapp, pathlib; print(pathlib.Path(morphapp.__file__).resolve().parents[1])')" != "$root" ]]; then
    echo "build.sh: installing morphapp from $root with its ONNX extra"
    "$python" -m pip install -q -e "$root[onnx]"
fi
if ! "$python" -c "import PyInstaller" 2>/dev/null; then
    echo "build.sh: installing PyInstaller"
    "$python" -m pip install -q "pyinstaller>=6.10"
fi
if [[ "$("$python" -c 'import torch; print(torch.version.cuda or "")')" != "" ]]; then
    echo "build.sh: note: this torch is a CUDA build; the bundle will carry its CUDA libraries (GBs)" >&2
fi

# --- the bundle ------------------------------------------------------------------------------------
start=$(date +%s)
# The build must not see a user's extra site-packages or a stale PYTHONPATH.
PYTHONNOUSERSITE=1 PYTHONPATH='' "$python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$out/dist" --workpath "$out/work" "$root/packaging/morphapp.spec"
bundle="$out/dist/morphapp"
# A first check that it starts at all (the full one is packaging/smoke_test.sh).
version="$("$bundle/morphapp" --version)"
echo "build.sh: built $version in $(( $(date +%s) - start )) s: $bundle ($(du -sh "$bundle" | cut -f1))"

# --- Linux: tar.gz with the installer --------------------------------------------------------------
if [[ "$(uname -s)" == "Linux" && $make_tar == 1 ]]; then
    install -m 755 "$root/packaging/linux/install-bundle.sh" "$bundle/install.sh"
    install -m 644 "$root/packaging/linux/morphapp.desktop" "$bundle/morphapp.desktop"
    name="morphapp-${version#morphapp }-linux-$(uname -m)"
    tarball="$out/$name.tar.gz"
    # The folder inside the archive is named like the archive, so versions unpack side by side.
    tar -C "$out/dist" --transform "s,^morphapp,$name,S" -czf "$tarball" morphapp
    echo "build.sh: $tarball ($(du -h "$tarball" | cut -f1)); unpack it and run $name/install.sh"
fi
