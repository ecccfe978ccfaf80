"""Make the README's pictures with the tool itself: a morph strip and a window screenshot.

The keyframes are drawn here (a day and a night landscape) so the pictures in the repository
carry no third-party photos. Run from the repository root with a model on the model path,
under a real X server for a real window (e.g. ``xvfb-run -s "-screen 0 1920x1080x24"``):

    MORPHAPP_MODEL_PATH=../shared/models python docs/make_readme_pictures.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 256
OUT = Path(__file__).with_name("morph-strip.jpg")
SCREENSHOT = Path(__file__).with_name("window.png")
SHAPES = Path(__file__).with_name("shape-morph.jpg")
ARITHMETIC = Path(__file__).with_name("latent-arithmetic.jpg")
MUSIC = Path(__file__).with_name("window-music.png")
REFRAMED = Path(__file__).with_name("align-default.jpg")


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    ramp = np.linspace(0.0, 1.0, SIZE)[:, None, None]
    rows = (1 - ramp) * np.array(top) + ramp * np.array(bottom)
    return Image.fromarray(np.repeat(rows, SIZE, axis=1).astype(np.uint8))


Colour = tuple[int, int, int]


def _hills(draw: ImageDraw.ImageDraw, colour: Colour, base: int, amp: float, phase: float) -> None:
    xs = np.arange(SIZE + 1)
    ys = base - amp * (np.sin(xs / 37.0 + phase) + 0.5 * np.sin(xs / 13.0 + 2 * phase))
    draw.polygon([(0, SIZE), *zip(xs.tolist(), ys.tolist(), strict=True), (SIZE, SIZE)], fill=colour)


def day(sun: bool = True) -> Image.Image:
    img = _gradient((90, 160, 235), (200, 230, 250))
    draw = ImageDraw.Draw(img)
    if sun:
        draw.ellipse((160, 30, 215, 85), fill=(255, 220, 90))
    _hills(draw, (95, 160, 80), 175, 14, 0.0)
    _hills(draw, (60, 125, 55), 210, 10, 1.7)
    return img.filter(ImageFilter.GaussianBlur(0.8))


def night() -> Image.Image:
    img = _gradient((10, 14, 45), (60, 50, 110))
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(3)
    for x, y in rng.integers(0, [SIZE, 150], size=(60, 2)):
        draw.point((int(x), int(y)), fill=(240, 240, 255))
    draw.ellipse((50, 35, 95, 80), fill=(235, 235, 215))
    _hills(draw, (40, 45, 80), 165, 30, 2.5)
    _hills(draw, (20, 25, 45), 205, 12, 0.4)
    return img.filter(ImageFilter.GaussianBlur(0.6))


# Two drawn faces in different places and sizes; their features are known by construction,
# so the correspondence points for the shape-aware strip need no hand placing.
FACES = {"a": (88, 120, 56), "b": (166, 136, 78)}  # centre x, centre y, radius


def face(which: str) -> Image.Image:
    cx, cy, r = FACES[which]
    img = _gradient((235, 225, 205), (200, 190, 170))
    draw = ImageDraw.Draw(img)
    skin = (240, 200, 150) if which == "a" else (190, 140, 100)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=skin, outline=(60, 40, 30), width=3)
    for ex in (cx - 0.4 * r, cx + 0.4 * r):
        draw.ellipse((ex - 0.12 * r, cy - 0.32 * r, ex + 0.12 * r, cy - 0.08 * r), fill=(40, 40, 60))
    draw.arc(
        (cx - 0.45 * r, cy + 0.05 * r, cx + 0.45 * r, cy + 0.55 * r), 20, 160, fill=(150, 40, 40), width=4
    )
    return img.filter(ImageFilter.GaussianBlur(0.6))


def face_points() -> list[list[float]]:
    """Eyes, mouth corners and the head's outline, as [xa, ya, xb, yb] in 0..1."""

    def features(which: str) -> list[tuple[float, float]]:
        cx, cy, r = FACES[which]
        eyes = [(cx - 0.4 * r, cy - 0.2 * r), (cx + 0.4 * r, cy - 0.2 * r)]
        mouth = [(cx - 0.42 * r, cy + 0.38 * r), (cx + 0.42 * r, cy + 0.38 * r)]
        outline = [(cx, cy - r), (cx, cy + r), (cx - r, cy), (cx + r, cy)]
        spots = eyes + mouth + outline
        return [(x / SIZE, y / SIZE) for x, y in spots]

    return [[*pa, *pb] for pa, pb in zip(features("a"), features("b"), strict=True)]


