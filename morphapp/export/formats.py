"""Export presets as data, and choosing one from an output path.

A preset names the writer that handles it (``writer``) and carries everything that writer
needs (codec, pixel format, encoder and container options, colour matrix, loop option).
Adding a preset means adding one entry to ``FORMATS``; no code path changes, and
``format_for_path`` picks it up by its extension (ProRes ``.mov``, animated WebP and APNG were
added that way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from morphapp.errors import OutputError


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str  # with the dot; "" for a PNG sequence (the target is a folder)
    codec: str  # FFmpeg encoder name for video; informational for gif/png
    pixel_format: str
    options: Mapping[str, str] = field(default_factory=dict, hash=False)  # encoder options
    description: str = ""
    writer: str = "video"  # which FrameWriter class handles it: "gif", "video", "png-sequence"
    container: str | None = None  # FFmpeg muxer name, for video
    container_options: Mapping[str, str] = field(default_factory=dict, hash=False)
    # Video only: the matrix RGB frames are converted with ("bt709", "bt601" for WebP, whose
    # decoders assume it) or "rgb" (an RGB pixel format: no conversion, lossless).
    colorspace: str = "bt709"
    loop_option: str | None = None  # the muxer option that takes the play count (animated WebP/APNG)
    codec_tag: str | None = None  # the stream's fourcc where the muxer's default is not what players want

    def __post_init__(self) -> None:
        # Presets are shared module-level data: make their option maps read-only.
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        object.__setattr__(self, "container_options", MappingProxyType(dict(self.container_options)))

    @property
    def is_folder(self) -> bool:
        """True when the output is a folder of files rather than one file."""
        return self.extension == ""


_PRESETS = (
    ExportFormat(
        name="gif",
        extension=".gif",
        codec="gif",
        pixel_format="pal8",
        # Per-frame adaptive palette (octree, then nearest-colour remap) with Floyd-Steinberg
        # dithering: without dithering, smooth photo backgrounds show visible bands.
        # Options: colors, dither (floyd-steinberg | none), palette (per-frame | global).
        options={"colors": "256", "dither": "floyd-steinberg", "palette": "per-frame"},
        description="Animated GIF, 256-colour palette per frame, loops",
        writer="gif",
    ),
    ExportFormat(
        name="gif-web",
        extension=".gif",
        codec="gif",
        pixel_format="pal8",
        # Sized for the web (issue 24): 0.6-0.9 MB per second of 3-s 480x480 24 fps morphs (two
        # portraits, one house), where "gif" makes 2.5-4 MB (bench/bench_gif.py). One palette for
        # the whole morph (64 colours: 63 and a transparent slot) with an ordered dither fixed to
        # the pixel grid: a pixel whose source does not change keeps its index, so still areas do
        # not shimmer and are not stored again (transparent). A pixel is redrawn once its source
        # moved more than ``tolerance`` levels (any channel) from what it was drawn from; the last
        # frame and held frames are drawn exactly. Costs: fewer colours, a fine dot pattern, and
        # colours that lag by up to 10 levels in slow changes.
        options={"colors": "64", "dither": "ordered", "palette": "global", "tolerance": "10"},
        description="Animated GIF for the web: one 64-colour palette, ordered dither, small; loops",
        writer="gif",
    ),
    ExportFormat(
        name="mp4",
        extension=".mp4",
        codec="libx264",
        pixel_format="yuv420p",
        options={"crf": "18", "preset": "medium"},
        description="H.264 MP4 (CRF 18), plays everywhere",
        writer="video",
        container="mp4",
        # moov atom first so browsers can start playing before the download finishes.
        container_options={"movflags": "+faststart"},
    ),
    ExportFormat(
        name="mp4-444",
        extension=".mp4",
        codec="libx264",
        pixel_format="yuv444p",
        # Full-resolution colour (High 4:4:4 Predictive): thin coloured edges stay crisp; editors
        # and ffmpeg play it, most browsers and phones do not.
        options={"crf": "16", "preset": "medium"},
        description="H.264 4:4:4 MP4 (CRF 16), full colour resolution, for editors",
        writer="video",
        container="mp4",
        container_options={"movflags": "+faststart"},
    ),
    ExportFormat(
        name="mp4-10bit",
        extension=".mp4",
        codec="libx264",
        pixel_format="yuv420p10le",
        # High 10: no banding in slow gradients; editors and ffmpeg play it, browsers mostly not.
        options={"crf": "18", "preset": "medium"},
        description="H.264 10-bit MP4 (CRF 18), smooth gradients, for editors",
        writer="video",
        container="mp4",
        container_options={"movflags": "+faststart"},
    ),
    ExportFormat(
        name="hevc",
        extension=".mp4",
        codec="libx265",
        pixel_format="yuv420p10le",
        # Main 10 at about half H.264's size; tagged hvc1, which QuickTime and iOS require.
        options={"crf": "20", "preset": "medium", "x265-params": "log-level=error"},
        description="H.265 (HEVC) 10-bit MP4 (CRF 20), small, smooth gradients",
        writer="video",
        container="mp4",
        container_options={"movflags": "+faststart"},
        codec_tag="hvc1",
    ),
    ExportFormat(
        name="webm",
        extension=".webm",
        codec="libvpx-vp9",
        pixel_format="yuv420p",
        # b=0 with crf selects constant-quality mode; otherwise libvpx caps the bit rate.
        options={"crf": "30", "b": "0", "row-mt": "1", "cpu-used": "4"},
        description="VP9 WebM (constant quality), for the web",
        writer="video",
        container="webm",
    ),
    ExportFormat(
        name="mov",
        extension=".mov",
        codec="prores_ks",
        pixel_format="yuv422p10le",
        # profile 3 = ProRes 422 HQ; vendor apl0 is what editors expect in the stream header.
        options={"profile": "3", "vendor": "apl0"},
        description="ProRes 422 HQ (10-bit 4:2:2) QuickTime .mov, for editors",
        writer="video",
        container="mov",
    ),
    ExportFormat(
        name="webp",
        extension=".webp",
        codec="libwebp_anim",
        pixel_format="yuv420p",
        options={"quality": "90", "lossless": "0"},
        description="Animated WebP (quality 90), small, for the web; loops",
        writer="video",
        container="webp",
        colorspace="bt601",
        loop_option="loop",
    ),
    ExportFormat(
        name="apng",
        extension=".apng",
        codec="apng",
        pixel_format="rgb24",
        options={"pred": "mixed"},
        description="Animated PNG, lossless full colour; loops",
        writer="video",
        container="apng",
        colorspace="rgb",
        loop_option="plays",
    ),
    ExportFormat(
        name="png",
        extension="",
        codec="png",
        pixel_format="rgb24",
        # zlib level 3: 512x512 photo in ~25 ms and 9% larger than level 6, which takes ~80 ms.
        options={"compress_level": "3", "pattern": "frame_{index:05d}.png"},
        description="Folder of numbered PNG frames plus morph.json",
        writer="png-sequence",
    ),
)

FORMATS: dict[str, ExportFormat] = {preset.name: preset for preset in _PRESETS}


def _choices() -> str:
    return ", ".join(sorted(FORMATS))


def _suffix_choices() -> str:
    suffixes = sorted({f.extension for f in FORMATS.values() if f.extension})  # four MP4 presets: one .mp4
    return ", ".join(suffixes) + ", or a folder name without suffix for a PNG sequence"


def format_for_path(path: Path, explicit: str | None = None) -> ExportFormat:
    """The preset for ``path``: ``explicit`` if given, else by suffix.

    A known file suffix wins (``out.gif`` is a GIF even if a folder has that name, which then
    fails as "is a folder" rather than silently filling it with PNGs). A path without a
    suffix, or an existing folder with an unknown one (``renders/v1.2``), is a PNG sequence.
    """
    if explicit is not None:
        preset = FORMATS.get(explicit.strip().lower())
        if preset is None:
            raise OutputError(f"{explicit!r} is not an export format; choose one of: {_choices()}")
        return preset
    path = Path(path)
    suffix = path.suffix.lower()
    for preset in FORMATS.values():
        if suffix and preset.extension == suffix:
            return preset
    if path.is_dir() or not suffix:
        folder_presets = [f for f in FORMATS.values() if f.is_folder]
        return folder_presets[0]
    raise OutputError(f"{path}: unknown output type {path.suffix!r}; use {_suffix_choices()}")
