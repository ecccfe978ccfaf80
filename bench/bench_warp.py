"""Shape-aware morphs: plain slerp vs latent-grid warp vs pixel warp on the test pairs.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_warp.py [--size 256] [--frames 9]
        [--strips /tmp/strips] [--pairs lion_tiger,sculp,house] [--modes plain,latent,pixel,auto]

Points come from tests/data/points/<pair>.json (placed by hand). Prints one row per pair and
mode: the middle frame's cross-fade PSNR (lower: the shapes move, not a double exposure) and its
difference to plain slerp, its sharpness relative to the ends (and as % of plain's), max/mean
step, endpoint PSNR and seconds. Targets (issue 5): warped mid cross-fade PSNR >= 4 dB below
plain, sharpness >= 85% of plain's, ends >= 30 dB, step ratio <= 2. Modes: plain, latent, pixel
(hand points), auto / auto-latent (--align auto). For auto, the note adds the hand-point error:
how far (RMS, normalised) the auto warp sends each hand-placed feature of a from where the hand
put it in b, against no warp (lower: auto lines up what a person would).

Measured 2026-11-24, 512x512, 9 frames, TAEF2 fp32 on a busy 2-core CPU (mid = t 0.5):

| pair | mode | x-fade mid dB | sharp mid | step max/mean | ends dB |
|---|---|---|---|---|---|
| lion_tiger | plain | 23.78 | 0.727 | 1.03 | 34.2/33.6 |
| lion_tiger | latent | 17.65 | 0.589 (81%) | 1.15 | 34.2/33.6 |
| lion_tiger | pixel | 17.33 | 0.691 (95%) | 1.15 | 34.2/33.6 |
| sculp | plain | 30.15 | 0.503 | 1.13 | 37.5/37.7 |
| sculp | latent | 23.26 | 0.475 (94%) | 1.12 | 37.5/37.7 |
| sculp | pixel | 22.82 | 0.537 (107%) | 1.12 | 37.5/37.7 |
| house | plain | 19.40 | 1.057 | 1.14 | 21.2/26.2 |
| house | latent | 14.11 | 1.060 (100%) | 1.04 | 21.2/26.2 |
| house | pixel | 14.04 | 0.926 (88%) | 1.09 | 21.2/26.2 |

(house's ends are the codec's round trip of a finely textured photo, the same with or without a
warp.) Pixel warp is the default: lowest cross-fade PSNR and the sharpest frames; latent warp is
cheaper but softer (81% on lion_tiger). ``--align auto`` on all test pairs: see bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from morphapp.core.align.auto import auto_align
from morphapp.core.align.warp import TpsField
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.points import SegmentPoints, load_points
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import segment_report
from morphapp.core.render.frames import render_frames
from morphapp.models.discovery import find_model
from morphapp.models.tae_codec import TaeCodec

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "testdata"
POINTS = REPO / "tests" / "data" / "points"
FILES = {
    "lion_tiger": ("pairs/lion.png", "pairs/tiger.png"),
    "sculp": ("pairs/sculp0.png", "pairs/sculp1.png"),
    "house": ("pairs/house0.jpg", "pairs/house1.jpg"),
    "cat_dog": ("pairs/cat.png", "pairs/dog.png"),
    "realdog01": ("pairs/realdog0.jpg", "pairs/realdog1.jpg"),
    "realdog12": ("pairs/realdog1.jpg", "pairs/realdog2.jpg"),
    "mit_thu": ("pairs/mit.jpg", "pairs/thu.jpg"),
    # Portraits (issue 13); hand points in tests/data/points. Tuned on the first three only.
    "biden_trump": ("faces/Biden.jpg", "faces/Trump.jpg"),
    "musk_feifei": ("faces/Musk.jpg", "faces/Feifei.jpg"),
    "obama_biden": ("faces/obama.jpg", "faces/Biden.jpg"),
    "vangogh_musk": ("faces/vangogh_hat.png", "faces/Musk.jpg"),
    "trump_obama": ("faces/Trump.jpg", "faces/obama.jpg"),
    "feifei_vangogh": ("faces/Feifei.jpg", "faces/vangogh_hat.png"),
}


def carried(hand: SegmentPoints, points: SegmentPoints) -> np.ndarray:
    """Where ``points``' warp (a TPS, border sliding) sends each hand-placed feature of a."""
    arr = np.array(hand, dtype=np.float64)
    predicted = arr[:, :2].copy()
    if points:
        ctrl = torch.tensor(points, dtype=torch.float64)
        field = TpsField.fit(ctrl[:, :2], ctrl[:, 2:] - ctrl[:, :2])
        predicted += field(torch.from_numpy(arr[:, :2])).numpy()
    return predicted


