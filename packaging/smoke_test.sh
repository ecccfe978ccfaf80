#!/usr/bin/env bash
# Smoke-test a built bundle the way a new user meets it:
#   packaging/smoke_test.sh BUNDLE_DIR [IMAGE_A IMAGE_B]
# BUNDLE_DIR: the folder holding the `morphapp` executable (build-out/dist/morphapp).
# Every bundle command runs under `env -i` with only PATH=/usr/bin:/bin (no virtual environment,
# no PYTHON* variables), an empty HOME made by mktemp -d (so no model cache, no settings, no
# calibration), no MORPHAPP_MODEL_PATH (the built-in TAEF2 must do) and, where `unshare -n` is
# allowed, no network at all. It checks:
#   1. `morphapp --version` and `morphapp --help` run;
#   2. `morphapp render A B -o morph.mp4 --frames 8 --size 256x256` writes an MP4 of 8 frames
#      (counted with ffprobe if installed, else with a Python that has PyAV: $SMOKE_PYTHON or the
#      python3 on the caller's PATH; the script says which);
#   3. `morphapp gui A B --screenshot shot.png --window-size 1280x800` (Qt offscreen) writes a
#      1280x800 PNG that is not blank (checked with Pillow from that same Python, else only
#      its size on disk).
# It exits non-zero at the first failure. The outputs stay in $SMOKE_OUT (default: a mktemp folder,
# printed at the end) so they can be looked at.
set -euo pipefail

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }

bundle="${1:?usage: smoke_test.sh BUNDLE_DIR [IMAGE_A IMAGE_B]}"
bundle="$(cd "$bundle" && pwd)"
exe="$bundle/morphapp"
[[ -x "$exe" ]] || fail "$exe is not an executable"
pairs="${MORPHAPP_TESTDATA:-/work/shared/testdata/pairs}"
image_a="$(realpath "${2:-$pairs/cat.png}")"
image_b="$(realpath "${3:-$pairs/dog.png}")"
[[ -f "$image_a" && -f "$image_b" ]] || fail "keyframe images not found: $image_a $image_b"
frames=8

out="${SMOKE_OUT:-$(mktemp -d -t morphapp-smoke-out.XXXXXX)}"
mkdir -p "$out"
home="$(mktemp -d -t morphapp-smoke-home.XXXXXX)"
trap 'rm -rf "$home"' EXIT

# The checker Python (for counting frames and looking at the PNG), found *before* the minimal
# environment: it is never on the bundle's PATH.
checker="${SMOKE_PYTHON:-$(command -v python3 || true)}"
if [[ -n "$checker" ]] && ! "$checker" -c "import av, PIL" 2>/dev/null; then checker=""; fi

isolate=()
if unshare -n true 2>/dev/null; then
    isolate=(unshare -n)
    network="none (unshare -n)"
elif unshare -rn true 2>/dev/null; then
    isolate=(unshare -rn)
    network="none (unshare -rn)"
else
    network="NOT isolated (unshare -n is not allowed here)"
fi

# Run the bundle as a user without Python would: nothing inherited but a system PATH.
run() {
    env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        XDG_RUNTIME_DIR="$home" "${isolate[@]}" "$exe" "$@"
}

echo "smoke: bundle $bundle; HOME $home (empty); network: $network"

# 1. It starts.
version="$(run --version)" || fail "morphapp --version"
run --help >"$out/help.txt" || fail "morphapp --help"
grep -q "render" "$out/help.txt" || fail "morphapp --help does not list render"
echo "smoke: ok: $version starts; --help lists the commands"

# 2. A render to MP4, with the default model and backend (auto: times torch and ONNX on first use).
start=$(date +%s%N)
run render "$image_a" "$image_b" -o "$out/morph.mp4" --frames "$frames" --size 256x256 \
    2>"$out/render.log" || { cat "$out/render.log" >&2; fail "morphapp render"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[[ -s "$out/morph.mp4" ]] || fail "morphapp render wrote no MP4"
if command -v ffprobe >/dev/null; then
    counter="ffprobe"
    count="$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames \
        -of csv=p=0 "$out/morph.mp4")"
elif [[ -n "$checker" ]]; then
    counter="PyAV in $checker (no ffprobe here)"
    count="$("$checker" -c 'import av, sys
with av.open(sys.argv[1]) as c:
    print(sum(1 for _ in c.decode(video=0)))' "$out/morph.mp4")"
else
    fail "cannot count the MP4's frames: no ffprobe, and no python3 with PyAV (set SMOKE_PYTHON)"
fi
[[ "$count" == "$frames" ]] || fail "morph.mp4 has $count frames, expected $frames (counted with $counter)"
echo "smoke: ok: render wrote morph.mp4, $count frames (counted with $counter), in $ms ms"
sed 's/^/smoke:   /' "$out/render.log"

# 3. The window, offscreen, with the same keyframes: a screenshot of the rendered preview.
run gui "$image_a" "$image_b" --screenshot "$out/shot.png" --window-size 1280x800 \
    2>"$out/gui.log" || { cat "$out/gui.log" >&2; fail "morphapp gui --screenshot"; }
[[ -s "$out/shot.png" ]] || fail "morphapp gui --screenshot wrote no PNG"
if [[ -n "$checker" ]]; then
    # Blank = one flat colour (or nearly): few distinct colours, almost no spread. The real window
    # has widgets, text and two photos in it.
    "$checker" - "$out/shot.png" <<'EOF' || fail "the screenshot is blank or the wrong size"
import sys
from PIL import Image, ImageStat

image = Image.open(sys.argv[1]).convert("RGB")
colours = len(image.getcolors(maxcolors=1 << 24) or [])
spread = max(ImageStat.Stat(image).stddev)
print(f"smoke:   screenshot {image.width}x{image.height}, {colours} colours, stddev {spread:.1f}")
sys.exit(0 if image.size == (1280, 800) and colours > 256 and spread > 10 else 1)
EOF
    echo "smoke: ok: screenshot shot.png is a 1280x800 picture with content (checked with Pillow)"
else
    # No Pillow: a flat 1280x800 PNG compresses to a few kB; the window with two photos is far larger.
    bytes=$(stat -c %s "$out/shot.png")
    (( bytes > 50000 )) || fail "the screenshot is only $bytes bytes: blank?"
    echo "smoke: ok: screenshot shot.png is $bytes bytes (no Pillow here: checked its size only)"
fi
echo "smoke: PASS ($out)"
