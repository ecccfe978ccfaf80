"""Streaming video writer (MP4/H.264, WebM/VP9, or any FFmpeg codec a preset names) via PyAV.

Frames go straight into the encoder; nothing is kept in memory beyond the encoder's own
look-ahead. Colours are converted with the BT.709 matrix into limited ("TV") range and the
stream is tagged BT.709, so players do not guess the matrix from the picture size.
"""

from __future__ import annotations

import av
import numpy as np
from av.codec.codec import UnknownCodecError
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from morphapp.errors import OutputError
from morphapp.export.audio import AudioMuxer, AudioSource
from morphapp.export.base import FileFrameWriter

_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 (same value for primaries and transfer)
# Chroma is halved with area averaging and accurate rounding: +0.6 dB on a photo over the
# default, no colour bias, and no slower.
_SCALER = Interpolation.AREA | Interpolation.ACCURATE_RND


class VideoWriter(FileFrameWriter):
    """``loop`` goes to the muxer where the format has a play count (animated WebP, APNG); MP4,
    WebM and MOV have no loop flag (players loop on their own).

    Formats with subsampled chroma (yuv420p) need even frame sizes; an odd width or height
    is padded by one pixel that repeats the last column/row (edge replication), so
    nothing is cropped and the added pixel is invisible in practice.
    """

    _io_errors = (OSError, av.FFmpegError)
    audio: AudioSource | None = None  # a music track to mux in (set by open_writer)

    def _open(self) -> None:
        fmt = self.format
        try:
            av.Codec(fmt.codec, "w")  # fail now, not after the render, if FFmpeg lacks it
        except UnknownCodecError as exc:
            raise OutputError(
                f"{self.path}: the installed FFmpeg (PyAV) has no {fmt.codec} encoder for "
                f"{fmt.name}; choose another output format"
            ) from exc
        container_options = dict(fmt.container_options)
        if fmt.loop_option is not None:  # animated WebP / APNG: 0 plays forever, N plays N times
            container_options[fmt.loop_option] = str(self.loop)
        self._container = av.open(
            str(self.temp_path),
            mode="w",
            format=fmt.container,
            container_options=container_options,
        )
        if self.metadata:
            self._container.metadata["comment"] = self.metadata_json
        self._stream: av.VideoStream | None = None
        self._audio: AudioMuxer | None = None  # added with the video stream (streams come first)
        pixel_format = av.VideoFormat(fmt.pixel_format)
        # Chroma subsampling factor per axis (2 for 4:2:0), e.g. 64 luma -> 32 chroma samples.
        self._multiple = (64 // pixel_format.chroma_height(64), 64 // pixel_format.chroma_width(64))

    def _start_stream(self, height: int, width: int) -> av.VideoStream:
        fmt = self.format
        stream = self._container.add_stream(fmt.codec, rate=self.fps, options=dict(fmt.options))
        if not isinstance(stream, av.VideoStream):  # a preset naming an audio or subtitle encoder
            raise OutputError(f"{self.path}: {fmt.codec} is not a video encoder ({fmt.name})")
        stream.width = width
        stream.height = height
        stream.pix_fmt = fmt.pixel_format
        if fmt.codec_tag is not None:
            stream.codec_tag = fmt.codec_tag
        if fmt.colorspace == "bt709":
            context = stream.codec_context
            context.colorspace = Colorspace.ITU709
            context.color_range = ColorRange.MPEG
            context.color_primaries = _BT709
            context.color_trc = _BT709
        return stream

    def _write_frame(self, frame: np.ndarray) -> None:
        frame = self._padded(frame)
        if self._stream is None:
            self._stream = self._start_stream(*frame.shape[:2])
            if self.audio is not None:
                self._audio = AudioMuxer(self._container, self.format.container or "", self.audio)
        video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
        if self.format.colorspace != "rgb":
            matrix = Colorspace.ITU601 if self.format.colorspace == "bt601" else Colorspace.ITU709
            video_frame = video_frame.reformat(
                format=self.format.pixel_format,
                src_colorspace=matrix,
                dst_colorspace=matrix,
                dst_color_range=ColorRange.MPEG,
                interpolation=_SCALER,
            )
        elif self.format.pixel_format != "rgb24":
            video_frame = video_frame.reformat(format=self.format.pixel_format)
        video_frame.pts = self.frames_written  # time base is 1/fps: one tick per frame
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        if self._audio is not None:  # the music up to this frame's end, interleaved as it goes
            self._audio.pump((self.frames_written + 1) / self.fps)

    def _finish(self) -> None:
        assert self._stream is not None  # commit() refuses zero frames
        for packet in self._stream.encode(None):  # flush the encoder's delayed frames
            self._container.mux(packet)
        if self._audio is not None:
            self._audio.finish(self.frames_written / self.fps)  # cut where the video ends
        # Writes the trailer; for MP4 with +faststart this rewrites the file moov-first.
        self._container.close()

    def _close_quietly(self) -> None:
        self._container.close()

    def _padded(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        pad_h = -height % self._multiple[0]
        pad_w = -width % self._multiple[1]
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return frame
