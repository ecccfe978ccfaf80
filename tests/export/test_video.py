"""MP4 (H.264) and WebM (VP9) output, read back from disk with PyAV."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from morphapp.export import open_writer
from tests.export.helpers import load_rgb, psnr, read_video, synthetic_frames, top_level_atoms

VIDEO = [("mp4", "h264"), ("webm", "vp9")]


@pytest.mark.parametrize(("ext", "codec"), VIDEO)
@pytest.mark.parametrize(
    ("fps", "rate"), [(24, Fraction(24)), (29.97, Fraction(2997, 100)), (30000 / 1001, Fraction(30000, 1001))]
)
def test_video_readback(tmp_path: Path, ext: str, codec: str, fps: float, rate: Fraction) -> None:
    sources = synthetic_frames(12)
    target = tmp_path / f"clip.{ext}"
    with open_writer(target, fps=fps) as writer:
        for frame in sources:
            writer.write(frame)
    facts = read_video(target)
    assert facts["codec"] == codec
    assert facts["pix_fmt"] == "yuv420p"
    assert facts["average_rate"] == rate
    assert len(facts["frames"]) == len(sources)
    assert (facts["width"], facts["height"]) == (64, 48)
    assert psnr(facts["frames"][0], sources[0]) > 30
    assert min(psnr(a, b) for a, b in zip(facts["frames"], sources, strict=True)) > 27


def test_mp4_is_faststart(tmp_path: Path) -> None:
    target = tmp_path / "fast.mp4"
    with open_writer(target, fps=24) as writer:
        for frame in synthetic_frames(6):
            writer.write(frame)
    atoms = top_level_atoms(target)
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat"), atoms


def test_mp4_photo_quality(tmp_path: Path, pairs_dir: Path) -> None:
    cat = load_rgb(pairs_dir / "cat.png")
    target = tmp_path / "cat.mp4"
    with open_writer(target, fps=24) as writer:
        for _ in range(3):
            writer.write(cat)
    facts = read_video(target)
    assert len(facts["frames"]) == 3
    assert psnr(facts["frames"][0], cat) > 35  # CRF 18 on a real photo, BT.709 both ways


@pytest.mark.parametrize(("ext", "codec"), VIDEO)
def test_odd_size_is_padded_by_edge_replication(tmp_path: Path, ext: str, codec: str) -> None:
    sources = synthetic_frames(4, width=63, height=47)
    target = tmp_path / f"odd.{ext}"
    with open_writer(target, fps=10) as writer:
        for frame in sources:
            writer.write(frame)
    facts = read_video(target)
    assert (facts["width"], facts["height"]) == (64, 48)
    first = facts["frames"][0]
    assert psnr(first[:47, :63], sources[0]) > 30
    # The added column/row repeat their neighbours (up to codec error), no black border.
    assert np.abs(first[:47, 63].astype(int) - first[:47, 62].astype(int)).mean() < 8
    assert np.abs(first[47, :63].astype(int) - first[46, :63].astype(int)).mean() < 8


@pytest.mark.parametrize(("ext", "codec"), VIDEO)
def test_metadata_in_container_comment(tmp_path: Path, ext: str, codec: str) -> None:
    metadata = {"prompt": "cat to dog", "steps": 30}
    target = tmp_path / f"meta.{ext}"
    with open_writer(target, fps=10, metadata=metadata) as writer:
        for frame in synthetic_frames(2):
            writer.write(frame)
    tags = {key.lower(): value for key, value in read_video(target)["metadata"].items()}
    assert json.loads(tags["comment"]) == metadata
