"""The point editor: place corresponding points on two keyframes for a shape-aware morph.

Click a feature on the left image, then the same feature on the right: that is one numbered
pair (its number shows when selected or pointed at). Drag a marker to move it; Delete removes the
selected pair; the wheel zooms for precise placement. Points are stored in the
document (undoable) in source-image coordinates, as the engine and point files use them.

Pairs auto-align found are hollow rings, pairs placed (or moved) by hand filled dots: Auto-align
run again replaces only the rings and keeps the dots (core/domain/point_merge.py).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QCloseEvent,
    QKeyEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from morphapp.core.align.faces import face_mesh_points
from morphapp.core.domain.keyframes import Keyframe, describe_keyframe
from morphapp.core.domain.point_merge import merge_realigned, without_auto
from morphapp.core.domain.point_origins import (
    AUTO,
    HAND,
    PointOrigin,
    all_origins,
    segment_origins,
    stored_origins,
)
from morphapp.core.domain.points import PointPair, SegmentPoints
from morphapp.core.timeline.plan import segment_pairs
from morphapp.errors import MorphError
from morphapp.gui.align_job import AlignRunner
from morphapp.gui.document import Document
from morphapp.gui.point_canvas import LEGEND, PointCanvas
from morphapp.gui.preview_controller import PreviewController


class PointEditor(QDialog):
    """Edit one segment's point pairs; every change is an undoable document edit."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Correspondence points")
        self.setObjectName("pointEditor")
        self.doc = document
        self.pending: tuple[float, float] | None = None  # a left point waiting for its partner
        self.current: int | None = None
        self.segment = QComboBox()
        self.left = PointCanvas()
        self.right = PointCanvas()
        self.hint = QLabel(
            "Click a feature on the left image, then the same feature on the right. "
            "Drag a marker to move it; Delete removes the selected pair. Point at a marker to see its "
            "number; the wheel zooms, a right-button drag pans, a right double-click shows all."
        )
        self.hint.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("pointStatus")
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("pointLegend")
        self.legend.setToolTip(
            "Filled dots: pairs you placed or moved. Hollow rings: pairs Auto-align found; running it "
            "again replaces them and keeps yours. Drag a ring to make it yours."
        )
        self.auto_button = QPushButton("Auto-align")
        self.aligner = AlignRunner(self)
        self.aligner.finished.connect(self._aligned)
        self.delete_button = QPushButton("Delete pair")
        self.clear_button = QPushButton("Clear")
        self.remove_auto_button = QPushButton("Remove automatic points")
        self.remove_auto_button.setToolTip("Keep only the pairs placed by hand (filled dots)")
        # Semantic points (DIFT) from an installed Stable Diffusion model, as --align-model does.
        self.features_from = QComboBox()
        self.features_from.setObjectName("alignFeaturesFrom")
        self.features_from.setToolTip(
            "Auto-align can also pair points by meaning (a cat's eye with a dog's) with the features "
            "of an installed Stable Diffusion model: slower (the model loads once), kept only when it helps"
        )
        self.mesh_box = QCheckBox("Show face mesh")
        self.mesh_box.setToolTip("Draw the 468 face landmarks found in each keyframe (what Auto-align uses)")
        close = QPushButton("Close")
        top = QHBoxLayout()
        top.addWidget(QLabel("Segment"))
        top.addWidget(self.segment, 1)
        images = QHBoxLayout()
        images.addWidget(self.left, 1)
        images.addWidget(self.right, 1)
        buttons = QHBoxLayout()
        for button in (
            self.auto_button,
            self.features_from,
            self.delete_button,
            self.clear_button,
            self.remove_auto_button,
            self.mesh_box,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.hint)
        layout.addLayout(images, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(1000, 600)

        self.left.clicked.connect(self.place_left)
        self.right.clicked.connect(self.place_right)
        self.left.moved.connect(lambda i, x, y: self.move_point(i, 0, x, y))
        self.right.moved.connect(lambda i, x, y: self.move_point(i, 1, x, y))
        self.left.selected.connect(self.select)
        self.right.selected.connect(self.select)
        for canvas in (self.left, self.right):  # the pair under the pointer is labelled on both sides
            canvas.hovered.connect(self._hover)
        self.segment.currentIndexChanged.connect(lambda _i: self._load_segment())
        self.auto_button.clicked.connect(self.auto_align)
        self.delete_button.clicked.connect(self.delete_current)
        self.clear_button.clicked.connect(self.clear_segment)
        self.remove_auto_button.clicked.connect(self.remove_automatic)
        self.mesh_box.toggled.connect(lambda _on: self._show_mesh())
        close.clicked.connect(self.close)
        document.changed.connect(self.refresh)
        self.refresh_feature_models()
        self.refresh()

    def refresh_feature_models(self) -> None:
        """ "Pixels only", then every installed diffusion model (a scan: nothing is loaded)."""
        from morphapp.models.discovery import scan

        current = self.features_from.currentData()
        self.features_from.clear()
        self.features_from.addItem("Pixels only", None)
        for info in scan().models:
            if info.is_diffusion and info.usable:
                self.features_from.addItem(f"+ meaning: {info.name}", info)
        names = [
            getattr(self.features_from.itemData(i), "name", None) for i in range(self.features_from.count())
        ]
        if current is not None and current.name in names:
            self.features_from.setCurrentIndex(names.index(current.name))
        self.features_from.setVisible(self.features_from.count() > 1)  # only when there is a choice

    # -- document access -----------------------------------------------------------------------
    def images(self) -> list[Keyframe]:
        """The keyframes, while every one is an image (points belong to images, not prompts); else []."""
        keyframes = self.doc.keyframes
        images = [k for k in keyframes if isinstance(k, Keyframe)]
        return images if len(images) == len(keyframes) else []

    def pairs(self) -> list[tuple[int, int]]:
        """The segments (indexes into ``images``), while every keyframe is an image."""
        images = self.images()
        if len(images) < 2:
            return []
        return segment_pairs(len(images), self.doc.settings.loop)

    def segment_points(self) -> list[PointPair]:
        points = self.doc.settings.points or ()
        index = self.segment.currentIndex()
        return list(points[index]) if 0 <= index < len(points) else []

    def segment_origins(self) -> list[PointOrigin]:
        """One origin per pair of ``segment_points`` ("hand" where none is recorded)."""
        settings = self.doc.settings
        return list(segment_origins(settings.points, settings.point_origins, self.segment.currentIndex()))

    def _store(self, label: str, pairs: list[PointPair], origins: list[PointOrigin]) -> None:
        """The shown segment's pairs and their origins, as one undoable edit."""
        n_segments = len(self.pairs())
        settings = self.doc.settings
        points = list(settings.points or ())
        points += [()] * (n_segments - len(points))
        kinds = list(all_origins(settings.points, settings.point_origins))
        kinds += [()] * (n_segments - len(kinds))
        index = self.segment.currentIndex()
        points[index], kinds[index] = tuple(pairs), tuple(origins)
        points, kinds = points[:n_segments], kinds[:n_segments]
        if all(not seg for seg in points):
            self.doc.set_settings(label, points=None, point_origins=None)
        else:
            self.doc.set_settings(label, points=tuple(points), point_origins=stored_origins(points, kinds))

    # -- edits -----------------------------------------------------------------------------------
    def place_left(self, x: float, y: float) -> None:
        self.pending = (x, y)
        self.status.setText("Now click the same feature on the right image.")
        self._show()

    def place_right(self, x: float, y: float) -> None:
        if self.pending is None:
            self.status.setText("Click the left image first.")
            return
        pairs, origins = self.segment_points(), self.segment_origins()
        pairs.append((*self.pending, x, y))
        origins.append(HAND)
        self.pending = None
        self.current = len(pairs) - 1
        self.status.setText(f"{len(pairs)} point pairs")
        self._store("Add point pair", pairs, origins)

    def move_point(self, index: int, side: int, x: float, y: float) -> None:
        pairs = self.segment_points()
        if not 0 <= index < len(pairs):
            return
        xa, ya, xb, yb = pairs[index]
        pairs[index] = (x, y, xb, yb) if side == 0 else (xa, ya, x, y)
        origins = self.segment_origins()
        origins[index] = HAND  # moved by hand: the user's now, kept when auto-align runs again
        self.current = index
        self._store("Move point", pairs, origins)

    def select(self, index: int) -> None:
        self.current = index
        self._show()

    def _hover(self, index: int) -> None:
        for canvas in (self.left, self.right):
            canvas.set_hover(None if index < 0 else index)

    def delete_current(self) -> None:
        pairs, origins = self.segment_points(), self.segment_origins()
        if self.current is not None and 0 <= self.current < len(pairs):
            del pairs[self.current], origins[self.current]
            self.current = None
            self._store("Delete point pair", pairs, origins)

    def clear_segment(self) -> None:
        self.pending = None
        self.current = None
        if self.segment_points():
            self._store("Clear points", [], [])

    def remove_automatic(self) -> None:
        """Keep only the shown segment's hand-placed pairs."""
        pairs, origins = self.segment_points(), self.segment_origins()
        kept = list(without_auto(tuple(pairs), tuple(origins)))
        if len(kept) < len(pairs):
            self.current = None
            removed = len(pairs) - len(kept)
            self.status.setText(f"Removed {removed} automatic pairs; {len(kept)} placed by hand")
            self._store("Remove automatic points", kept, [HAND] * len(kept))

    def auto_align(self) -> None:
        """Find points for the shown pair off the GUI thread; clicking again cancels."""
        if self.aligner.running:
            self.aligner.cancel()
            return
        pairs = self.pairs()
        index = self.segment.currentIndex()
        if not 0 <= index < len(pairs):
            return
        a, b = pairs[index]
        images = self.images()
        keyframes = (images[a], images[b])
        # Just this pair: a one-segment morph with the document's size and fit.
        single = dataclasses.replace(
            self.doc.settings, loop="none", segments=None, points=None, point_origins=None
        )
        self.auto_button.setText("Cancel auto-align")
        self.status.setText("Auto-aligning: looking for faces, then features…")
        preview = getattr(self.parent(), "preview", None)  # the main window's
        device = preview.model_choice().device if isinstance(preview, PreviewController) else "auto"
        self.aligner.start(
            keyframes, single, tag=(index, keyframes), semantic_model=self.features_from.currentData(),
            device=device,
        )  # fmt: skip

    def _aligned(
        self, tag: tuple[int, tuple[Keyframe, Keyframe]], found: tuple[SegmentPoints, ...] | None, text: str
    ) -> None:  # the tag that ``_auto`` gave the aligner
        self.auto_button.setText("Auto-align")
        self.status.setText(text)
        index, keyframes = tag
        current = self.pairs()
        if not found or not 0 <= index < len(current):
            return  # cancelled (None), failed (no segments: the status says why), or the morph changed
        a, b = current[index]
        if (self.doc.keyframes[a], self.doc.keyframes[b]) != keyframes or not found[0]:
            return
        self.segment.setCurrentIndex(index)
        # The new automatic pairs replace the old ones; the hand-placed pairs stay (one undo step).
        merged = merge_realigned(tuple(self.segment_points()), tuple(self.segment_origins()), found[0])
        if merged.kept_hand:
            beside = f"; {merged.dropped_auto} automatic left out beside them" if merged.dropped_auto else ""
            self.status.setText(f"{text}\nKept {merged.kept_hand} pairs placed by hand{beside}.")
        self.current = None
        self._store("Auto-align", list(merged.points), list(merged.origins))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.aligner.cancel()
        self.aligner.release_models()
        super().closeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_current()
            return
        super().keyPressEvent(event)

    # -- view ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        pairs = self.pairs()
        keyframes = self.doc.keyframes
        labels = [
            f"{i + 1}: {describe_keyframe(keyframes[a])} → {describe_keyframe(keyframes[b])}"
            for i, (a, b) in enumerate(pairs)
        ]
        if labels != [self.segment.itemText(i) for i in range(self.segment.count())]:
            current = max(0, self.segment.currentIndex())
            self.segment.blockSignals(True)
            self.segment.clear()
            self.segment.addItems(labels)
            self.segment.setCurrentIndex(min(current, len(labels) - 1))
            self.segment.blockSignals(False)
            self._load_segment()
        else:
            self._show()
        for w in (self.auto_button, self.delete_button, self.clear_button, self.left, self.right):
            w.setEnabled(bool(pairs))
        self.remove_auto_button.setEnabled(bool(pairs) and AUTO in self.segment_origins())

    def _load_segment(self) -> None:
        pairs = self.pairs()
        index = self.segment.currentIndex()
        self.pending = None
        self.current = None
        if 0 <= index < len(pairs):
            a, b = pairs[index]
            images = self.images()
            self.left.set_image(str(images[a].path))
            self.right.set_image(str(images[b].path))
        self._show_mesh()
        self._show()

    def _show_mesh(self) -> None:
        """The face mesh overlay (about 5 ms a keyframe once the models are loaded: on this thread)."""
        pairs = self.pairs()
        index = self.segment.currentIndex()
        images = self.images()
        for canvas, side in ((self.left, 0), (self.right, 1)):
            points: list[tuple[float, float]] = []
            if self.mesh_box.isChecked() and 0 <= index < len(pairs):
                keyframe = images[pairs[index][side]]
                try:
                    meshes = face_mesh_points(str(keyframe.path))
                except MorphError as exc:
                    self.status.setText(str(exc))
                    meshes = []
                points = [(float(x), float(y)) for mesh in meshes for x, y in mesh]
            canvas.set_overlay(points)

    def _show(self) -> None:
        pairs, origins = self.segment_points(), self.segment_origins()
        left: list[tuple[float, float] | None] = [(p[0], p[1]) for p in pairs]
        right: list[tuple[float, float] | None] = [(p[2], p[3]) for p in pairs]
        if self.pending is not None:
            left.append(self.pending)
            right.append(None)
            origins.append(HAND)
        self.left.set_points(left, self.current, origins)
        self.right.set_points(right, self.current, origins)
