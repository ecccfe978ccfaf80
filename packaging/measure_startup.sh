#!/usr/bin/env bash
# Time the bundle against the virtual environment it was built from, command by command:
#   packaging/measure_startup.sh BUNDLE_DIR [VENV_DIR] [RUNS]
# VENV_DIR defaults to .venv in the repository, RUNS to 3. Each run is a new process under
# `env -i` (PATH=/usr/bin:/bin, QT_QPA_PLATFORM=offscreen) with a new HOME; bundle and venv runs
# alternate so that both see the same machine load. The commands:
#   help    morphapp --help
#   render  morphapp render A B -o out.mp4 --frames 8 --size 256x256 --backend torch --precision fp32
#           (a fixed backend: no first-use calibration in the timing)
#   window  morphapp gui PROJECT --screenshot shot.png --window-size 1280x800, PROJECT being the
#           same 8-frame 256x256 morph; its HOME is seeded with one backend calibration made
#           beforehand (the same for both), so it times start-up, preview and screenshot.
# "Cold" here means a new process and a new HOME; the OS file cache is warm (dropping it needs root
# and slows everyone else on the machine). Prints a Markdown table: median (min) seconds, ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$(cd "${1:?usage: measure_startup.sh BUNDLE_DIR [VENV_DIR] [RUNS]}" && pwd)"
venv="$(cd "${2:-$root/.venv}" && pwd)"
runs="${3:-3}"
pairs="${MORPHAPP_TESTDATA:-/work/shared/testdata/pairs}"
a="$pairs/cat.png"
b="$pairs/dog.png"
work="$(mktemp -d -t morphapp-measure.XXXXXX)"
trap 'rm -rf "$work"' EXIT

declare -A exe=([bundle]="$bundle/morphapp" [venv]="$venv/bin/morphapp")

# run WHO HOME ARGS...: one timed run; prints seconds.
run() {
    local who="$1" home="$2"
    shift 2
    local start end
    start=$(date +%s%N)
    env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$home" \
        "${exe[$who]}" "$@" >/dev/null 2>"$work/last.log" || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s%N)
    echo "scale=3; ($end - $start) / 1000000000" | bc
}

# The window's project, and one calibrated HOME template for both programs: calibration on a busy
# 2-core machine can pick different backends run to run, and the window must time the same one.
# (Same torch/onnxruntime versions, so both read the same verdict and the same ONNX exports.)
mkdir -p "$work/seed"
env -i PATH=/usr/bin:/bin HOME="$work/seed" "${exe[venv]}" render "$a" "$b" -o "$work/seed.mp4" \
    --frames 8 --size 256x256 --save-project "$work/project.json" 2>"$work/seed.log"
echo "window runs use: $(grep -o 'backend [a-z]* [a-z0-9]*' "$work/seed.log" | head -1) (calibrated once)"

declare -A times
for ((i = 1; i <= runs; i++)); do
    for who in bundle venv; do
        home="$work/home-$who-$i"
        mkdir -p "$home-help" "$home-render"
        cp -a "$work/seed" "$home-window"
        times[help-$who]+="$(run "$who" "$home-help" --help) "
        times[render-$who]+="$(run "$who" "$home-render" render "$a" "$b" -o "$work/out-$who.mp4" \
            --frames 8 --size 256x256 --backend torch --precision fp32) "
        times[window-$who]+="$(run "$who" "$home-window" gui "$work/project.json" \
            --screenshot "$work/shot-$who.png" --window-size 1280x800) "
    done
done

stats() {  # "median (min)" of the numbers given
    tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {printf "%.2f (%.2f)", v[int((NR + 1) / 2)], v[1]}'
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minimum() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }

echo "| command | bundle s, median (min) | venv s, median (min) | bundle / venv, medians (mins) |"
echo "|---|---|---|---|"
for cmd in help render window; do
    ratio=$(echo "scale=2; $(median "${times[$cmd-bundle]}") / $(median "${times[$cmd-venv]}")" | bc)
    ratio_min=$(echo "scale=2; $(minimum "${times[$cmd-bundle]}") / $(minimum "${times[$cmd-venv]}")" | bc)
    echo "| $cmd | $(stats "${times[$cmd-bundle]}") | $(stats "${times[$cmd-venv]}") | $ratio ($ratio_min) |"
done
echo "($runs runs each on $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d))"