def hand_error(hand: SegmentPoints, points: SegmentPoints) -> float:
    """RMS distance (normalised) from where ``points``' warp sends each hand-placed feature of a to
    where the hand put it in b (no points: the features' raw offsets). Lower: the warp lines up
    the features a person would line up."""
    wanted = np.array(hand, dtype=np.float64)[:, 2:]
    return float(np.sqrt(((carried(hand, points) - wanted) ** 2).sum(axis=1).mean()))


def hand_gain(hand: SegmentPoints, points: SegmentPoints) -> float:
    """1 - (mean error after) / (mean error with no warp), errors as in ``hand_error`` but mean, not
    RMS: the share of the hand-placed features' offsets that the warp closes (1: all, 0: none)."""
    wanted = np.array(hand, dtype=np.float64)[:, 2:]
    after = np.linalg.norm(carried(hand, points) - wanted, axis=1).mean()
    before = np.linalg.norm(carried(hand, ()) - wanted, axis=1).mean()
    return float(1.0 - after / before)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--align", default="auto", help="auto-align mode for the auto rows: auto, faces, features"
    )
    parser.add_argument("--frames", type=int, default=9, help="frames of the segment, both ends included")
    parser.add_argument("--pairs", default="lion_tiger,sculp,house")
    parser.add_argument("--modes", default="plain,latent,pixel")
    parser.add_argument("--strips", type=Path, help="save a strip PNG per pair and mode here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    codec = TaeCodec(find_model("taef2"), torch.device("cpu"), torch.float32)
    size = (args.size, args.size)
    print(f"{'pair':12} {'mode':7} {'xfade mid dB':>12} {'vs plain':>8} {'sharp mid':>9} {'% plain':>7} "
          f"{'step max/mean':>13} {'ends dB':>11} {'s':>6}  note")  # fmt: skip
    for name in args.pairs.split(","):
        a, b = FILES[name]
        keyframes = [Keyframe(DATA / a), Keyframe(DATA / b)]
        inputs = tuple(load_image(k.path, size).pixels for k in keyframes)
        plain: tuple[float, float] | None = None  # mid cross-fade dB and sharpness of plain slerp
        for mode in args.modes.split(","):
            note = ""
            settings = MorphSettings(size=size, segment_frames=(args.frames - 1,))
            if mode in ("latent", "pixel"):
                if not (POINTS / f"{name}.json").is_file():
                    continue  # no hand-placed points for this pair
                points = load_points(POINTS / f"{name}.json", 1)
                settings = dataclasses.replace(settings, points=points, warp=mode)
            elif mode.startswith("auto"):
                began = time.perf_counter()
                result = auto_align(inputs[0], inputs[1], args.align)
                note = f"align {time.perf_counter() - began:.2f} s; {result.describe()}"
                if (POINTS / f"{name}.json").is_file():  # how far the warp sends hand-placed features
                    hand = load_points(POINTS / f"{name}.json", 1)[0]
                    before, after = hand_error(hand, ()), hand_error(hand, result.points)
                    gain = hand_gain(hand, result.points)
                    note += f"; hand-point gain {gain:.2f} (RMS {before:.3f} -> {after:.3f})"
                warp = "latent" if mode == "auto-latent" else "pixel"
                settings = dataclasses.replace(settings, points=(result.points,), warp=warp)
            started = time.perf_counter()
            frames = [f.pixels for f in render_frames(keyframes, codec, settings)]
            seconds = time.perf_counter() - started
            ts = [k / (args.frames - 1) for k in range(args.frames)]
            report = segment_report(frames, ts, inputs=(inputs[0], inputs[1]))
            ends = "{:.1f}/{:.1f}".format(*report.endpoint_psnr)  # type: ignore[str-format]
            if mode == "plain":
                plain = (report.crossfade_psnr_mid, report.sharpness_mid)
            delta = f"{report.crossfade_psnr_mid - plain[0]:+8.2f}" if plain else f"{'':8}"
            share = f"{100 * report.sharpness_mid / plain[1]:6.0f}%" if plain else f"{'':7}"
            print(f"{name:12} {mode:7} {report.crossfade_psnr_mid:12.2f} {delta} {report.sharpness_mid:9.3f} "
                  f"{share} {report.step_ratio:13.2f} {ends:>11} {seconds:6.1f}  {note}")  # fmt: skip
            sys.stdout.flush()
            if args.strips:
                args.strips.mkdir(parents=True, exist_ok=True)
                strip = np.concatenate(frames, axis=1)
                Image.fromarray(strip).save(args.strips / f"{name}-{mode}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
