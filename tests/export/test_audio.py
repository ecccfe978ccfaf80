"""--audio (issue 17, first part): the music goes into MP4 (AAC), WebM (Opus) and MOV (PCM), cut
where the video ends, and the morph takes its length when no frame count is given. A synthetic
tone, written here, stands in for music."""

from __future__ import annotations

import contextlib
import io
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from morphapp.cli.main import main
from morphapp.errors import InputError
from morphapp.export import open_writer
from morphapp.export.audio import AudioSource


def tone(path: Path, seconds: float, rate: int = 44_100, channels: int = 1) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    samples = (np.sin(2 * np.pi * 440 * t) * 0.3 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(samples, channels).tobytes())
    return path


def _tracks(path: Path) -> tuple[str, float, int]:
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        name, rate = audio.codec_context.name, audio.codec_context.sample_rate
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    return name, samples / rate, frames


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "aac"), (".webm", "opus"), (".mov", "pcm_s16le")])
def test_the_music_is_cut_where_the_video_ends(tmp_path: Path, suffix: str, codec: str) -> None:
    source = AudioSource.open(tone(tmp_path / "long.wav", 3.3, channels=2))
    assert (source.channels, round(source.duration, 2)) == (2, 3.3)
    target = tmp_path / f"m{suffix}"
    with open_writer(target, fps=24, audio=source) as writer:
        for k in range(48):  # 2.0 s of video
            writer.write(np.full((48, 64, 3), k * 5, dtype=np.uint8))
    name, seconds, frames = _tracks(target)
    assert (name, frames) == (codec, 48)
    assert abs(seconds - 2.0) < 0.025  # within one AAC frame of the video's end


def test_music_shorter_than_the_video_just_ends(tmp_path: Path) -> None:
    source = AudioSource.open(tone(tmp_path / "short.wav", 0.5))
    with open_writer(tmp_path / "m.mp4", fps=24, audio=source) as writer:
        for k in range(48):
            writer.write(np.full((48, 64, 3), k, dtype=np.uint8))
    _name, seconds, frames = _tracks(tmp_path / "m.mp4")
    assert frames == 48 and abs(seconds - 0.5) < 0.05


def test_bad_audio_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        AudioSource.open(tmp_path / "nope.wav")
    junk = tmp_path / "junk.mp3"
    junk.write_text("not music")
    with pytest.raises(InputError, match="not an audio file FFmpeg can read"):
        AudioSource.open(junk)
    with pytest.raises(InputError, match="a gif file has no audio track"):
        open_writer(tmp_path / "m.gif", fps=24, audio=AudioSource.open(tone(tmp_path / "t.wav", 1)))
    assert not (tmp_path / "m.gif").exists()


def _cli(*args: object) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, err.getvalue()


def test_cli_the_morph_takes_the_music_length(tmp_path: Path, pairs_dir: Path, model_path_env: str) -> None:
    music = tone(tmp_path / "music.wav", 1.5)
    out = tmp_path / "m.mp4"
    code, err = _cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", out, "--size", "64x48",
                     "--audio", music, "--fps", "12")  # fmt: skip
    assert code == 0, err
    assert "--audio music.wav: no beats found; 1.50 s of music: 18 frames" in err  # a tone has none
    name, seconds, frames = _tracks(out)
    assert (name, frames) == ("aac", 18) and abs(seconds - 1.5) < 0.025
    code, err = _cli("render", pairs_dir / "cat.png", pairs_dir / "dog.png", "-o", tmp_path / "m.gif",
                     "--size", "64x48", "--audio", music)  # fmt: skip
    assert code == 2 and "has no audio track; use MP4, WebM or MOV" in err
    assert not (tmp_path / "m.gif").exists()