def mountains(seed: int = 5) -> Image.Image:
    """A drawn mountain scene with some texture (768 px), to be framed twice."""
    rng = np.random.default_rng(seed)
    n = 768
    ramp = np.linspace(0.0, 1.0, n)[:, None, None]
    sky = (1 - ramp) * np.array((70, 130, 215)) + ramp * np.array((210, 225, 240))
    img = Image.fromarray(np.repeat(sky, n, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    xs = np.arange(n + 1)

    def ridge(base: float, amp: float, phase: float, colour: Colour) -> np.ndarray:
        ys = base - amp * (np.abs(np.sin(xs / 150 + phase)) + 0.35 * np.sin(xs / 41 + 2 * phase)
                           + 0.15 * np.sin(xs / 11 + phase))  # fmt: skip
        draw.polygon([(0, n), *zip(xs.tolist(), ys.tolist(), strict=True), (n, n)], fill=colour)
        return ys

    peaks = ridge(430, 260, 0.3, (105, 110, 130))
    for x, y in zip(xs[::3].tolist(), peaks[::3].tolist(), strict=True):
        if y < 260:  # snow on the high ground
            draw.line([(x, y), (x, y + (260 - y) * 0.6)], fill=(235, 238, 245), width=3)
    ridge(560, 90, 1.9, (70, 95, 75))
    ridge(650, 40, 3.1, (50, 80, 55))
    pixels = np.asarray(img).astype(np.float32)
    coarse = Image.fromarray(rng.normal(0, 1, (n // 4, n // 4)).astype(np.float32))
    texture = np.asarray(coarse.resize((n, n), Image.Resampling.BICUBIC)) * 14 + rng.normal(0, 6, (n, n))
    ground = np.abs(pixels - sky.astype(np.float32)).sum(axis=2) > 30  # not sky
    pixels[ground] += texture[ground][:, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))


def reframed_row(folder: Path) -> Image.Image:
    """One mountain framed wide and framed closer and higher: --align none above, the default below."""
    scene = mountains()
    # Square crops: one scene at two zooms (a camera move), not squeezed differently along each axis.
    scene.crop((0, 0, 768, 768)).resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(folder / "wide.png")
    scene.crop((200, 40, 620, 460)).resize((SIZE, SIZE), Image.Resampling.LANCZOS).save(folder / "close.png")
    keys = [folder / "wide.png", folder / "close.png"]
    plain = render_strip(keys, folder / "reframed-plain", "--align", "none")
    aligned = render_strip(keys, folder / "reframed-aligned")
    both = Image.new("RGB", (plain.width, 2 * plain.height + 8), (255, 255, 255))
    both.paste(plain, (0, 0))
    both.paste(aligned, (0, plain.height + 8))
    return both


def render_strip(keys: list[Path], out: Path, *extra: str) -> Image.Image:
    subprocess.run(
        [sys.executable, "-m", "morphapp", "render", *map(str, keys), "-o", str(out),
         "--size", f"{SIZE}x{SIZE}", "--frames", "6", "--quiet", *extra],
        check=True,
    )  # fmt: skip
    pictures = [Image.open(p).convert("RGB") for p in sorted(out.glob("frame_*.png"))]
    thumb = 160
    strip = Image.new("RGB", (thumb * len(pictures) + 4 * (len(pictures) - 1), thumb), (255, 255, 255))
    for i, picture in enumerate(pictures):
        strip.paste(picture.resize((thumb, thumb), Image.Resampling.LANCZOS), (i * (thumb + 4), 0))
    return strip


def arithmetic_row(folder: Path) -> Image.Image:
    """day - day without its sun + night, evaluated on TAEF2 latents by an ``expr:`` keyframe."""
    day().save(folder / "day.png")
    day(sun=False).save(folder / "day_nosun.png")
    night().save(folder / "night.png")
    terms = [folder / n for n in ("day.png", "day_nosun.png", "night.png")]
    expression = f"expr:{terms[2]} + {terms[0]} - {terms[1]}"
    out = folder / "arith"
    subprocess.run(
        [sys.executable, "-m", "morphapp", "render", str(terms[2]), expression, "-o", str(out),
         "--size", f"{SIZE}x{SIZE}", "--frames", "2", "--quiet"],
        check=True,
    )  # fmt: skip
    result = Image.open(sorted(out.glob("frame_*.png"))[-1]).convert("RGB")  # the expression keyframe
    tiles = [Image.open(p).convert("RGB") for p in (terms[2], terms[0], terms[1])] + [result]
    thumb, gap = 160, 36
    row = Image.new("RGB", (4 * thumb + 3 * gap, thumb), (255, 255, 255))
    draw = ImageDraw.Draw(row)
    for i, (tile, sign) in enumerate(zip(tiles, ["+", "-", "="], strict=False)):
        row.paste(tile.resize((thumb, thumb), Image.Resampling.LANCZOS), (i * (thumb + gap), 0))
        x = i * (thumb + gap) + thumb + gap // 2
        draw.text((x, thumb // 2), sign, fill=(0, 0, 0), anchor="mm", font_size=30)
    row.paste(tiles[3].resize((thumb, thumb), Image.Resampling.LANCZOS), (3 * (thumb + gap), 0))
    return row


def drum_track(path: Path, bpm: float = 120.0, seconds: float = 10.0) -> None:
    """A synthetic beat (a kick on every beat, a softer hat between), so no music is committed."""
    rate = 22_050
    rng = np.random.default_rng(1)
    samples = np.zeros(int(seconds * rate))
    beat = 60.0 / bpm
    t = np.arange(int(0.25 * rate)) / rate
    kick = np.sin(2 * np.pi * (60 + 90 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    hat = rng.standard_normal(int(0.05 * rate)) * np.exp(-np.arange(int(0.05 * rate)) / 300) * 0.25
    for i in range(int(seconds / beat)):
        at = int((0.4 + i * beat) * rate)
        for sound, offset in ((kick, 0), (hat, int(beat / 2 * rate))):
            part = samples[at + offset : at + offset + len(sound)]
            part += sound[: len(part)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767 * 0.8).astype(np.int16).tobytes())


def music_screenshot(folder: Path) -> None:
    """The window with music: keyframes snapped to the beats by ``--audio``, the strip under the timeline."""
    drum_track(folder / "beat.wav")
    project = folder / "music.json"
    keys = [str(folder / n) for n in ("day.png", "night.png", "day_nosun.png")]
    subprocess.run(
        [sys.executable, "-m", "morphapp", "render", *keys, "--audio", str(folder / "beat.wav"),
         "--beats-per-keyframe", "8", "--size", "512x512", "-o", str(folder / "music.mp4"),
         "--save-project", str(project), "--quiet"],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "morphapp", "gui", str(project), "--screenshot", str(MUSIC),
         "--window-size", "1280x800"],
        check=True,
    )  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        day().save(folder / "day.png")
        night().save(folder / "night.png")
        render_strip([folder / "day.png", folder / "night.png"], folder / "frames").save(OUT, quality=90)
        print(f"wrote {OUT}")
        arithmetic_row(folder).save(ARITHMETIC, quality=90)
        print(f"wrote {ARITHMETIC}")
        music_screenshot(folder)
        print(f"wrote {MUSIC}")
        reframed_row(folder).save(REFRAMED, quality=90)
        print(f"wrote {REFRAMED}")

        face("a").save(folder / "face_a.png")
        face("b").save(folder / "face_b.png")
        points = folder / "points.json"
        points.write_text(json.dumps(face_points()))
        keys = [folder / "face_a.png", folder / "face_b.png"]
        plain = render_strip(keys, folder / "plain", "--align", "none")
        shaped = render_strip(keys, folder / "shaped", "--points", str(points))
        both = Image.new("RGB", (plain.width, 2 * plain.height + 8), (255, 255, 255))
        both.paste(plain, (0, 0))
        both.paste(shaped, (0, plain.height + 8))
        both.save(SHAPES, quality=90)
        print(f"wrote {SHAPES}")
        project = folder / "day-night.json"
        subprocess.run(
            [sys.executable, "-m", "morphapp", "render", str(folder / "day.png"), str(folder / "night.png"),
             "--size", "512x512", "--frames", "24", "--ease", "ease-in-out", "--save-project", str(project),
             "--quiet"],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "morphapp", "gui", str(project), "--screenshot", str(SCREENSHOT),
             "--window-size", "1280x800"],
            check=True,
        )  # fmt: skip
    print(f"wrote {SCREENSHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
