"""Issue 23, item 2: the window's fields take their ranges and rounding from the engine, so the
window and the command line cannot disagree again (the window rounded 500 to 496 where --size
made 504, and stopped at 4096 px and 120 fps where the engine takes 8192 and 240)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QLabel

from morphapp.core.domain.diffusion_settings import MAX_STEPS, DiffusionSettings
from morphapp.core.domain.settings import (
    MAX_FPS,
    MAX_HOLD,
    MAX_SEED,
    MIN_FRAMES,
    MIN_SEGMENT_FRAMES,
    MorphSettings,
)
from morphapp.core.imaging.sizes import MAX_SIDE, MIN_SIDE, SIZE_STEP, parse_size
from morphapp.core.timeline.plan import MAX_FRAMES, SegmentSpec
from morphapp.errors import InputError
from morphapp.gui.export_dialog import scaled_size
from morphapp.gui.main_window import MainWindow

# Rounds up, to the floor, to the ceiling, up again, then to the size it is already (the field
# kept showing the typed 302 then, as nothing changed in the project).
TYPED = ("500", "33", "8190", "300", "302")


def _type(spin: QAbstractSpinBox, text: str) -> None:
    spin.lineEdit().selectAll()
    QTest.keyClicks(spin, text)
    QTest.keyClick(spin, Qt.Key.Key_Return)


@pytest.mark.parametrize("side", [0, 1], ids=["width", "height"])
def test_a_typed_size_rounds_as_the_command_line_and_says_so(qtbot, window: MainWindow, side: int) -> None:  # type: ignore[no-untyped-def]
    panel = window.settings_panel
    spin = (panel.width_spin, panel.height_spin)[side]
    shown, expected = [], []
    for typed in TYPED:
        other = (panel.height_spin, panel.width_spin)[side].value()
        asked = f"{typed}x{other}" if side == 0 else f"{other}x{typed}"
        size, note = parse_size(asked)  # what `morphapp render --size` makes of it, and prints
        _type(spin, typed)
        assert (spin.value(), window.document.settings.size) == (size[side], size), asked
        label = panel.findChild(QLabel, "sizeNote")  # checked after the sizes: they disagreed first
        shown.append(label.text() if label is not None and label.isVisibleTo(panel) else None)
        expected.append(note)
    assert shown == expected


def test_a_size_set_in_code_rounds_too_and_an_undo_drops_the_note(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    panel = window.settings_panel
    panel.width_spin.setValue(500)  # not typed: rounded all the same, without a note
    assert window.document.settings.size[0] == panel.width_spin.value() == 504
    _type(panel.height_spin, "300")
    assert panel.size_note.isVisibleTo(panel) and "rounded to 504x304" in panel.size_note.text()
    window.document.undo_stack.undo()
    assert window.document.settings.size == (504, 64) and not panel.size_note.isVisibleTo(panel)


# A field (QSpinBox, QDoubleSpinBox or SeedSpinBox: each has minimum() and maximum()), the engine's
# limits for it, its smallest step, and settings holding a value.
Case = tuple[Any, float, float, float, Callable[[Any], MorphSettings]]


def _cases(window: MainWindow) -> list[Case]:
    """The sizes' floor is the one --size keeps (parse_size, checked below): the settings themselves
    take smaller sizes, as the preview renders a wide morph's small side under it."""
    panel, base = window.settings_panel, MorphSettings()
    fps_step = 10.0 ** -panel.fps.decimals()
    segments = panel.segment_frames
    steps = DiffusionSettings
    return [
        (panel.width_spin, MIN_SIDE, MAX_SIDE, SIZE_STEP, lambda v: replace(base, size=(v, 512))),
        (panel.height_spin, MIN_SIDE, MAX_SIDE, SIZE_STEP, lambda v: replace(base, size=(512, v))),
        (panel.fps, fps_step, MAX_FPS, fps_step, lambda v: replace(base, fps=v)),
        (panel.frames, MIN_FRAMES, MAX_FRAMES, 1, lambda v: replace(base, frames=v)),
        (segments, MIN_SEGMENT_FRAMES, MAX_FRAMES, 1, lambda v: replace(base, segment_frames=(v,))),
        (segments, MIN_SEGMENT_FRAMES, MAX_FRAMES, 1, lambda v: replace(base, segments=(SegmentSpec(v),))),
        (panel.hold, 0, MAX_HOLD, 1, lambda v: replace(base, hold=v)),
        (panel.seed, -MAX_SEED, MAX_SEED, 1, lambda v: replace(base, seed=v)),
        (panel.diffusion_steps, 1, MAX_STEPS, 1, lambda v: replace(base, diffusion=steps(v))),
    ]


