"""The expression keyframe editor: type ``a.png - b.png + c.png``, see its terms as thumbnails.

The expression is parsed on every edit with the engine's own parser, so the window accepts
exactly what the CLI accepts, and a mistake shows the parser's message (which names the
character) before anything is added.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.domain.keyframe_expr import parse_expression
from morphapp.core.domain.keyframes import EXPR_PREFIX, ExprKeyframe, ExprTerm, Keyframe, PromptKeyframe
from morphapp.errors import MorphError
from morphapp.gui.keyframe_strip import IMAGE_FILTER, THUMB, prompt_icon, thumbnail


def term_tile(weight: float, source: Keyframe | PromptKeyframe, first: bool) -> QWidget:
    """One term: its sign and weight over the picture (or the prompt's card)."""
    tile = QWidget()
    layout = QVBoxLayout(tile)
    layout.setContentsMargins(2, 2, 2, 2)
    size = abs(weight)
    sign = "−" if weight < 0 else ("" if first else "+")
    head = QLabel(f"{sign} {size:g} ×" if size != 1 else (sign or " "))
    head.setAlignment(Qt.AlignmentFlag.AlignCenter)
    picture = QLabel()
    picture.setFixedSize(THUMB, THUMB)
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if isinstance(source, Keyframe):
        icon = thumbnail(source.path) if source.path.is_file() else None
        if icon is not None and not icon.isNull():
            picture.setPixmap(icon.pixmap(THUMB, THUMB))
        else:
            picture.setText("not found")
        picture.setToolTip(str(source.path))
        name = source.path.name
    else:
        picture.setPixmap(prompt_icon(source.prompt).pixmap(THUMB, THUMB))
        name = "prompt"
    caption = QLabel(name)
    caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
    caption.setMaximumWidth(THUMB + 8)
    for widget in (head, picture, caption):
        layout.addWidget(widget)
    return tile


class ExpressionDialog(QDialog):
    """Asks for an expression keyframe; ``keyframe`` holds it once accepted."""

    def __init__(self, parent: QWidget | None = None, start: ExprKeyframe | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Expression keyframe")
        self.keyframe: ExprKeyframe | None = None
        self.edit = QLineEdit()
        self.edit.setObjectName("expressionEdit")
        self.edit.setPlaceholderText("night.png + day.png - day_nosun.png   or   0.5*a.png + 0.5*b.png")
        add_image = QPushButton("Add Image…")
        add_image.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel(EXPR_PREFIX))
        row.addWidget(self.edit, 1)
        row.addWidget(add_image)
        self.message = QLabel()
        self.message.setObjectName("expressionMessage")
        self.message.setWordWrap(True)
        self.terms = QHBoxLayout()
        terms_box = QWidget()
        terms_box.setLayout(self.terms)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        help_text = QLabel(
            "Terms are images or prompt:TEXT, joined by “ + ” or “ - ” with spaces around them; a weight is "
            "written 0.5*a.png. The latents are added with their weights (with a diffusion model: the "
            "text conditionings and the starting noise)."
        )
        help_text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addLayout(row)
        layout.addWidget(terms_box)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)
        # Editing keeps what the text does not show (each image's hash and prompt), and an
        # expression left as it was is the very keyframe it was (no edit, no undo step).
        self.start = start
        self._originals = {image.path: image for image in start.images} if start is not None else {}
        self.edit.setText(start.text() if start is not None else "")
        self._check()

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _check(self) -> None:
        text = self.edit.text()
        self.keyframe = None
        while self.terms.count():
            item = self.terms.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)  # gone now, not at the next event loop
                widget.deleteLater()
        if not self.edit.text().strip():
            self.message.setText("Type an expression.")
            self.ok_button.setEnabled(False)
            return
        try:
            keyframe = self._kept(parse_expression(text))  # positions count in the field, as typed
        except MorphError as exc:
            self.message.setText(str(exc))
            self.ok_button.setEnabled(False)
            return
        for i, term in enumerate(keyframe.terms):
            self.terms.addWidget(term_tile(term.weight, term.source, i == 0))
        self.terms.addStretch(1)
        missing = [image.path.name for image in keyframe.images if not image.path.is_file()]
        total = sum(term.weight for term in keyframe.terms)
        if missing:
            self.message.setText(f"not found: {', '.join(missing)}")
        elif abs(total - 1.0) > 1e-6:
            self.message.setText(
                f"The weights add up to {total:g}: the keyframe is not a picture's blend but a difference "
                "(weights that add up to 1 keep the brightness)."
            )
        else:
            self.message.setText(f"{len(keyframe.terms)} terms.")
        self.keyframe = None if missing else keyframe
        self.ok_button.setEnabled(self.keyframe is not None)

    def _kept(self, keyframe: ExprKeyframe) -> ExprKeyframe:
        if self.start is not None and keyframe == ExprKeyframe(tuple(
            ExprTerm(t.weight, Keyframe(t.source.path) if isinstance(t.source, Keyframe) else t.source)
            for t in self.start.terms
        )):  # fmt: skip
            return self.start
        terms = tuple(
            ExprTerm(t.weight, self._originals.get(t.source.path, t.source)) if isinstance(t.source, Keyframe)
            else t for t in keyframe.terms
        )  # fmt: skip
        return ExprKeyframe(terms)

    def _browse(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add images to the expression", str(Path.home()), IMAGE_FILTER
        )
        self.add_terms([Path(f) for f in files])

    def add_terms(self, paths: list[Path]) -> None:
        """Append images as ``+`` terms (quoted where the name holds " + " or " - ")."""
        parts = [self.edit.text().strip()] if self.edit.text().strip() else []
        for path in paths:
            text = str(path)
            parts.append(f'"{text}"' if (" + " in text or " - " in text) else text)
        self.edit.setText(" + ".join(parts))
