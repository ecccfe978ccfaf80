"""Streaming animated-GIF writer.

Pillow's own multi-frame GIF save collects every frame before writing and merges identical
consecutive frames into one (summing their durations), which breaks held frames. So the
GIF stream is assembled here, one frame at a time: Pillow only quantizes a frame and
LZW-encodes it (a single-frame GIF in memory, whose image block is copied out), and this
module writes the container blocks (header, loop, delays, local palettes). Memory use is
one previous frame, whatever the length of the animation.

By default each frame gets its own 256-colour palette (``palette="per-frame"``): the best
colours for every frame. ``palette="global"`` uses one palette for the whole animation (the
GIF's global colour table, no per-frame table), made from frames across the whole morph (octree,
then a few k-means rounds), so those frames are kept in a raw spill file beside the temp output
until the end (memory stays one frame; disk is width x height x 3 per frame). One slot of that
table is transparent: a pixel whose palette index does not change is not stored again, so with
``dither="ordered"`` (a Bayer pattern fixed to the pixel grid, or ``"none"``) a still area is
byte-identical from frame to frame: no shimmer, and small files. Floyd-Steinberg's pattern moves
whenever anything before it in the frame changes. ``tolerance=N`` (global palette only) also keeps
a pixel until its source has moved more than N levels from what it was drawn from; a held frame
and the last frame are drawn exactly. The "gif-web" preset uses all of this (issue 24; see
formats.py for its figures).

Per-frame palettes: only the rectangle that changed since the previous frame is encoded (frames
are drawn with disposal "leave in place"); a frame identical to the previous one becomes a 1x1
transparent frame, kept as a separate frame with its own delay.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import numpy as np
from PIL import Image

from morphapp.errors import OutputError
from morphapp.export.base import FileFrameWriter
from morphapp.export.timing import gif_delay_cs

_DITHER = {"none": Image.Dither.NONE, "floyd-steinberg": Image.Dither.FLOYDSTEINBERG}
PALETTES = ("per-frame", "global")
DITHERS = (*_DITHER, "ordered")
MAX_TOLERANCE = 32  # levels: a larger "tolerance" would leave visibly stale pixels
GLOBAL_SAMPLE_FRAMES = 16  # frames, evenly spread over the morph, that a global palette is made from
KMEANS_PIXELS = 100_000  # pixels of those frames that refine a global palette
KMEANS_ROUNDS = 6
_KMEANS_CHUNK = 16_384
_MAX_REPEATS = 0xFFFF  # the NETSCAPE loop count is 16 bits
_MAX_SIDE = 0xFFFF
_DISPOSAL_LEAVE = 1


class GifWriter(FileFrameWriter):
    """``loop=0`` plays forever; ``loop=N`` plays the animation N times in all.

    The NETSCAPE block stores the number of *repeats* after the first play (Pillow's
    ``loop`` option writes that raw number, so Pillow's ``loop=1`` plays twice in
    browsers). So ``loop=N`` writes N-1, and ``loop=1`` writes no loop block at all,
    which viewers play once.
    """

    def _open(self) -> None:
        options = self.format.options
        self._colors = int(options.get("colors", "256"))
        if not 2 <= self._colors <= 256:
            raise ValueError(f"GIF preset {self.format.name!r}: colors must be 2..256")
        dither = options.get("dither", "floyd-steinberg")
        if dither not in DITHERS:
            raise OutputError(f"GIF dither {dither!r}: choose one of {', '.join(DITHERS)}")
        self._ordered = dither == "ordered"
        self._dither = _DITHER.get(dither, Image.Dither.NONE)
        self._palette_mode = options.get("palette", "per-frame")
        if self._palette_mode not in PALETTES:
            raise OutputError(f"GIF palette {self._palette_mode!r}: choose one of {', '.join(PALETTES)}")
        self._tolerance = int(options.get("tolerance", "0"))
        if not 0 <= self._tolerance <= MAX_TOLERANCE:
            raise ValueError(f"GIF preset {self.format.name!r}: tolerance must be 0..{MAX_TOLERANCE}")
        if self._tolerance and self._palette_mode != "global":
            raise OutputError("GIF tolerance: only with one palette for the whole morph (palette=global)")
        self._spill_path = self.temp_path.with_name(self.temp_path.name + ".frames")
        self._spill = open(self._spill_path, "wb") if self._palette_mode == "global" else None  # noqa: SIM115
        if self.loop - 1 > _MAX_REPEATS:
            raise OutputError(f"{self.path}: a GIF can loop at most {_MAX_REPEATS + 1} times, or forever (0)")
        self._previous: np.ndarray | None = None
        self._global: bytes | None = None  # the global colour table, once made (palette="global")
        self._file = open(self.temp_path, "wb")  # noqa: SIM115 - closed in _finish/_close_quietly

    def _write_frame(self, frame: np.ndarray) -> None:
        height, width = frame.shape[:2]
        if self.frames_written == 0 and (width > _MAX_SIDE or height > _MAX_SIDE):
            raise OutputError(f"{self.path}: {width}x{height} is too large for a GIF (max {_MAX_SIDE})")
        if self._spill is not None:  # a global palette: encoded once every frame is known
            self._spill.write(np.ascontiguousarray(frame).tobytes())
            return
        if self.frames_written == 0:
            self._file.write(self._header(width, height))
        self._encode(frame, self.frames_written, self._quantize)

    def _encode(self, frame: np.ndarray, index: int, quantize: Callable[[Image.Image], Image.Image]) -> None:
        height, width = frame.shape[:2]
        delay = gif_delay_cs(index, self.fps)
        box = None if self._previous is None else _changed_box(self._previous, frame)
        if self._previous is not None and box is None:
            # Identical frame: a transparent pixel keeps the picture and still counts as a frame.
            still = Image.new("P", (1, 1), 0)
            still.putpalette([0, 0, 0, 0, 0, 0])
            self._file.write(_frame_block(still, (0, 0), delay, transparent=0))
        else:
            top, bottom, left, right = box or (0, height, 0, width)
            region = Image.fromarray(frame[top:bottom, left:right])
            self._file.write(_frame_block(quantize(region), (left, top), delay, global_table=self._global))
        # A copy: callers may reuse their frame buffer for the next frame.
        self._previous = frame.copy()

    def _finish(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._encode_with_global_palette()
            self._spill_path.unlink()
        self._file.write(b";")
        self._file.close()

    def _close_quietly(self) -> None:
        self._file.close()
        if self._spill is not None:
            self._spill.close()
            self._spill_path.unlink(missing_ok=True)

    def _encode_with_global_palette(self) -> None:
        assert self.frame_size is not None
        height, width = self.frame_size
        count = self.frames_written
        frames = np.memmap(self._spill_path, dtype=np.uint8, mode="r", shape=(count, height, width, 3))
        picks = np.unique(np.linspace(0, count - 1, min(count, GLOBAL_SAMPLE_FRAMES)).round().astype(int))
        sample = np.concatenate([frames[i] for i in picks], axis=0)
        # One slot of the table is the transparent index that marks unchanged pixels.
        octree = Image.fromarray(sample).quantize(self._colors - 1, method=Image.Quantize.FASTOCTREE)
        start = np.asarray(octree.getpalette() or [], dtype=np.float32).reshape(-1, 3)
        colours = _kmeans(sample.reshape(-1, 3)[:: max(1, sample.size // 3 // KMEANS_PIXELS)], start)
        palette = Image.new("P", (1, 1), 0)
        palette.putpalette(colours)
        transparent = len(colours) // 3
        template = Image.new("P", (1, 1), 0)
        template.putpalette([*colours, 0, 0, 0])
        table, size_bits, _ = _encode_single(template)
        self._global = table
        self._file.write(self._header(width, height, (table, size_bits)))
        strength = _ordered_strength(np.asarray(colours, dtype=np.float32).reshape(-1, 3))

        def block(indices: np.ndarray, offset: tuple[int, int], delay: int, clear: int | None) -> bytes:
            image = Image.fromarray(np.ascontiguousarray(indices), "P")
            image.putpalette(template.getpalette() or [])
            return _frame_block(image, offset, delay, clear, global_table=table)

        shown = np.zeros((height, width), np.uint8)  # palette indices on screen
        drawn = np.zeros((height, width, 3), np.int16)  # the source pixels they were made from
        previous: np.ndarray | None = None
        for index in range(count):
            frame = np.asarray(frames[index])
            indices = self._map(frame, palette, strength)
            delay = gif_delay_cs(index, self.fps)
            if previous is None:
                self._file.write(block(indices, (0, 0), delay, None))
                shown[:], drawn[:], previous = indices, frame, frame
                continue
            same = indices == shown
            drawn[same] = frame[same]  # an unchanged index shows this frame's pixel as well
            keep = same
            # With a tolerance, a pixel still within it of what it was drawn from is kept, except
            # on the last frame and on a held one, which show the exact picture.
            if self._tolerance and index < count - 1 and not np.array_equal(frame, previous):
                keep = same | (np.abs(frame - drawn).max(axis=2) <= self._tolerance)
            previous = frame
            box = _box(~keep)
            if box is None:  # nothing to draw: a transparent pixel still counts as a frame
                still = Image.new("P", (1, 1), 0)
                still.putpalette([0, 0, 0, 0, 0, 0])
                self._file.write(_frame_block(still, (0, 0), delay, transparent=0))
                continue
            top, bottom, left, right = box
            out = np.where(keep, np.uint8(transparent), indices)[top:bottom, left:right]
            self._file.write(block(out, (left, top), delay, transparent))
            changed = ~keep
            shown[changed] = indices[changed]
            drawn[changed] = frame[changed]
        del frames

    def _map(self, frame: np.ndarray, palette: Image.Image, strength: float) -> np.ndarray:
        """Palette indices of ``frame``: nearest colour, after an ordered-dither offset that
        depends only on the pixel's position (so an unchanged pixel keeps its index)."""
        if self._ordered:
            height, width = frame.shape[:2]
            offset = np.tile(_BAYER, (height // 8 + 1, width // 8 + 1))[:height, :width, None]
            frame = np.clip(frame + offset * strength, 0, 255).round().astype(np.uint8)
        return np.asarray(Image.fromarray(frame).quantize(palette=palette, dither=self._dither))

    def _quantize(self, region: Image.Image) -> Image.Image:
        # Octree finds a good palette fast (~2 ms for 512x512); remapping to the nearest
        # palette colour (with or without dithering) is more accurate than octree's own
        # mapping: 35.4 dB vs 33.8 dB PSNR on a photo without dithering.
        palette = region.quantize(self._colors, method=Image.Quantize.FASTOCTREE)
        if self._ordered:
            # The frame's changed box starts at (0, 0) of the dither pattern; per-frame palettes
            # change anyway, so the pattern need not line up with the previous frame.
            strength = _ordered_strength(np.asarray(palette.getpalette() or [], np.float32).reshape(-1, 3))
            indices = self._map(np.asarray(region), palette, strength)
            out = Image.fromarray(indices, "P")
            out.putpalette(palette.getpalette() or [])
            return out
        return region.quantize(palette=palette, dither=self._dither)

    def _header(self, width: int, height: int, table: tuple[bytes, int] | None = None) -> bytes:
        # Per-frame palettes: a 2-colour global table keeps strict decoders happy; every frame
        # has its own table. A global palette is the global table, and frames have none.
        colors, size_bits = table if table is not None else (b"\x00" * 3 + b"\xff" * 3, 0)
        parts = [b"GIF89a", struct.pack("<HHBBB", width, height, 0x80 | size_bits, 0, 0), colors]
        if self.loop != 1:
            repeats = 0 if self.loop == 0 else self.loop - 1
            parts.append(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", repeats) + b"\x00")
        if self.metadata:
            parts.append(b"!\xfe" + _sub_blocks(self.metadata_json.encode("utf-8")))
        return b"".join(parts)


def _bayer(size: int) -> np.ndarray:
    """The ``size`` x ``size`` Bayer threshold matrix, centred: values in (-0.5, 0.5)."""
    matrix = np.zeros((1, 1))
    while matrix.shape[0] < size:
        matrix = np.block([[4 * matrix, 4 * matrix + 2], [4 * matrix + 3, 4 * matrix + 1]])
    return ((matrix + 0.5) / matrix.size - 0.5).astype(np.float32)


_BAYER = _bayer(8)


def _kmeans(pixels: np.ndarray, colours: np.ndarray) -> list[int]:
    """Refine a palette with a few k-means (Lloyd) rounds on sample pixels; returns it flat.

    Octree alone leaves colours where few pixels are; on three 480x480 morphs the refined palette
    of 63 or 127 colours maps frames 1.1-1.9 dB closer (nearest colour, no dither)."""
    x = pixels.astype(np.float32)
    centres = colours.astype(np.float32).copy()
    nearest = np.empty(len(x), np.intp)
    for _ in range(KMEANS_ROUNDS):
        lengths = (centres * centres).sum(axis=1)
        for start in range(0, len(x), _KMEANS_CHUNK):  # chunks: 16k pixels x 255 colours is 16 MB
            part = x[start : start + _KMEANS_CHUNK]
            nearest[start : start + len(part)] = (lengths - 2 * part @ centres.T).argmin(axis=1)
        counts = np.bincount(nearest, minlength=len(centres))
        for channel in range(3):
            sums = np.bincount(nearest, weights=x[:, channel], minlength=len(centres))
            centres[:, channel] = np.where(counts > 0, sums / np.maximum(counts, 1), centres[:, channel])
    return [int(v) for v in np.clip(centres.round(), 0, 255).astype(np.uint8).reshape(-1)]


def _ordered_strength(colours: np.ndarray) -> float:
    """Dither amplitude (levels) for a palette: half the median distance from a colour to its
    nearest neighbour. The whole distance spreads gradients between neighbouring colours over
    the pattern; less did better on three 480x480 morphs (64 colours, tolerance 8): 0.4 of it
    made files 2-5 % smaller than all of it, with 1.1-1.7 dB more PSNR."""
    if len(colours) < 2:
        return 0.0
    distance = np.sqrt(((colours[:, None, :] - colours[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(distance, np.inf)
    return 0.5 * float(np.median(distance.min(axis=1)))


def _changed_box(previous: np.ndarray, frame: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the pixels that differ, or None if none do."""
    return _box(np.any(previous != frame, axis=2))


def _box(changed: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the True pixels of ``changed``, or None if there are none."""
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _frame_block(
    indexed: Image.Image,
    offset: tuple[int, int],
    delay_cs: int,
    transparent: int | None = None,
    global_table: bytes | None = None,
) -> bytes:
    """Graphic control extension + image descriptor + local palette + LZW data of one frame; no
    local palette when the frame's palette is ``global_table``, the GIF's global one."""
    color_table, size_bits, image_data = _encode_single(indexed)
    packed = (_DISPOSAL_LEAVE << 2) | (1 if transparent is not None else 0)
    control = b"!\xf9\x04" + struct.pack("<BHB", packed, delay_cs, transparent or 0) + b"\x00"
    if global_table is not None and color_table == global_table:
        descriptor = b"," + struct.pack("<HHHHB", *offset, *indexed.size, 0)
        return control + descriptor + image_data
    descriptor = b"," + struct.pack("<HHHHB", *offset, *indexed.size, 0x80 | size_bits)
    return control + descriptor + color_table + image_data


def _encode_single(indexed: Image.Image) -> tuple[bytes, int, bytes]:
    """LZW-encode a palette image with Pillow; return (colour table, its size bits, image data).

    Pillow writes a plain single-frame GIF: header, global colour table, image descriptor
    without a local table, then the image data. We take its global table as the frame's
    local table and copy the image data (LZW code size + sub-blocks + terminator) verbatim.
    """
    buffer = io.BytesIO()
    indexed.save(buffer, format="GIF", interlace=False, optimize=False)
    data = buffer.getvalue()
    flags = data[10]
    if not flags & 0x80:
        raise RuntimeError("Pillow wrote a GIF without a colour table")
    size_bits = flags & 0x07
    table_end = 13 + 3 * (2 << size_bits)
    color_table = data[13:table_end]
    pos = table_end
    while data[pos] == 0x21:  # skip any extension blocks: "!" label sub-blocks...
        pos = _skip_sub_blocks(data, pos + 2)
    if data[pos] != 0x2C or data[pos + 9] & 0x80:
        raise RuntimeError("unexpected GIF layout from Pillow")
    start = pos + 10
    end = _skip_sub_blocks(data, start + 1)  # +1: the LZW minimum code size byte
    return color_table, size_bits, data[start:end]


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """Position just after the terminator of the sub-block chain starting at ``pos``."""
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def _sub_blocks(payload: bytes) -> bytes:
    chunks = [payload[i : i + 255] for i in range(0, len(payload), 255)]
    return b"".join(bytes([len(chunk)]) + chunk for chunk in chunks) + b"\x00"