def test_each_field_reaches_the_engine_limits_and_no_further(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    for field, low, high, step, settings in _cases(window):
        name = field.objectName() or type(field).__name__
        assert (field.minimum(), field.maximum()) == (low, high), name
        settings(field.maximum()).validate()
        settings(field.minimum()).validate()
        with pytest.raises(InputError):
            settings(field.maximum() + step).validate()
        if low != MIN_SIDE:
            with pytest.raises(InputError):
                settings(field.minimum() - step).validate()
    panel = window.settings_panel
    assert panel.width_spin.singleStep() == panel.height_spin.singleStep() == SIZE_STEP
    for side in (panel.width_spin.minimum(), panel.width_spin.maximum()):
        assert parse_size(str(side)) == ((side, side), None)
    for side in (panel.width_spin.minimum() - 1, panel.width_spin.maximum() + 1):
        with pytest.raises(InputError):
            parse_size(str(side))


def test_a_64_bit_seed_from_the_command_line_reads_true(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """A QSpinBox holds 32 bits: it showed --seed 5000000000 as 2147483647, and no negative seed."""
    panel = window.settings_panel
    for seed in (5_000_000_000, -7, MAX_SEED):
        window.document.set_settings("seed", seed=seed)
        assert panel.seed.value() == seed and panel.seed.text() == str(seed)
    _type(panel.seed, "-12345678901")
    assert window.document.settings.seed == -12345678901


def test_the_duration_covers_the_frames_at_any_rate(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    panel = window.settings_panel
    for fps in (0.5, 24.0, MAX_FPS):
        window.document.set_settings("fps", fps=fps)
        assert panel.fps.value() == pytest.approx(fps)  # 0.5 showed as 1.00
        assert panel.duration.maximum() == pytest.approx(MAX_FRAMES / fps, abs=0.01)  # was 3600 s


def test_the_export_dialog_has_the_same_fields(qtbot, window: MainWindow, pairs_dir: Path) -> None:  # type: ignore[no-untyped-def]
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    window.open_export()
    dialog, panel = window.export_dialog, window.settings_panel
    assert dialog is not None
    for mine, theirs in ((dialog.width_spin, panel.width_spin), (dialog.fps, panel.fps)):
        assert (mine.minimum(), mine.maximum(), mine.singleStep()) == (
            theirs.minimum(), theirs.maximum(), theirs.singleStep()
        )  # fmt: skip
    _type(dialog.width_spin, "500")
    assert dialog.width_spin.value() == parse_size("500")[0][0] == 504
    assert dialog.build_job().project.settings.size[0] == 504


@pytest.mark.parametrize(
    ("size", "max_side", "scaled"),
    [
        ((2048, 64), 480, (480, MIN_SIDE)),  # 480x15: the old rule gave 16, below the fields' floor
        ((504, 304), 480, (480, 288)),
        ((1366, 768), 480, (480, 272)),  # 269.9 -> 272
        ((8192, 8192), 720, (720, 720)),
        ((400, 300), 480, (400, 300)),  # small enough already
    ],
)
def test_a_preset_scales_within_the_fields_and_rounds_as_they_do(
    size: tuple[int, int], max_side: int, scaled: tuple[int, int]
) -> None:
    assert scaled_size(size, max_side) == scaled
