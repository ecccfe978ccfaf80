"""The settings panel: model and device, output size and fit, timing, path, easing, loop, seed.

Every control writes to the Document (undoable) and is refreshed from it, so the panel never
holds state of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.choices import PATH_CHOICES
from morphapp.core.domain.diffusion_settings import MAX_STEPS
from morphapp.core.domain.keyframes import describe_keyframe
from morphapp.core.domain.settings import (
    FIT_CHOICES,
    MAX_FPS,
    MAX_HOLD,
    MAX_SEED,
    MIN_FRAMES,
    MIN_SEGMENT_FRAMES,
)
from morphapp.core.imaging.sizes import MAX_SIDE, MIN_SIDE, SIZE_STEP, round_side, round_size
from morphapp.core.timeline.easing import NAMED_BEZIERS
from morphapp.core.timeline.plan import LOOP_CHOICES, MAX_FRAMES, segment_pairs
from morphapp.gui.document import Document
from morphapp.gui.engine_worker import ModelChoice
from morphapp.gui.field_edits import track_field_edits
from morphapp.gui.wheel_guard import guard_wheel

EASES = ("linear", *NAMED_BEZIERS)
BACKGROUNDS = {"White": (255, 255, 255), "Black": (0, 0, 0), "Grey": (128, 128, 128)}
OPEN_MODEL_FILE = "Open model file…"
FPS_DECIMALS = 2


class SizeSpinBox(QSpinBox):
    """One side in pixels over the engine's range. A typed number snaps as ``--size`` rounds it
    (core.image_sizes.round_side: 500 -> 504), so the field never shows a size the morph lacks."""

    def __init__(self) -> None:
        super().__init__()
        self.setRange(MIN_SIDE, MAX_SIDE)
        self.setSingleStep(SIZE_STEP)
        self.setSuffix(" px")
        self.setKeyboardTracking(False)  # one edit per typed number, not per digit
        self.typed: int | None = None  # the last number typed, before rounding (for the note)

    def valueFromText(self, text: str) -> int:
        self.typed = super().valueFromText(text)
        return round_side(self.typed)


class SeedSpinBox(QAbstractSpinBox):
    """A seed over the engine's whole range (±MAX_SEED): a QSpinBox holds 32-bit numbers only, so
    it showed a 64-bit seed from the command line as 2147483647 (and no negative one)."""

    valueChanged = Signal(object)  # int: Signal(int) is a 32-bit C int too

    def __init__(self) -> None:
        super().__init__()
        self._value = 0
        self.lineEdit().setText("0")
        self.editingFinished.connect(self._interpret)

    def _interpret(self) -> None:
        typed = self._parse(self.text())
        self.setValue(self._value if typed is None else typed)

    @staticmethod
    def _parse(text: str) -> int | None:
        try:
            value = int(text.strip())
        except ValueError:
            return None
        return value if -MAX_SEED <= value <= MAX_SEED else None

    def minimum(self) -> int:
        return -MAX_SEED

    def maximum(self) -> int:
        return MAX_SEED

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = min(MAX_SEED, max(-MAX_SEED, value))
        self.lineEdit().setText(str(value))
        if value != self._value:
            self._value = value
            self.valueChanged.emit(value)

    def validate(self, text: str, pos: int) -> object:
        if text.strip() in ("", "-", "+"):
            return QValidator.State.Intermediate, text, pos
        state = QValidator.State.Invalid if self._parse(text) is None else QValidator.State.Acceptable
        return state, text, pos

    def fixup(self, text: str) -> str:
        return str(self._value)

    def stepBy(self, steps: int) -> None:
        self.setValue(self._value + steps)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > -MAX_SEED:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < MAX_SEED:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags


def fps_field() -> QDoubleSpinBox:
    """A frame rate over the engine's range: any rate above 0 (the smallest the field can show) up
    to MAX_FPS, so a project's 0.5 fps from the command line reads true, not as 1."""
    spin = QDoubleSpinBox()
    spin.setDecimals(FPS_DECIMALS)  # before the range, which it would round
    spin.setRange(10.0**-FPS_DECIMALS, MAX_FPS)
    return spin


