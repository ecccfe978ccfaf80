"""The settings panel: the Model group, then output size and fit, timing, path, easing, loop, seed.

Every control writes to the Document (undoable) and is refreshed from it, so the panel never
holds state of its own.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.choices import PATH_CHOICES
from morphapp.core.domain.keyframes import describe_keyframe
from morphapp.core.domain.settings import FIT_CHOICES, MAX_HOLD, MIN_FRAMES, MIN_SEGMENT_FRAMES
from morphapp.core.imaging.sizes import round_side, round_size
from morphapp.core.timeline.easing import NAMED_BEZIERS
from morphapp.core.timeline.plan import LOOP_CHOICES, MAX_FRAMES, segment_pairs
from morphapp.gui.document import Document
from morphapp.gui.field_edits import track_field_edits
from morphapp.gui.model_settings import ModelSettings
from morphapp.gui.settings_fields import (
    SeedSpinBox,
    SizeSpinBox,
    choice_combo,
    explain,
    form_group,
    fps_field,
    int_spin,
    select_ease,
)
from morphapp.gui.wheel_guard import guard_wheel

EASES = ("linear", *NAMED_BEZIERS)
BACKGROUNDS = {"White": (255, 255, 255), "Black": (0, 0, 0), "Grey": (128, 128, 128)}


class SettingsPanel(QWidget):
    model_choice_changed = Signal(object)  # ModelChoice
    open_model_file = Signal()
    add_prompt_requested = Signal()

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.setObjectName("settingsPanel")
        self.setMinimumWidth(300)
        self._updating = False

        # Model (model_settings.py); its fields by name, as the window and tests reach them.
        self.model_settings = model_box = ModelSettings(document)
        model_box.model_choice_changed.connect(self.model_choice_changed)
        model_box.open_model_file.connect(self.open_model_file)
        model_box.add_prompt_requested.connect(self.add_prompt_requested)
        self.model, self.device, self.in_use = model_box.model, model_box.device, model_box.in_use
        self.prompt_button, self.prompt_note = model_box.prompt_button, model_box.prompt_note
        self.diffusion_steps, self.guidance = model_box.diffusion_steps, model_box.guidance
        self.strength, self.attn_steps = model_box.strength, model_box.attn_steps
        self.method, self.even_pacing = model_box.method, model_box.even_pacing

        # Output
        self.width_spin = SizeSpinBox()  # the command line's limits and rounding
        self.height_spin = SizeSpinBox()
        # What --size would print for the typed sides: "size 500x300 rounded to 504x304 (...)".
        self.size_note = QLabel()
        self.size_note.setObjectName("sizeNote")
        self.size_note.setWordWrap(True)
        self._size_note_for: tuple[int, int] | None = None  # the size the note rounded to
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        size_widget = QWidget()
        size_widget.setLayout(size_row)
        size_row.setContentsMargins(0, 0, 0, 0)
        self.fit = choice_combo(FIT_CHOICES)
        self.background = choice_combo(tuple(BACKGROUNDS))
        output_box = form_group(
            "Output",
            [("Size", size_widget), ("", self.size_note), ("Fit", self.fit), ("Background", self.background)],
        )
        self._output_form: QFormLayout = output_box.layout()  # type: ignore[assignment]
        self._output_form.setRowVisible(self.size_note, False)

        # Timing: fps, frames and duration are linked.
        self.fps = fps_field()
        self.fps.setObjectName("fpsSpin")
        self.frames = int_spin(MIN_FRAMES, MAX_FRAMES, 1, " frames")
        self.frames.setObjectName("framesSpin")
        self.duration = QDoubleSpinBox()  # its range follows the fps: the frames' range in seconds
        self.duration.setDecimals(2)
        self.duration.setSuffix(" s")
        self.hold = int_spin(0, MAX_HOLD, 1, " frames")
        self.loop = choice_combo(LOOP_CHOICES)
        timing_box = form_group(
            "Timing",
            [("FPS", self.fps), ("Total frames", self.frames), ("Duration", self.duration),
             ("Hold keyframes", self.hold), ("Loop", self.loop)],
        )  # fmt: skip

        # Path and per-segment settings
        self.path = choice_combo(PATH_CHOICES)
        self.ease = choice_combo(EASES)
        self.segment = QComboBox()
        self.segment.setObjectName("segmentCombo")
        self.segment_frames = int_spin(MIN_SEGMENT_FRAMES, MAX_FRAMES, 1, " frames")
        self.segment_ease = choice_combo(EASES)
        self.seed = SeedSpinBox()
        path_box = form_group(
            "Path",
            [("Path", self.path), ("Easing (all)", self.ease), ("Segment", self.segment),
             ("Frames in segment", self.segment_frames), ("Easing in segment", self.segment_ease),
             ("Seed", self.seed)],
        )  # fmt: skip
        # Two frame counts (issue 24): the whole morph's, and one segment's; the tooltips say how
        # they add up (count_frames in morphapp/core/timeline/plan.py).
        explain(
            timing_box, self.frames,
            "Every frame of the morph, rests included (Duration × FPS). Changing it spreads the frames "
            "evenly over the segments (Path ▸ Frames in segment); the rests (Hold keyframes) add frames "
            "on each keyframe on top of the segments' frames.",
        )  # fmt: skip
        explain(
            timing_box, self.hold,
            "Rests: each keyframe stays still for this many extra frames. They count in Total frames, "
            "not in any segment's frames.",
        )  # fmt: skip
        explain(
            path_box, self.segment_frames,
            "Frames of the chosen segment alone: its first keyframe and the in-betweens up to the next "
            "keyframe. Total frames adds up the segments' frames (there and back with Loop pingpong), "
            "the rests on each keyframe (Hold keyframes) and, without a loop, the last keyframe.",
        )  # fmt: skip
        explain(
            path_box, self.segment_ease, "The chosen segment's easing (Easing (all) sets every segment's)"
        )

        layout = QVBoxLayout(self)
        for box in (model_box, output_box, timing_box, path_box):
            layout.addWidget(box)
        layout.addStretch(1)

        self._connect()
        guard_wheel(self)  # the wheel scrolls the panel; it changes a field only once clicked into
        track_field_edits(self, document)  # one edit of a field, one undo step; Ctrl+Z works in it
        document.changed.connect(self.refresh)
        self.refresh_models()
        self.refresh()

    # -- wiring --------------------------------------------------------------------------------
    def _connect(self) -> None:
        def on(widget_signal: object, fn: Callable[..., None]) -> None:
            widget_signal.connect(lambda *a: None if self._updating else fn(*a))  # type: ignore[attr-defined]

        doc = self.doc
        on(
            self.width_spin.valueChanged,
            lambda v: doc.set_settings("Change size", size=(round_side(v), doc.settings.size[1])),
        )
        on(
            self.height_spin.valueChanged,
            lambda v: doc.set_settings("Change size", size=(doc.settings.size[0], round_side(v))),
        )
        # After valueChanged: a typed 503 where the size is 504 already changes nothing, yet is noted.
        self.width_spin.editingFinished.connect(self._note_typed_size)
        self.height_spin.editingFinished.connect(self._note_typed_size)
        on(
            self.fit.currentIndexChanged,
            lambda _i: doc.set_settings("Change fit", fit=self.fit.currentData()),
        )
        on(
            self.background.currentIndexChanged,
            lambda _i: doc.set_settings(
                "Change background", background=BACKGROUNDS[self.background.currentText()]
            ),
        )
        on(self.fps.valueChanged, self._fps_changed)
        on(self.frames.valueChanged, lambda v: doc.set_total_frames(v))
        on(
            self.duration.valueChanged,
            lambda v: doc.set_total_frames(max(MIN_FRAMES, round(v * doc.settings.fps))),
        )
        on(self.hold.valueChanged, lambda v: doc.set_settings("Change hold", hold=v))
        on(
            self.loop.currentIndexChanged,
            lambda _i: doc.set_settings("Change loop", loop=self.loop.currentData(), segments=None),
        )
        on(
            self.path.currentIndexChanged,
            lambda _i: doc.set_settings("Change path", path=self.path.currentData()),
        )
        on(self.ease.currentIndexChanged, self._ease_all)
        on(self.segment.currentIndexChanged, lambda _i: self.refresh())
        on(self.segment_frames.valueChanged, lambda v: doc.set_segment(self.segment.currentIndex(), steps=v))
        on(
            self.segment_ease.currentIndexChanged,
            lambda _i: doc.set_segment(self.segment.currentIndex(), ease=self.segment_ease.currentData()),
        )
        on(self.seed.valueChanged, lambda v: doc.set_settings("Change seed", seed=v))

    def _note_typed_size(self) -> None:
        """Show the note --size prints for the typed sides (the other side as it stands), or none."""
        spins = (self.width_spin, self.height_spin)
        if all(spin.typed is None for spin in spins):
            return  # focus left a field without a typed number: the note stands
        width, height = (spin.value() if spin.typed is None else spin.typed for spin in spins)
        self.width_spin.typed = self.height_spin.typed = None
        size, note = round_size(width, height)
        self._size_note_for = size if note is not None else None
        self.size_note.setText(note or "")
        self._output_form.setRowVisible(self.size_note, note is not None)

    def _fps_changed(self, fps: float) -> None:
        """Keep the duration when the frame rate changes (an artist times to music, not frames)."""
        self.doc.set_fps(fps)

    def _ease_all(self, _index: int) -> None:
        ease = self.ease.currentData()
        segments = tuple(type(s)(s.steps, ease) for s in self.doc.segments())
        self.doc.set_settings("Change easing", ease=ease, segments=segments)

    # -- refresh from the document ---------------------------------------------------------------
    def refresh_models(self) -> None:
        self.model_settings.refresh_models()

    def set_in_use(self, text: str) -> None:
        self.model_settings.set_in_use(text)

    def uses_diffusion(self) -> bool:
        """Whether the chosen model is a Stable-Diffusion-class one (prompt keyframes, steps)."""
        return self.model_settings.uses_diffusion()

    def refresh(self) -> None:
        doc, s = self.doc, self.doc.settings
        self._updating = True
        try:
            self.width_spin.setValue(s.size[0])
            self.height_spin.setValue(s.size[1])
            if self._size_note_for != s.size:  # an undo, a project: the note is about another size
                self._size_note_for = None
                self._output_form.setRowVisible(self.size_note, False)
            self.fit.setCurrentIndex(self.fit.findData(s.fit))
            names = [k for k, v in BACKGROUNDS.items() if v == s.background]
            self.background.setCurrentText(names[0] if names else "White")
            self.fps.setValue(s.fps)
            total = doc.total_frames() if doc.can_render() else 0
            self.frames.setEnabled(total > 0)
            self.duration.setEnabled(total > 0)
            self.frames.setValue(max(MIN_FRAMES, total))
            self.duration.setRange(MIN_FRAMES / s.fps, MAX_FRAMES / s.fps)
            self.duration.setValue(total / s.fps if total else self.duration.minimum())
            self.hold.setValue(s.hold)
            self.loop.setCurrentIndex(self.loop.findData(s.loop))
            self.path.setCurrentIndex(self.path.findData(s.path))
            select_ease(self.ease, s.ease)
            self.seed.setValue(s.seed)
            self._refresh_segments()
            self.model_settings.refresh()
        finally:
            self._updating = False

    def _refresh_segments(self) -> None:
        doc = self.doc
        keyframes = doc.keyframes
        current = max(0, self.segment.currentIndex())
        self.segment.clear()
        if len(keyframes) < 2:
            for w in (self.segment, self.segment_frames, self.segment_ease):
                w.setEnabled(False)
            return
        for i, (a, b) in enumerate(segment_pairs(len(keyframes), doc.settings.loop)):
            self.segment.addItem(
                f"{i + 1}: {describe_keyframe(keyframes[a])} → {describe_keyframe(keyframes[b])}"
            )
        for w in (self.segment, self.segment_frames, self.segment_ease):
            w.setEnabled(True)
        current = min(current, self.segment.count() - 1)
        self.segment.setCurrentIndex(current)
        spec = doc.segments()[current]
        self.segment_frames.setValue(spec.steps)
        select_ease(self.segment_ease, spec.ease)
