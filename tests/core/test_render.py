from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from morphapp.core.cancel import CancelToken
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import BORDER_OUTER, edge_contrast
from morphapp.core.render.frames import Frame, Progress, render_frames, to_pixels, to_tensor
from morphapp.core.render.latent_cache import LatentCache
from morphapp.errors import Cancelled, InputError
from morphapp.export import open_writer
from morphapp.models.tae_codec import TaeCodec
from tests.counting_codec import CountingCodec

SIZE = (128, 96)


@pytest.fixture
def codec(taef2: TaeCodec) -> CountingCodec:
    return CountingCodec(taef2)


@pytest.fixture
def pair(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]


def _settings(**kw: object) -> MorphSettings:
    kw.setdefault("segment_frames", (6,))
    return MorphSettings(size=SIZE, **kw)  # type: ignore[arg-type]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def test_frames_start_and_end_on_the_keyframes(codec: CountingCodec, pair: list[Keyframe]) -> None:
    frames = list(render_frames(pair, codec, _settings()))
    assert len(frames) == 7 and [f.index for f in frames] == list(range(7))
    assert all(f.pixels.shape == (96, 128, 3) and f.pixels.dtype == np.uint8 for f in frames)
    for frame, keyframe in ((frames[0], pair[0]), (frames[-1], pair[1])):
        source = load_image(keyframe.path, SIZE).pixels
        roundtrip = to_pixels(codec.codec.decode(codec.codec.encode(to_tensor(source))))[0]
        inside = (slice(BORDER_OUTER, -BORDER_OUTER),) * 2  # the outer strips follow the source (edges.py)
        assert np.array_equal(frame.pixels[inside], roundtrip[inside])  # exactly the decoded keyframe latent
        assert abs(edge_contrast(frame.pixels) - edge_contrast(source)).max() < 1.0
        assert _psnr(frame.pixels, source) > 25.0
    # In-betweens really differ from both ends and move monotonically away from the first.
    mid = frames[3].pixels
    assert _psnr(mid, frames[0].pixels) < 25 and _psnr(mid, frames[-1].pixels) < 25
    distances = [np.abs(f.pixels.astype(int) - frames[0].pixels).mean() for f in frames]
    assert distances == sorted(distances)


def test_each_keyframe_is_encoded_once_and_cached(codec: CountingCodec, pair: list[Keyframe]) -> None:
    cache = LatentCache()
    list(render_frames(pair, codec, _settings(hold=2), cache=cache))
    assert codec.encodes == 2
    assert codec.decodes == 5 + 2  # 5 in-betweens + each keyframe once, holds reuse it
    list(render_frames(pair, codec, _settings(ease="ease-in-out", path="lerp"), cache=cache))
    assert codec.encodes == 2 and cache.hits == 2  # timing and path changes never re-encode
    list(render_frames(pair, codec, dataclasses.replace(_settings(), size=(64, 64)), cache=cache))
    assert codec.encodes == 4  # a new size is a new latent


def test_cancel_stops_within_one_frame(codec: CountingCodec, pair: list[Keyframe]) -> None:
    cancel = CancelToken()
    seen: list[Frame] = []
    with pytest.raises(Cancelled):
        for frame in render_frames(pair, codec, _settings(), cancel=cancel):
            seen.append(frame)
            if frame.index == 2:
                cancel.cancel()
    assert len(seen) == 3
    assert codec.decodes == 3  # not one decode after the cancel


def test_cancelled_export_leaves_no_file(codec: CountingCodec, pair: list[Keyframe], tmp_path: Path) -> None:
    target = tmp_path / "morph.mp4"
    cancel = CancelToken()
    progress: list[Progress] = []

    def on_progress(p: Progress) -> None:
        progress.append(p)
        if p.stage == "decode" and p.done == 3:
            cancel.cancel()

    with pytest.raises(Cancelled), open_writer(target, fps=12) as writer:
        for frame in render_frames(pair, codec, _settings(), cancel=cancel, progress=on_progress):
            writer.write(frame.pixels)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    assert [p.stage for p in progress][:2] == ["encode", "encode"]


def test_frames_can_be_rendered_in_any_order(codec: CountingCodec, pair: list[Keyframe]) -> None:
    full = list(render_frames(pair, codec, _settings()))
    picked = list(render_frames(pair, codec, _settings(), frame_indices=[3, 0, 6]))
    assert [f.index for f in picked] == [3, 0, 6]
    for frame in picked:
        assert np.array_equal(frame.pixels, full[frame.index].pixels)


def test_rendering_is_deterministic_and_batching_does_not_change_frames(
    codec: CountingCodec, pair: list[Keyframe]
) -> None:
    one = [f.pixels for f in render_frames(pair, codec, _settings())]
    two = [f.pixels for f in render_frames(pair, codec, _settings())]
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
    batched = [f.pixels for f in render_frames(pair, codec, _settings(), batch_size=4)]
    assert all(_psnr(a, b) > 50 for a, b in zip(one, batched, strict=True))


def test_three_keyframes_pingpong(codec: CountingCodec, pairs_dir: Path) -> None:
    keys = [Keyframe(pairs_dir / n) for n in ("lion.png", "tiger.png", "cat.png")]
    frames = list(render_frames(keys, codec, _settings(loop="pingpong", segment_frames=(3,))))
    assert len(frames) == 12
    assert np.array_equal(frames[3].pixels, frames[9].pixels)  # tiger, on the way there and back
    assert np.array_equal(frames[1].pixels, frames[11].pixels)  # same in-between both ways


def test_bad_keyframe_is_an_input_error_naming_the_file(
    codec: CountingCodec, pair: list[Keyframe], tmp_path: Path
) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    with pytest.raises(InputError, match="notes.png"):
        list(render_frames([pair[0], Keyframe(bad)], codec, _settings()))
    with pytest.raises(InputError, match="at least two keyframes"):
        list(render_frames(pair[:1], codec, _settings()))
