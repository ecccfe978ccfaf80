from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import Qt

from morphapp.core.domain.project import ProjectAudio
from morphapp.core.imaging.load import load_image
from morphapp.core.timeline.plan import SegmentSpec
from morphapp.gui.export_dialog import PRESETS
from morphapp.gui.main_window import MainWindow

TIMEOUT = 60_000


def _wait_preview(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(win.preview.complete, timeout=TIMEOUT)


def _pixels(image) -> np.ndarray:  # type: ignore[no-untyped-def]
    image = image.convertToFormat(image.Format.Format_RGB888)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return arr[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_drop_two_images_preview_and_scrub(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    assert window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    _wait_preview(qtbot, window)
    assert window.preview.total == 5
    assert window.strip.count() == 2 and window.strip.item(1).text() == "2. dog.png"
    panel = window.preview_panel
    panel.slider.setValue(4)
    assert panel.position.text().startswith("Frame 5 / 5")
    shown = _pixels(panel.view.image)
    assert shown.shape == (64, 96, 3)
    # The last frame is the dog: decoded TAEF2 frames sit within ~25 dB of the keyframe image.
    dog = load_image(pairs_dir / "dog.png", (96, 64)).pixels
    mse = np.mean((shown.astype(float) - dog) ** 2)
    assert 10 * np.log10(255**2 / mse) > 20
    panel.step(-1)
    assert panel.slider.value() == 3 and panel.film.currentRow() == 3
    assert "Model: taef2" in window.model_label.text()


def test_bad_image_shows_error_and_changes_nothing(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.png"
    bad.write_text("<html>not a picture</html>")
    window.add_images([pairs_dir / "cat.png"])
    before = window.document.keyframes
    assert not window.add_images([pairs_dir / "dog.png", bad])
    assert window.document.keyframes == before
    assert window.error_bar.isVisible() and "broken.png" in window.error_bar.text


def test_undo_redo_keyframe_removal(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png", pairs_dir / "lion.png"])
    window.remove_keyframe(1)
    assert [k.path.name for k in window.document.keyframes] == ["cat.png", "lion.png"]
    assert window.strip.count() == 2
    window.document.undo_stack.undo()
    assert [k.path.name for k in window.document.keyframes] == ["cat.png", "dog.png", "lion.png"]
    assert window.strip.item(1).text() == "2. dog.png"
    window.document.undo_stack.redo()
    assert [k.path.name for k in window.document.keyframes] == ["cat.png", "lion.png"]
    window.document.move_keyframe(1, 0)
    assert [k.path.name for k in window.document.keyframes] == ["lion.png", "cat.png"]


def test_save_open_round_trip(qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    window.document.set_settings("loop", loop="pingpong", segments=None, hold=1)
    assert window.document.dirty and window.isWindowModified() and window.windowTitle().startswith("Untitled")
    target = tmp_path / "proj.json"
    assert window.save_to(target)
    assert not window.document.dirty and not window.isWindowModified()
    assert window.windowTitle().startswith("proj.json")
    doc = json.loads(target.read_text())
    assert doc["settings"]["loop"] == "pingpong" and doc["settings"]["hold"] == 1
    window.document.clear()
    assert window.open_project(target)
    assert [k.path.name for k in window.document.keyframes] == ["lion.png", "tiger.png"]
    assert window.document.settings.loop == "pingpong"
    assert str(target.resolve()) in window.project_files.recent()


def test_a_music_reactive_spacing_from_a_project_reads_true_and_is_kept(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    reactive = "points(0,0.05,0.1,0.4,0.7,0.8,1)"
    window.document.set_settings("reactive", segments=(SegmentSpec(6, reactive),))
    target = tmp_path / "proj.json"
    assert window.save_to(target)
    window.document.clear()
    assert window.open_project(target)
    panel = window.settings_panel
    assert panel.segment_ease.currentData() == reactive
    assert panel.segment_ease.currentText() == "music-reactive"
    assert window.document.segments()[0].ease == reactive  # showing it changed nothing
    assert window.save_to(target)
    assert json.loads(target.read_text())["settings"]["segments"][0]["ease"] == reactive


def test_export_through_the_dialog_and_read_back(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex(1)  # MP4
    target = tmp_path / "out.mp4"
    dialog.destination.setText(str(target))
    dialog.fps.setValue(12)
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: dialog.show_button.isVisible() and "Saved" in dialog.message.text(), timeout=5000)
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 12
        frames = list(container.decode(stream))
        comment = {k.lower(): v for k, v in container.metadata.items()}["comment"]
    assert len(frames) == 5 and (frames[0].width, frames[0].height) == (96, 64)
    # Nothing that points at the artist's files unless the box asks for it (issue 25).
    assert json.loads(comment)["app"] == "morphapp"
    assert str(pairs_dir) not in comment and "cat.png" not in comment
    assert not dialog.embed_project.isChecked() and "folders" in dialog.embed_project.toolTip()


def test_gif_palette_and_dither_are_offered_for_gif_only_and_reach_the_file(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index("mp4"))
    assert not dialog._form.isRowVisible(dialog.gif_palette)
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index("gif"))
    assert dialog._form.isRowVisible(dialog.gif_palette) and dialog._form.isRowVisible(dialog.gif_dither)
    dialog.gif_palette.setCurrentIndex(dialog.gif_palette.findData("global"))
    dialog.gif_dither.setCurrentIndex(dialog.gif_dither.findData("none"))
    target = tmp_path / "out.gif"
    dialog.destination.setText(str(target))
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    assert target.read_bytes()[10] & 0x87 == 0x87  # the whole morph's one 256-colour table


def test_cancel_export_leaves_no_file(qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.document.set_settings("long", segments=None)  # 24 frames: long enough to cancel midway
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex(0)  # GIF
    target = tmp_path / "out.gif"
    dialog.destination.setText(str(target))
    window.engine.worker.export_progress.connect(lambda done, _t: done == 2 and dialog.cancel_button.click())
    with qtbot.waitSignal(window.engine.worker.export_cancelled, timeout=TIMEOUT):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: "cancelled" in dialog.message.text(), timeout=5000)  # its own slot, queued too
    assert (
        not target.exists() and list(tmp_path.glob("*.part")) == [] and list(tmp_path.glob(".*.part")) == []
    )


def test_autosave_is_offered_after_a_crash(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.autosave_now()
    assert window.autosave.file.is_file()
    # A crash leaves the autosave and a lock of a dead process behind.
    window.autosave.lock.write_text("999999")
    recovered = window.autosave._crashed_project()
    assert recovered is not None and [k.path.name for k in recovered.keyframes] == ["cat.png", "dog.png"]
    window.document.clear()
    window.document.restore(recovered)
    assert len(window.document.keyframes) == 2 and window.document.dirty
    # The project's music comes back with it (issue 23: recovery dropped it).
    music = ProjectAudio(tmp_path / "track.wav", None, 1.5)
    window.document.clear()
    window.document.restore(dataclasses.replace(recovered, audio=music))
    assert window.document.audio == music
    window.document.undo_stack.undo()
    assert window.document.audio is None


def test_a_draft_midpoint_comes_first_then_full_quality(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.document.set_settings("size", size=(256, 256), segments=(SegmentSpec(4),))
    arrivals: list[tuple[int, int]] = []
    window.engine.worker.frame_ready.connect(
        lambda _g, index, image, draft: arrivals.append((index, image.width(), draft))
    )
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    _wait_preview(qtbot, window)
    # This listener and the preview get each frame as separate queued calls: the preview can be
    # complete a moment before the last frame reaches the list (seen on a loaded 2-core machine).
    qtbot.waitUntil(lambda: sum(not a[2] for a in arrivals) >= 5, timeout=TIMEOUT)
    assert arrivals[0] == (2, 128, True)  # the midpoint, at half size, before anything else
    full = [a for a in arrivals if not a[2]]
    assert full[0] == (2, 256, False) and len(full) == 5
    assert all(window.preview.frames[i].width() == 256 for i in range(5)) and not window.preview.drafts


def test_scrubbing_ahead_renders_the_frame_under_the_playhead_next(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    window.document.set_settings("long", segments=(SegmentSpec(30),))
    arrivals: list[int] = []
    window.engine.worker.frame_ready.connect(lambda _g, index, _image, _draft: arrivals.append(index))
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(lambda: len(arrivals) >= 2, timeout=TIMEOUT)  # midpoint (15) and its neighbours first
    window.preview_panel.slider.setValue(29)
    # Wait on our own record: the controller's slot and this one are separate queued calls, so
    # the controller can hold frame 29 a moment before ``arrivals`` does.
    qtbot.waitUntil(lambda: 29 in arrivals, timeout=TIMEOUT)
    # Frame 29 sits 14 steps from the midpoint: without refocusing it would come 28th. Frames
    # already in flight when the slider moved still arrive first, more of them on a busy machine.
    assert arrivals.index(29) < 20, arrivals
    _wait_preview(qtbot, window)
    qtbot.waitUntil(lambda: sorted(set(arrivals)) == list(range(31)), timeout=TIMEOUT)  # same race


def test_fps_frames_and_duration_are_linked(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    panel = window.settings_panel
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    panel.frames.setValue(48)
    assert window.document.total_frames() == 48 and panel.duration.value() == pytest.approx(2.0)
    panel.fps.setValue(12)  # the duration stays, the frame count follows
    assert window.document.settings.fps == 12 and window.document.total_frames() == 24
    assert panel.frames.value() == 24
    panel.duration.setValue(3.0)
    assert window.document.total_frames() == 36
    window.document.undo_stack.undo()
    assert window.document.total_frames() == 24
    window.document.undo_stack.undo()  # the fps change is one undo step (frames included)
    assert window.document.settings.fps == 24 and window.document.total_frames() == 48


def test_keyboard_shortcuts_play_and_step(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    _wait_preview(qtbot, window)
    panel = window.preview_panel
    window.activateWindow()
    panel.view.setFocus()
    start = panel.slider.value()
    qtbot.keyClick(panel.view, Qt.Key.Key_Right)
    assert panel.slider.value() == (start + 1) % 5
    qtbot.keyClick(panel.view, Qt.Key.Key_Left)
    assert panel.slider.value() == start
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    assert panel.timer.isActive() and panel.play_button.isChecked()
    qtbot.waitUntil(lambda: panel.slider.value() != start, timeout=2000)  # it plays
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    assert not panel.timer.isActive()


def test_missing_model_is_a_message_in_the_window(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, monkeypatch, no_builtin
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(empty))
    monkeypatch.chdir(tmp_path)
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(window.error_bar.isVisible, timeout=TIMEOUT)
    assert "no model found" in window.error_bar.text and str(empty) in window.error_bar.text
    assert len(window.document.keyframes) == 2  # the project is intact; a model can be added later


def test_first_run_without_a_model_offers_a_download(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, monkeypatch, taef2_dir: Path, no_builtin
) -> None:  # type: ignore[no-untyped-def]
    import huggingface_hub.constants

    from morphapp.models.registry import KNOWN_MODELS, KnownFile, KnownModel
    from tests.models.hub_server import FakeHub

    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(empty))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    # The file as madebyollin/taef2 publishes it: the package's own built-in copy (hidden here).
    import morphapp.models.builtin

    published = Path(morphapp.models.builtin.__file__).parent / "taef2.safetensors"
    known = KnownModel("taef2", "test-org/taef2", (KnownFile("taef2.safetensors"),), 32, "test copy")
    monkeypatch.setitem(KNOWN_MODELS, "taef2", known)
    with FakeHub() as hub:
        hub.add("test-org/taef2", "taef2.safetensors", published.read_bytes())
        monkeypatch.setenv("MORPHAPP_HF_ENDPOINT", hub.url)
        window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
        qtbot.waitUntil(
            lambda: window.model_setup is not None and window.model_setup.isVisible(), timeout=TIMEOUT
        )
        dialog = window.model_setup
        dialog.choice.setCurrentIndex(dialog.choice.findData("taef2"))
        with qtbot.waitSignal(dialog.model_ready, timeout=TIMEOUT):
            dialog.download_button.click()
        _wait_preview(qtbot, window)
    assert window.default_model() == "taef2" and "taef2" in window.model_label.text()
    assert not window.error_bar.isVisible()


def test_first_run_browse_to_a_model_on_disk(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, monkeypatch, no_builtin, taef2_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MORPHAPP_MODEL_PATH", str(empty))
    monkeypatch.chdir(tmp_path)
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(
        lambda: window.model_setup is not None and window.model_setup.isVisible(), timeout=TIMEOUT
    )
    dialog = window.model_setup
    junk = tmp_path / "notes.safetensors"
    junk.write_text("not a model")
    assert not dialog.use_existing(junk) and "notes.safetensors" in dialog.status.text()
    assert dialog.use_existing(taef2_dir / "taef2_decoder.pth")
    _wait_preview(qtbot, window)
    assert window.default_model() == str(taef2_dir / "taef2_decoder.pth")


def test_point_editor_places_moves_and_deletes_pairs(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPoint

    window.add_images([pairs_dir / "lion.png", pairs_dir / "tiger.png"])
    _wait_preview(qtbot, window)
    plain_mid = _pixels(window.preview.frames[2])
    window.open_point_editor()
    editor = window.point_editor
    assert editor is not None and editor.isVisible()
    left, right = editor.left, editor.right

    def at(canvas, x: float, y: float) -> QPoint:  # type: ignore[no-untyped-def]
        return canvas.to_widget(x, y).toPoint()

    qtbot.mouseClick(right, Qt.MouseButton.LeftButton, pos=at(right, 0.5, 0.5))
    assert "left image first" in editor.status.text() and window.document.settings.points is None
    for (xa, ya), (xb, yb) in [
        ((0.35, 0.40), (0.40, 0.45)),
        ((0.65, 0.40), (0.60, 0.45)),
        ((0.5, 0.7), (0.5, 0.75)),
    ]:
        qtbot.mouseClick(left, Qt.MouseButton.LeftButton, pos=at(left, xa, ya))
        qtbot.mouseClick(right, Qt.MouseButton.LeftButton, pos=at(right, xb, yb))
    pairs = window.document.settings.points[0]
    assert len(pairs) == 3
    assert pairs[0] == pytest.approx((0.35, 0.40, 0.40, 0.45), abs=0.01)
    # Drag the third right-hand marker down.
    start, end = at(right, 0.5, 0.75), at(right, 0.5, 0.85)
    qtbot.mousePress(right, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(right, pos=end)
    qtbot.mouseRelease(right, Qt.MouseButton.LeftButton, pos=end)
    assert window.document.settings.points[0][2][3] == pytest.approx(0.85, abs=0.01)
    # The preview re-renders with the warp (after the edit burst settles): the midpoint changes.
    generation = window.preview.generation
    qtbot.waitUntil(
        lambda: window.preview.generation > generation and window.preview.complete(), timeout=TIMEOUT
    )
    assert np.abs(_pixels(window.preview.frames[2]).astype(int) - plain_mid).mean() > 1.0
    editor.select(0)
    editor.delete_current()
    assert len(window.document.settings.points[0]) == 2
    window.document.undo_stack.undo()
    assert len(window.document.settings.points[0]) == 3
    editor.clear_segment()
    assert window.document.settings.points is None


def test_export_of_a_project_with_music_carries_it(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from morphapp.core.domain.keyframes import Keyframe
    from morphapp.core.domain.project import Project, ProjectAudio, save_project
    from morphapp.core.domain.settings import MorphSettings
    from tests.export.test_audio import tone

    music = tone(tmp_path / "song.wav", 2.0)
    source = tmp_path / "with-music.json"
    keys = (Keyframe(pairs_dir / "cat.png"), Keyframe(pairs_dir / "dog.png"))
    save_project(
        Project(keys, MorphSettings(size=(64, 48), frames=12), audio=ProjectAudio(music, None, 0.25)), source
    )
    assert window.open_project(source)
    window.open_export()
    dialog = window.export_dialog
    dialog.preset.setCurrentIndex(1)  # MP4
    target = tmp_path / "out.mp4"
    dialog.destination.setText(str(target))
    dialog.fps.setValue(12)
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    with av.open(str(target)) as container:
        audio = container.streams.audio[0]
        seconds = sum(f.samples for f in container.decode(audio)) / audio.codec_context.sample_rate
    assert audio.codec_context.name == "aac" and abs(seconds - 1.0) < 0.03  # 12 frames at 12 fps


def test_the_window_rounds_sizes_and_limits_fps_as_the_command_line(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """One rule for both faces (issue 23): 500x300 becomes 504x304, as ``--size 500x300`` does, and
    the fields reach the engine's limits (8192 px, 240 fps), not lower ones of their own."""
    from morphapp.core.imaging.sizes import parse_size

    panel = window.settings_panel
    panel.width_spin.setValue(500)
    panel.height_spin.setValue(300)
    assert window.document.settings.size == parse_size("500x300")[0] == (504, 304)
    assert panel.width_spin.maximum() == 8192 and panel.fps.maximum() == 240
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None and dialog.fps.maximum() == 240 and dialog.width_spin.maximum() == 8192


def test_the_wheel_over_an_unfocused_field_scrolls_instead_of_changing_it(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: scrolling the panel over Frames changed it (25 -> 15) and re-rendered."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel = window.settings_panel
    before = panel.frames.value(), panel.loop.currentIndex(), window.document.undo_stack.count()
    for widget in (panel.frames, panel.loop):
        assert not widget.hasFocus() and widget.focusPolicy() == Qt.FocusPolicy.StrongFocus
        for _ in range(3):
            wheel = QWheelEvent(
                QPointF(5, 5), QPointF(widget.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, -120),
                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
            )  # fmt: skip
            QApplication.sendEvent(widget, wheel)
    assert (panel.frames.value(), panel.loop.currentIndex(), window.document.undo_stack.count()) == before


def test_the_preview_stays_on_the_midpoint_when_an_edit_re_renders(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: a dropped pair opened at frame 8 of 25 once auto-align's points re-rendered it
    (clearing the filmstrip moved its current row, and the playhead with it)."""
    window.resize(1280, 800)  # the filmstrip shows about half of the frames, as on a laptop
    window.document.set_settings("length", segments=(SegmentSpec(24),))  # the default length
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(lambda: len(window.preview.frames) >= 3, timeout=TIMEOUT)  # under way, as when
    middle = window.preview.total // 2
    window.document.set_settings("points", points=(((0.4, 0.4, 0.45, 0.42),),))  # auto-align returns
    _wait_preview(qtbot, window)
    assert window.preview.playhead == middle == window.preview_panel.current


def test_the_web_gif_preset_keeps_its_own_palette_and_dither(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: the window's web GIF used the large per-frame, Floyd-Steinberg GIF (3 MB a second)."""
    from morphapp.export import FORMATS

    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex(0)
    assert dialog.current_preset().format == "gif-web"
    assert (dialog.gif_palette.currentData(), dialog.gif_dither.currentData()) == ("global", "ordered")
    job = dialog.build_job()
    assert job.options == {} and FORMATS[job.format].options["dither"] == "ordered"  # the preset as made
    dialog.gif_dither.setCurrentIndex(dialog.gif_dither.findData("none"))
    assert dialog.build_job().options == {"dither": "none"}  # a change reaches the writer


def test_the_keyframes_show_at_once_and_the_decoded_frames_replace_them(
    qtbot, window: MainWindow, pairs_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """Issue 24: the filmstrip and the ends stayed grey until the model had decoded them (seconds
    with a diffusion model); now the keyframes' own pictures fill their cells when the render starts."""
    window.document.set_settings("rests", hold=2)  # 2 + 5 + 2 cells: keyframes shown three times each
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.preview.restart()  # at once, not after the edit burst settles; nothing decoded yet
    preview = window.preview
    ends = [i for i, spec in enumerate(preview.plan) if spec.keyframe is not None]
    assert len(ends) == 6 and set(ends) <= set(preview.frames) and set(ends) <= preview.drafts
    assert not preview.complete()
    cat = load_image(pairs_dir / "cat.png", (96, 64)).pixels
    assert np.array_equal(_pixels(preview.frames[ends[0]]), cat)  # the picture, fitted as the engine fits it
    _wait_preview(qtbot, window)
    assert not preview.drafts and len(preview.frames) == preview.total == 9
    decoded = _pixels(preview.frames[0])
    assert not np.array_equal(decoded, cat) and np.abs(decoded.astype(int) - cat).mean() < 12  # the decode
