"""The settings panel's field types and form helpers: sizes, seeds, frame rates, spins, combos, rows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QWidget,
)

from morphapp.core.domain.settings import MAX_FPS, MAX_SEED
from morphapp.core.imaging.sizes import MAX_SIDE, MIN_SIDE, SIZE_STEP, round_side

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

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
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


def int_spin(lo: int, hi: int, step: int, suffix: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setKeyboardTracking(False)  # one edit per typed number, not per digit
    return spin


def choice_combo(values: tuple[str, ...]) -> QComboBox:
    """A combo box whose items' data are their texts."""
    combo = QComboBox()
    for value in values:
        combo.addItem(value, value)
    return combo


def fill_form(box: QGroupBox, rows: list[tuple[str, QWidget]]) -> QFormLayout:
    """Labelled rows in ``box``; a row with no label spans the form."""
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    for label, widget in rows:
        form.addRow(label, widget) if label else form.addRow(widget)
    return form


def form_group(title: str, rows: list[tuple[str, QWidget]]) -> QGroupBox:
    box = QGroupBox(title)
    fill_form(box, rows)
    return box


def explain(box: QGroupBox, field: QWidget, tip: str) -> None:
    """The same tooltip on a field and on its label."""
    field.setToolTip(tip)
    layout = box.layout()  # typed QLayout | None: form_group's is a QFormLayout
    label = layout.labelForField(field) if isinstance(layout, QFormLayout) else None
    if label is not None:
        label.setToolTip(tip)


def select_ease(combo: QComboBox, ease: str) -> None:
    """Show ``ease`` in ``combo``, adding it when it is not one of the named curves (a project's
    cubic-bezier, or the per-frame spacing that music-reactive spacing saves), so that it reads true."""
    index = combo.findData(ease)
    if index < 0:
        label = "music-reactive" if ease.startswith("points(") else ease
        combo.addItem(label, ease)
        index = combo.count() - 1
    combo.setCurrentIndex(index)
