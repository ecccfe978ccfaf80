"""ProRes 422 HQ .mov, animated WebP and APNG (issue 17's exports), through the same streaming,
atomic video writer: the right codec and pixel format, every frame, faithful pixels, loop counts."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from morphapp.export import FORMATS, format_for_path, open_writer

FRAMES = [
    np.clip(np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3) + 25 * k, 0, 255).astype(np.uint8)
    for k in range(5)
]


def _write(path: Path, loop: int = 0) -> Path:
    with open_writer(path, fps=12, loop=loop) as writer:
        for frame in FRAMES:
            writer.write(frame)
    return path


def test_prores_mov_is_10_bit_422_hq_with_every_frame(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.mov")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "prores" and stream.codec_context.profile == "HQ"
        assert stream.codec_context.pix_fmt == "yuv422p10le" and stream.average_rate == 12
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 5
    assert all(np.abs(d.astype(int) - f).mean() < 3 for d, f in zip(decoded, FRAMES, strict=True))


@pytest.mark.parametrize(("suffix", "exact"), [(".apng", True), (".webp", False)])
def test_animated_webp_and_apng_hold_every_frame_and_loop(tmp_path: Path, suffix: str, exact: bool) -> None:
    for loop in (0, 3):
        path = _write(tmp_path / f"m{loop}{suffix}", loop=loop)
        with Image.open(path) as image:
            assert image.n_frames == 5 and image.size == (64, 48)
            assert image.info.get("loop") == loop  # 0: forever; 3: three plays
            errors = []
            for index, frame in enumerate(FRAMES):
                image.seek(index)
                errors.append(np.abs(np.asarray(image.convert("RGB")).astype(int) - frame).mean())
        assert max(errors) == 0 if exact else max(errors) < 3, errors  # APNG lossless, WebP near


def test_the_new_formats_are_chosen_by_suffix_and_listed() -> None:
    assert [format_for_path(Path(f"x{s}")).name for s in (".mov", ".webp", ".apng")] == [
        "mov",
        "webp",
        "apng",
    ]
    assert {"mov", "webp", "apng"} <= set(FORMATS)