def _device_available(name: str) -> bool:
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    return True


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

        # Model
        self.model = QComboBox()
        self.model.setObjectName("modelCombo")
        self.device = QComboBox()
        for name in ("auto", "cpu", "cuda", "mps"):
            self.device.addItem(name.upper() if name != "auto" else "Auto", name)
            if not _device_available(name):
                item = self.device.model().item(self.device.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(f"{name.upper()} is not available on this machine")
        self.in_use = QLabel("Model not loaded yet")
        self.in_use.setObjectName("modelInUse")
        self.in_use.setWordWrap(True)
        self.prompt_button = QPushButton("Add prompt keyframe…")
        self.prompt_button.setObjectName("addPromptButton")
        self.prompt_button.setEnabled(False)
        self.prompt_button.clicked.connect(self.add_prompt_requested)
        self.prompt_note = QLabel()
        self.prompt_note.setWordWrap(True)
        self._diffusion_models: set[str] = set()
        # Diffusion models only (Stable Diffusion 1.x/2.x/SDXL): denoising steps and pacing.
        self.diffusion_steps = self._spin(1, MAX_STEPS, 1, " steps")
        self.diffusion_steps.setObjectName("diffusionSteps")
        self.diffusion_steps.setToolTip("DDIM denoising steps per frame: more is slower and finer")
        self.even_pacing = QCheckBox("Even pacing")
        self.even_pacing.setToolTip(
            "Re-place in-betweens so that neighbouring frames differ evenly (a quick measuring pass; "
            "diffusion models render twice)"
        )
        # Guidance 0 in the spin box stands for "auto" (1 for images, 7.5 with prompt keyframes).
        self.guidance = QDoubleSpinBox()
        self.guidance.setObjectName("diffusionGuidance")
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setSpecialValueText("Auto")
        self.guidance.setToolTip(
            "Classifier-free guidance: Auto is 1 for image morphs, 7.5 with prompt keyframes"
        )
        self.strength = QDoubleSpinBox()
        self.strength.setObjectName("diffusionStrength")
        self.strength.setRange(0.05, 1.0)
        self.strength.setSingleStep(0.05)
        self.strength.setToolTip(
            "How far images are inverted towards noise: 1 = fully, lower keeps more of them"
        )
        self.attn_steps = QDoubleSpinBox()
        self.attn_steps.setObjectName("diffusionAttention")
        self.attn_steps.setRange(0.0, 1.0)
        self.attn_steps.setSingleStep(0.1)
        self.attn_steps.setToolTip("Share of the steps in which in-betweens attend to both keyframes")
        self.method = QComboBox()
        self.method.setObjectName("diffusionMethod")
        self.method.addItem("inner (AID)", "inner")
        self.method.addItem("outer (AID)", "outer")
        self.method.addItem("FreeMorph", "freemorph")
        self.method.setToolTip(
            "How in-betweens attend to the keyframes: inner over the blend of both, outer to each apart"
        )
        model_box = self._group(
            "Model",
            [("Model", self.model), ("Device", self.device), ("", self.in_use),
             ("Steps", self.diffusion_steps), ("Guidance", self.guidance), ("Strength", self.strength),
             ("Attention", self.attn_steps), ("Method", self.method), ("", self.even_pacing)],
        )  # fmt: skip
        model_box.layout().addRow(self.prompt_button)  # type: ignore[union-attr]
        model_box.layout().addRow(self.prompt_note)  # type: ignore[union-attr]
        self._model_form: QFormLayout = model_box.layout()  # type: ignore[assignment]
        for spin in (self.diffusion_steps, self.guidance, self.strength, self.attn_steps):
            spin.valueChanged.connect(self._diffusion_changed)
        self.even_pacing.toggled.connect(self._pacing_changed)
        self.method.currentIndexChanged.connect(self._diffusion_changed)

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
        self.fit = self._combo(FIT_CHOICES)
        self.background = self._combo(tuple(BACKGROUNDS))
        output_box = self._group(
            "Output",
            [("Size", size_widget), ("", self.size_note), ("Fit", self.fit), ("Background", self.background)],
        )
        self._output_form: QFormLayout = output_box.layout()  # type: ignore[assignment]
        self._output_form.setRowVisible(self.size_note, False)

        # Timing: fps, frames and duration are linked.
        self.fps = fps_field()
        self.fps.setObjectName("fpsSpin")
        self.frames = self._spin(MIN_FRAMES, MAX_FRAMES, 1, " frames")
        self.frames.setObjectName("framesSpin")
        self.duration = QDoubleSpinBox()  # its range follows the fps: the frames' range in seconds
        self.duration.setDecimals(2)
        self.duration.setSuffix(" s")
        self.hold = self._spin(0, MAX_HOLD, 1, " frames")
        self.loop = self._combo(LOOP_CHOICES)
        timing_box = self._group(
            "Timing",
            [("FPS", self.fps), ("Total frames", self.frames), ("Duration", self.duration),
             ("Hold keyframes", self.hold), ("Loop", self.loop)],
        )  # fmt: skip

        # Path and per-segment settings
        self.path = self._combo(PATH_CHOICES)
        self.ease = self._combo(EASES)
        self.segment = QComboBox()
        self.segment.setObjectName("segmentCombo")
        self.segment_frames = self._spin(MIN_SEGMENT_FRAMES, MAX_FRAMES, 1, " frames")
        self.segment_ease = self._combo(EASES)
        self.seed = SeedSpinBox()
        path_box = self._group(
            "Path",
            [("Path", self.path), ("Easing (all)", self.ease), ("Segment", self.segment),
             ("Frames in segment", self.segment_frames), ("Easing in segment", self.segment_ease),
             ("Seed", self.seed)],
        )  # fmt: skip
        # Two frame counts (issue 24): the whole morph's, and one segment's; the tooltips say how
        # they add up (count_frames in morphapp/core/timeline/plan.py).
        self._explain(
            timing_box, self.frames,
            "Every frame of the morph, rests included (Duration × FPS). Changing it spreads the frames "
            "evenly over the segments (Path ▸ Frames in segment); the rests (Hold keyframes) add frames "
            "on each keyframe on top of the segments' frames.",
        )  # fmt: skip
        self._explain(
            timing_box, self.hold,
            "Rests: each keyframe stays still for this many extra frames. They count in Total frames, "
            "not in any segment's frames.",
        )  # fmt: skip
        self._explain(
            path_box, self.segment_frames,
            "Frames of the chosen segment alone: its first keyframe and the in-betweens up to the next "
            "keyframe. Total frames adds up the segments' frames (there and back with Loop pingpong), "
            "the rests on each keyframe (Hold keyframes) and, without a loop, the last keyframe.",
        )  # fmt: skip
        self._explain(
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

    # -- building helpers ----------------------------------------------------------------------
    @staticmethod
    def _group(title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for label, widget in rows:
            form.addRow(label, widget) if label else form.addRow(widget)
        return box

    @staticmethod
    def _explain(box: QGroupBox, field: QWidget, tip: str) -> None:
        """The same tooltip on a field and on its label."""
        field.setToolTip(tip)
        label = box.layout().labelForField(field)  # type: ignore[union-attr]
        if label is not None:
            label.setToolTip(tip)

    @staticmethod
    def _spin(lo: int, hi: int, step: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)  # one edit per typed number, not per digit
        return spin

    @staticmethod
    def _combo(values: tuple[str, ...]) -> QComboBox:
        combo = QComboBox()
        for value in values:
            combo.addItem(value, value)
        return combo

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
        on(self.model.activated, self._model_picked)
        on(self.device.currentIndexChanged, lambda _i: self._emit_choice())

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

    def _model_picked(self, index: int) -> None:
        if self.model.itemText(index) == OPEN_MODEL_FILE:
            self.open_model_file.emit()
            return
        name = self.model.itemData(index)
        self.doc.set_model(name, diffusion=name in self._diffusion_models)
        self._emit_choice()

    def _diffusion_changed(self) -> None:
        if self._updating:
            return
        options = dataclasses.replace(
            self.doc.settings.diffusion,
            steps=self.diffusion_steps.value(),
            guidance=self.guidance.value() or None,  # 0 shows "Auto"
            strength=round(self.strength.value(), 2),
            attn_steps=round(self.attn_steps.value(), 2),
            method=self.method.currentData() or "inner",
        )
        self.doc.set_settings("Change diffusion settings", diffusion=options)

    def _pacing_changed(self) -> None:
        """Even pacing: the diffusion model's setting, or the autoencoder morph's own."""
        if self._updating:
            return
        pacing = "even" if self.even_pacing.isChecked() else "linear"
        if self.uses_diffusion():
            options = dataclasses.replace(self.doc.settings.diffusion, pacing=pacing)
            self.doc.set_settings("Change pacing", diffusion=options)
        else:
            self.doc.set_settings("Change pacing", pacing=pacing)

    def uses_diffusion(self) -> bool:
        """Whether the chosen model is a Stable-Diffusion-class one (prompt keyframes, steps)."""
        return self.doc.model is not None and self.doc.model in self._diffusion_models

    def _show_model_kind(self) -> None:
        diffusion = self.uses_diffusion()
        self.prompt_button.setEnabled(diffusion)
        widgets = (
            self.diffusion_steps,
            self.guidance,
            self.strength,
            self.attn_steps,
            self.method,
        )
        self.even_pacing.setChecked(
            (self.doc.settings.diffusion.pacing if diffusion else self.doc.settings.pacing) == "even"
        )
        # Shown only with a diffusion model (folded away, not greyed out, with an autoencoder), so
        # the settings that apply (output, timing) sit at the top of the panel.
        for widget in (*widgets, self.prompt_button):
            widget.setEnabled(diffusion)
            self._model_form.setRowVisible(widget, diffusion)
        self.prompt_note.setText(
            "Type a prompt as a keyframe, between or beside images."
            if diffusion
            else "Prompt keyframes need a Stable Diffusion model: choose one above (a diffusers folder or "
            ".safetensors checkpoint)."
        )

    def _emit_choice(self) -> None:
        self.model_choice_changed.emit(ModelChoice(self.doc.model, self.device.currentData()))

    # -- refresh from the document ---------------------------------------------------------------
    def refresh_models(self) -> None:
        from morphapp.models.discovery import scan

        self._updating = True
        self.model.clear()
        self.model.addItem("Default (first found)", None)
        self._diffusion_models = set()
        for info in scan().models:
            if info.can_encode:
                self.model.addItem(f"{info.name} — {info.family}", info.name)
            elif info.is_diffusion:
                self.model.addItem(f"{info.name} — {info.family.split(' (')[0]} (diffusion)", info.name)
                self._diffusion_models.add(info.name)
        self.model.addItem(OPEN_MODEL_FILE, "")
        self._updating = False

    def set_in_use(self, text: str) -> None:
        self.in_use.setText(f"In use: {text}")

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
            _select_ease(self.ease, s.ease)
            self.seed.setValue(s.seed)
            self._refresh_segments()
            index = self.model.findData(doc.model)
            self.model.setCurrentIndex(index if index >= 0 else 0)
            self.diffusion_steps.setValue(s.diffusion.steps)
            self.guidance.setValue(s.diffusion.guidance or 0.0)
            self.strength.setValue(s.diffusion.strength)
            self.attn_steps.setValue(s.diffusion.attn_steps)
            self.method.setCurrentIndex(max(0, self.method.findData(s.diffusion.method)))
            self._show_model_kind()
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
        _select_ease(self.segment_ease, spec.ease)


def _select_ease(combo: QComboBox, ease: str) -> None:
    """Show ``ease`` in ``combo``, adding it when it is not one of the named curves (a project's
    cubic-bezier, or the per-frame spacing that music-reactive spacing saves), so that it reads true."""
    index = combo.findData(ease)
    if index < 0:
        label = "music-reactive" if ease.startswith("points(") else ease
        combo.addItem(label, ease)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
