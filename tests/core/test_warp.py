"""Shape-aware morphs (issue 5): points files, the TPS warp, render integration, auto-align, report."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from morphapp.cli.main import main
from morphapp.core.align.auto import auto_align
from morphapp.core.align.warp import (
    TpsField,
    dense_field,
    pixel_grid,
    sample_positions,
    segment_field,
    warp_tensor,
)
from morphapp.core.domain.keyframes import Keyframe
from morphapp.core.domain.points import frame_to_source, load_points, parse_points, source_to_frame
from morphapp.core.domain.project import Project, load_project, save_project
from morphapp.core.domain.settings import MorphSettings
from morphapp.core.imaging.load import load_image
from morphapp.core.imaging.quality import (
    border_deviation,
    crossfade_psnr,
    edge_contrast,
    gini,
    segment_report,
)
from morphapp.core.render.frames import render_frames
from morphapp.core.render.shape_morph import ShapeMorph
from morphapp.core.timeline.plan import FrameSpec
from morphapp.errors import InputError
from morphapp.models.tae_codec import TaeCodec

POINTS_DIR = Path(__file__).resolve().parents[1] / "data" / "points"
SIZE = (128, 96)
CAT_DOG = ((0.30, 0.32, 0.29, 0.44), (0.43, 0.37, 0.34, 0.45), (0.35, 0.52, 0.31, 0.53))


# --- points files ---------------------------------------------------------------------------------


def test_points_file_flat_and_per_segment(tmp_path: Path) -> None:
    flat = tmp_path / "flat.json"
    flat.write_text("[[0.1, 0.2, 0.3, 0.4], [1, 0, 0.5, 0.5]]")
    assert load_points(flat) == (((0.1, 0.2, 0.3, 0.4), (1.0, 0.0, 0.5, 0.5)),)
    nested = tmp_path / "nested.json"
    nested.write_text("[[[0.1, 0.2, 0.3, 0.4]], []]")
    assert load_points(nested, 2) == (((0.1, 0.2, 0.3, 0.4),), ())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{}", "expected a list"),
        ("[[0.1, 0.2, 0.3]]", "point 1 must be [xa, ya, xb, yb]"),
        ("[[0.1, 0.2, 0.3, 1.5]]", "between 0 and 1"),
        ("[[0.1, 0.2, 0.3, NaN]]", "finite numbers"),
        ('[[0.1, 0.2, "a", 0.4]]', "finite numbers"),
        ("[[0.1, 0.2, true, 0.4]]", "finite numbers"),
        ("[[0.1, 0.2, 0.3, 0.4]", "not valid JSON"),
        ("[[[0.1, 0.2, 0.3, 0.4]], [[0.1, 0.2, 0.3, -0.1]]]", "segment 2: point 1"),
    ],
)
def test_bad_points_file_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "pts.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_points(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_points_file_missing_and_segment_count(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="points file not found"):
        load_points(tmp_path / "none.json")
    with pytest.raises(InputError, match=r"1 list\(s\) of points for 2 segment"):
        parse_points([[0.1, 0.2, 0.3, 0.4]], "x.json", 2)


def test_committed_point_files_are_valid() -> None:
    files = sorted(POINTS_DIR.glob("*.json"))
    assert len(files) >= 2
    for path in files:
        (points,) = load_points(path, 1)
        assert 5 <= len(points) <= 10


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_source_frame_mapping_round_trips(fit: str) -> None:
    for source in ((400, 300), (300, 400), (512, 512)):
        x, y = source_to_frame(0.3, 0.7, source, (256, 256), fit)
        assert frame_to_source(x, y, source, (256, 256), fit) == pytest.approx((0.3, 0.7))


# --- the warp field -------------------------------------------------------------------------------


def test_field_is_identity_without_points() -> None:
    assert torch.count_nonzero(segment_field((), 0.4, 12, 16)) == 0
    shape = ShapeMorph([()], "latent")
    from morphapp.core.timeline.plan import FrameSpec

    assert shape.latent("slerp", FrameSpec(1, 0, 1, 0.5, 0), {}) is None


def test_tps_exact_at_control_points_and_border_pinned() -> None:
    rng = np.random.default_rng(1)
    points = torch.tensor(rng.uniform(0.15, 0.85, (7, 2)))
    values = torch.tensor(rng.uniform(-0.1, 0.1, (7, 2)))
    field = TpsField.fit(points, values, border="pin")
    assert torch.allclose(field(points), values, atol=1e-6)
    pins = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0], [0.0, 0.5]])
    assert field(pins).abs().max() < 1e-6
    edge = torch.stack([torch.linspace(0, 1, 101), torch.zeros(101)], 1)  # between pins: nearly still
    assert field(edge).abs().max() < 0.05 * values.abs().max()


def test_tps_border_slides_along_the_edge_and_never_leaves_it() -> None:
    """The default border: corners stay, edge points move along their edge with the content."""
    points = torch.tensor([[0.5, 0.2], [0.5, 0.5], [0.2, 0.5]], dtype=torch.float64)
    values = torch.tensor(
        [[0.15, 0.0], [0.1, 0.0], [0.0, 0.12]], dtype=torch.float64
    )  # content moving right and down
    field = TpsField.fit(points, values)
    assert torch.allclose(field(points), values, atol=1e-6)
    corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    assert field(corners).abs().max() < 1e-6
    top = torch.stack([torch.linspace(0, 1, 101), torch.zeros(101)], 1).to(torch.float64)
    left = torch.stack([torch.zeros(101), torch.linspace(0, 1, 101)], 1).to(torch.float64)
    # Never across its edge (between border points the spline overshoots by under a pixel at 512²):
    # the frame never samples outside the picture, so no band of repeated or mirrored edge pixels.
    assert field(top)[:, 1].abs().max() < 0.002
    assert field(left)[:, 0].abs().max() < 0.002
    assert field(top)[50, 0] > 0.03  # the top edge's middle slides right with the content
    pinned = TpsField.fit(points, values, border="pin")
    assert pinned(top)[50, 0].abs() < 0.01


def test_warp_moves_a_feature_to_the_in_between_position() -> None:
    # A bright dot at (0.3, 0.5) in a; its partner in b is at (0.7, 0.5). At t = 0.5 warped a
    # must show the dot at (0.5, 0.5).
    height, width = 64, 64
    image = torch.zeros(1, 1, height, width, dtype=torch.float64)
    image[0, 0, 32, 19] = 1.0  # pixel centre (19.5 / 64, 32.5 / 64) ~ (0.305, 0.508)
    xa, ya = 19.5 / 64, 32.5 / 64
    points = ((xa, ya, xa + 0.4, ya),)
    field = segment_field(points, 0.5, height, width)
    warped = warp_tensor(image, sample_positions(field, -0.5), "bilinear")
    y, x = divmod(int(warped[0, 0].argmax()), width)
    assert (x + 0.5) / width == pytest.approx(xa + 0.2, abs=1.5 / width) and y == 32


@pytest.mark.parametrize("name", ["biden_trump", "lion_tiger", "cat_dog"])
def test_dense_field_matches_the_exact_spline(name: str) -> None:
    """The lattice + exact-near-points evaluation stays within 0.6 px of the exact field at 512²."""
    (points,) = load_points(POINTS_DIR / f"{name}.json", 1)
    arr = torch.tensor(points, dtype=torch.float64)
    p_a, p_b = arr[:, :2], arr[:, 2:]
    for t in (0.0, 0.3, 0.8):
        field = TpsField.fit(p_a + t * (p_b - p_a), p_b - p_a)
        exact = field(pixel_grid(512, 480))
        error = (dense_field(field, 512, 480) - exact).abs() * 512
        assert error.max() < 0.6 and error.mean() < 0.05


def _disc(centre_x: float, size: int = 128) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    inside = (xs + 0.5 - centre_x * size) ** 2 + (ys + 0.5 - size / 2) ** 2 < (size / 10) ** 2
    return np.where(inside[..., None], 230, 20).astype(np.uint8).repeat(3, axis=2)


def _bright_columns(pixels: np.ndarray) -> float:
    """Mean x (normalised) of the bright pixels."""
    xs = np.nonzero(pixels.mean(axis=2) > 128)[1]
    return float((xs + 0.5).mean() / pixels.shape[1])


def test_frame_warp_shows_one_disc_at_its_in_between_place(taef2: TaeCodec) -> None:
    """Frame mode: keyframes met in the middle shape, decoded frames warped to their own shape.
    A disc at x = 0.35 in a and 0.65 in b is one disc at 0.35 + 0.3 t in every in-between."""
    from morphapp.core.render.frames import to_pixels, to_tensor

    a, b = _disc(0.35), _disc(0.65)
    points = ((0.35, 0.5, 0.65, 0.5), (0.35, 0.4, 0.65, 0.4), (0.35, 0.6, 0.65, 0.6))

    def encode(images: np.ndarray) -> torch.Tensor:
        return taef2.encode(torch.cat([to_tensor(image) for image in images]))

    shape = ShapeMorph([points], "frame", pixels={0: a, 1: b}, encode=encode)
    latents = {0: taef2.encode(to_tensor(a)).double(), 1: taef2.encode(to_tensor(b)).double()}
    for t in (0.25, 0.5, 0.75):
        spec = FrameSpec(1, 0, 1, t, 0)
        latent = shape.latent("slerp", spec, latents)
        assert latent is not None
        frame = shape.finish(spec, to_pixels(taef2.decode(latent.float()))[0])
        bright = frame.mean(axis=2) > 128
        assert 0.6 < bright.sum() / (np.pi * (128 / 10) ** 2) < 1.4  # one disc, not two half-bright ones
        assert _bright_columns(frame) == pytest.approx(0.35 + 0.3 * t, abs=1.5 / 128)
    assert len(shape._middle) == 1  # the middle shape is encoded once per segment


def test_project_with_points_but_no_warp_renders_as_it_was_made(pair: list[Keyframe], tmp_path: Path) -> None:
    save_project(Project(tuple(pair), MorphSettings(size=SIZE, points=(CAT_DOG,))), tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["settings"]["warp"] == "frame"  # new projects say which warp they use
    del doc["settings"]["warp"]  # projects from before the key: the pixel warp of that time
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load_project(tmp_path / "old.json").settings.warp == "pixel"


# --- render integration ---------------------------------------------------------------------------


@pytest.fixture
def pair(pairs_dir: Path) -> list[Keyframe]:
    return [Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png")]


def _frames(keyframes: list[Keyframe], codec: TaeCodec, **kw: object) -> list[np.ndarray]:
    settings = MorphSettings(size=SIZE, segment_frames=(4,), **kw)  # type: ignore[arg-type]
    return [f.pixels for f in render_frames(keyframes, codec, settings)]


def test_empty_points_give_todays_frames_exactly(pair: list[Keyframe], taef2: TaeCodec) -> None:
    plain = _frames(pair, taef2)
    for frame, other in zip(plain, _frames(pair, taef2, points=((),)), strict=True):
        assert np.array_equal(frame, other)


@pytest.mark.parametrize("warp", ["frame", "pixel", "latent"])
def test_warped_morph_keeps_keyframes_and_moves_in_betweens(
    pair: list[Keyframe], taef2: TaeCodec, warp: str
) -> None:
    plain = _frames(pair, taef2)
    warped = _frames(pair, taef2, points=(CAT_DOG,), warp=warp)
    assert len(warped) == len(plain) == 5
    assert np.array_equal(warped[0], plain[0]) and np.array_equal(warped[-1], plain[-1])  # t = 0 and 1
    assert not np.array_equal(warped[2], plain[2])


def test_too_many_point_lists_is_an_input_error(pair: list[Keyframe], taef2: TaeCodec) -> None:
    with pytest.raises(InputError, match="2 segments"):
        _frames(pair, taef2, points=(CAT_DOG, CAT_DOG))


def test_project_round_trips_points(pair: list[Keyframe], tmp_path: Path) -> None:
    settings = MorphSettings(size=SIZE, points=(CAT_DOG,), warp="latent")
    save_project(Project(tuple(pair), settings), tmp_path / "p.json")
    loaded = load_project(tmp_path / "p.json").settings
    assert loaded.points == (CAT_DOG,) and loaded.warp == "latent"
    plain = tmp_path / "plain.json"
    save_project(Project(tuple(pair), MorphSettings(size=SIZE)), plain)
    assert "points" not in json.loads(plain.read_text())["settings"]
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["settings"]["points"] = [[0.1, 0.2, 0.3, 7]]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"settings\.points: point 1 has 7"):
        load_project(tmp_path / "bad.json")


# --- auto-align -----------------------------------------------------------------------------------


def test_auto_align_recovers_a_known_shift(pairs_dir: Path) -> None:
    big = load_image(pairs_dir / "sculp0.png", (320, 320)).pixels
    dx, dy = 16, 8
    a = np.ascontiguousarray(big[0:256, 0:256])
    b = np.ascontiguousarray(big[dy : dy + 256, dx : dx + 256])  # b(x) = a(x + shift)
    result = auto_align(a, b, "features")
    assert result.points, result.describe()
    moves = np.array([(xb - xa, yb - ya) for xa, ya, xb, yb in result.points]) * 256
    # Within one latent pixel (8 image pixels at 8x downscale) -- in fact much closer.
    assert np.abs(np.median(moves, axis=0) - (-dx, -dy)).max() < 1.0
    assert result.psnr_after > result.psnr_before


def test_auto_align_falls_back_on_unrelated_images() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    b = rng.integers(0, 255, (128, 128, 3), dtype=np.uint8)
    result = auto_align(a, b)
    assert result.points == () and result.method == "none" and "no warp" in result.describe()


# --- quality report -------------------------------------------------------------------------------


def test_crossfade_psnr_and_report_on_a_pixel_crossfade() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
    b = rng.integers(0, 255, (32, 32, 3)).astype(np.uint8)
    ts = [0.0, 0.25, 0.5, 0.75, 1.0]
    frames = [np.round((1 - t) * a + t * b).astype(np.uint8) for t in ts]
    assert crossfade_psnr(frames[2], a, b) > 40
    report = segment_report(frames, ts, inputs=(a, b))
    assert report.crossfade_psnr_mid > 40 and report.step_ratio == pytest.approx(1.0, abs=0.05)
    assert report.endpoint_psnr is not None and min(report.endpoint_psnr) > 90
    assert "cross-fade PSNR" in report.line() and report.as_dict()["frames"] == 5
    assert report.evenness > 0.97 and report.border < 1.0 and "evenness" in report.line()
    assert report.total_change == pytest.approx(4 * report.largest_step, rel=0.05)


def test_gini_and_evenness() -> None:
    assert gini([2.0, 2.0, 2.0, 2.0]) == pytest.approx(0.0)
    assert gini([0.0, 0.0, 0.0, 4.0]) == pytest.approx(0.75)
    assert gini([1.0, 3.0]) == pytest.approx(0.25)


def test_border_figure_sees_a_band_the_keyframes_do_not_have() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(60, 90, (64, 64, 3)).astype(np.uint8)
    b = rng.integers(160, 190, (64, 64, 3)).astype(np.uint8)
    ts = [0.0, 0.5, 1.0]
    blend = np.round((a.astype(float) + b) / 2).astype(np.uint8)
    assert border_deviation([a, blend, b], ts) < 1.0
    banded = blend.copy()
    banded[:, :6] += 30  # a light rim along the left edge of the in-between only
    assert border_deviation([a, banded, b], ts) == pytest.approx(30, abs=1.0)
    assert edge_contrast(banded)[2] == pytest.approx(30, abs=1.0)  # (top, bottom, left, right)


# --- CLI ------------------------------------------------------------------------------------------


def _cli(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def test_cli_points_report_and_sidecar(pairs_dir: Path, tmp_path: Path, model_path_env: str) -> None:
    points = tmp_path / "pts.json"
    points.write_text(json.dumps([list(p) for p in CAT_DOG]))
    out = tmp_path / "frames"
    code, stdout, err = _cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--size", "64x48",
        "--frames", "5", "--points", points, "--report", "--save-project", tmp_path / "p.json", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert "segment 1: cross-fade PSNR" in stdout
    sidecar = json.loads((out / "morph.json").read_text())
    assert sidecar["metadata"]["settings"]["points"] and sidecar["metadata"]["report"][0]["frames"] == 5
    project = json.loads((tmp_path / "p.json").read_text())
    assert project["report"][0]["segment"] == 0 and project["settings"]["warp"] == "frame"


def test_cli_bad_points_file_is_a_one_line_error(pairs_dir: Path, tmp_path: Path) -> None:
    points = tmp_path / "pts.json"
    points.write_text("[[0.1, 0.2, 0.3]]")
    code, _, err = _cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif", "--points", points
    )
    assert code == 2 and str(points) in err and "[xa, ya, xb, yb]" in err
    assert not (tmp_path / "m.gif").exists()


def test_settings_reject_unknown_warp() -> None:
    with pytest.raises(InputError, match="--warp"):
        dataclasses.replace(MorphSettings(), warp="magic").validate()


def test_cli_align_auto_reports_what_it_did(pairs_dir: Path, tmp_path: Path, model_path_env: str) -> None:
    code, stdout, err = _cli(
        "render", pairs_dir / "realdog0.jpg", pairs_dir / "realdog1.jpg", "-o", tmp_path / "m.gif",
        "--size", "64x64", "--frames", "3", "--align", "auto", "--report",
    )  # fmt: skip
    assert code == 0, err
    assert "segment 1: auto-align:" in err and "segment 1: cross-fade PSNR" in stdout
    code, _, err = _cli(
        "render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "n.gif", "--align", "auto",
        "--points", POINTS_DIR / "sculp.json",
    )  # fmt: skip
    assert code == 2 and "one or the other" in err
