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


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "profile", "tag"),
    [
        ("mp4-444", "h264", "yuv444p", "High 4:4:4 Predictive", "avc1"),
        ("mp4-10bit", "h264", "yuv420p10le", "High 10", "avc1"),
        ("hevc", "hevc", "yuv420p10le", "Main 10", "hvc1"),
    ],
)
def test_10_bit_and_4_4_4_mp4_presets(
    tmp_path: Path, name: str, codec: str, pix_fmt: str, profile: str, tag: str
) -> None:
    path = tmp_path / "m.mp4"
    assert format_for_path(path).name == "mp4"  # .mp4 stays plain H.264; these are asked for by name
    with open_writer(path, fps=12, format=name) as writer:
        for frame in FRAMES:
            writer.write(frame)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        assert (context.name, context.pix_fmt, context.profile, stream.codec_tag) == (
            codec,
            pix_fmt,
            profile,
            tag,
        )
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 5
    assert all(np.abs(d.astype(int) - f).mean() < 3 for d, f in zip(decoded, FRAMES, strict=True))


def _colour_tables(path: Path) -> tuple[int, list[int]]:
    """(global table size, local table size of every image) from a GIF's blocks."""
    data = path.read_bytes()
    flags = data[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    local: list[int] = []
    while data[pos] != 0x3B:
        if data[pos] == 0x21:  # extension: label, then sub-blocks
            pos += 2
        else:  # image descriptor, optional local table, LZW code size, sub-blocks
            packed = data[pos + 9]
            size = 2 << (packed & 7) if packed & 0x80 else 0
            local.append(size)
            pos += 10 + 3 * size + 1
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    return (2 << (flags & 7)), local


def test_a_global_gif_palette_is_one_table_for_every_frame_and_decodes_faithfully(tmp_path: Path) -> None:
    frames = [*FRAMES, FRAMES[-1]]  # a held frame: the 1x1 transparent still keeps its own table
    out = {}
    for palette in ("per-frame", "global"):
        path = tmp_path / f"{palette}.gif"
        with open_writer(path, fps=12, options={"palette": palette, "dither": "none"}) as writer:
            for frame in frames:
                writer.write(frame)
        out[palette] = path
        assert not list(tmp_path.glob(".*.part*"))  # the spill file is gone with the temp output
    global_size, local = _colour_tables(out["global"])
    assert global_size == 256 and local[:5] == [0] * 5 and 0 < local[5] <= 4
    assert all(size > 2 for size in _colour_tables(out["per-frame"])[1][:5])
    assert out["global"].stat().st_size < out["per-frame"].stat().st_size
    with Image.open(out["global"]) as im:
        assert im.n_frames == 6
        for index, frame in enumerate(frames):
            im.seek(index)
            assert np.abs(np.asarray(im.convert("RGB")).astype(int) - frame).mean() < 4


def test_an_unknown_gif_palette_is_refused_before_any_frame(tmp_path: Path) -> None:
    from morphapp.errors import OutputError

    with pytest.raises(OutputError, match="GIF palette 'local'"):
        open_writer(tmp_path / "m.gif", fps=12, options={"palette": "local"})
    assert list(tmp_path.iterdir()) == []
