"""The settings panel's Model group: model and device, and a diffusion model's steps and pacing."""

from __future__ import annotations

import dataclasses

import torch
from PySide6.QtCore import Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QLabel, QPushButton

from morphapp.core.domain.diffusion_settings import MAX_STEPS
from morphapp.gui.document import Document
from morphapp.gui.engine_worker import ModelChoice
from morphapp.gui.settings_fields import fill_form, int_spin

OPEN_MODEL_FILE = "Open model file…"


def _device_available(name: str) -> bool:
    if name == "cuda":
        return torch.cuda.is_available()
    if name == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    return True


class ModelSettings(QGroupBox):
    """Writes to the Document (undoable) and is refreshed from it, like the rest of the panel."""

    model_choice_changed = Signal(object)  # ModelChoice
    open_model_file = Signal()
    add_prompt_requested = Signal()

    def __init__(self, document: Document) -> None:
        super().__init__("Model")
        self.doc = document
        self._updating = False
        self.model = QComboBox()
        self.model.setObjectName("modelCombo")
        self.device = QComboBox()
        for name in ("auto", "cpu", "cuda", "mps"):
            self.device.addItem(name.upper() if name != "auto" else "Auto", name)
            model = self.device.model()  # typed QAbstractItemModel: a QComboBox's own is a QStandardItemModel
            if not _device_available(name) and isinstance(model, QStandardItemModel):
                item = model.item(self.device.count() - 1)
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
        self.diffusion_steps = int_spin(1, MAX_STEPS, 1, " steps")
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
        self._form = fill_form(
            self,
            [("Model", self.model), ("Device", self.device), ("", self.in_use),
             ("Steps", self.diffusion_steps), ("Guidance", self.guidance), ("Strength", self.strength),
             ("Attention", self.attn_steps), ("Method", self.method), ("", self.even_pacing)],
        )  # fmt: skip
        self._form.addRow(self.prompt_button)
        self._form.addRow(self.prompt_note)
        for spin in (self.diffusion_steps, self.guidance, self.strength, self.attn_steps):
            spin.valueChanged.connect(self._diffusion_changed)
        self.even_pacing.toggled.connect(self._pacing_changed)
        self.method.currentIndexChanged.connect(self._diffusion_changed)
        # Not while refreshing: setting a field from the document is no edit of it.
        self.model.activated.connect(lambda i: None if self._updating else self._model_picked(i))
        self.device.currentIndexChanged.connect(lambda _i: None if self._updating else self._emit_choice())

    # -- edits -----------------------------------------------------------------------------------
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
            self._form.setRowVisible(widget, diffusion)
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
