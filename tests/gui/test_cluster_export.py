"""The window sends an export to Ray (a local instance here): the preview's frames, the setting kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from morphapp.gui.export_dialog import PRESETS
from morphapp.gui.main_window import MainWindow

TIMEOUT = 180_000  # a Ray instance starts in ~8 s; two workers load the model


def _export(qtbot, window: MainWindow, target: Path, cluster: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    notes: list[str] = []
    window.engine.worker.export_note.connect(notes.append)
    window.open_export()
    dialog = window.export_dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index("png"))
    dialog.destination.setText(str(target))
    dialog.render_on.setCurrentIndex(dialog.render_on.findData("ray" if cluster else "here"))
    assert dialog._form.isRowVisible(dialog.cluster) == bool(cluster)
    assert "RAY_AUTH_MODE=token" in dialog.cluster.toolTip()  # what a joined cluster exposes (issue 25)
    if cluster:
        dialog.cluster.setText(cluster)
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    dialog.done(0)
    return notes


def _frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("frame_*.png"))]


def test_an_export_on_ray_makes_the_frames_of_an_export_here(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:
    window.add_images([pairs_dir / "cat.png", pairs_dir / "dog.png"])
    qtbot.waitUntil(window.preview.complete, timeout=TIMEOUT)  # (and the backend is picked)
    _export(qtbot, window, tmp_path / "here", None)
    notes = _export(qtbot, window, tmp_path / "ray", "local:2")
    assert any(n.startswith("running on Ray (local instance): 2 CPU workers") for n in notes), notes
    here, ray = _frames(tmp_path / "here"), _frames(tmp_path / "ray")
    assert len(here) == len(ray) == 5
    assert all(np.array_equal(a, b) for a, b in zip(here, ray, strict=True))
    assert window.qsettings.value("export_cluster") == "local:2"  # the next export offers it again
    window.open_export()
    dialog = window.export_dialog
    assert (
        dialog is not None and dialog.render_on.currentData() == "ray" and dialog.cluster.text() == "local:2"
    )
    dialog.cluster.setText("nowhere")
    dialog.export_button.click()
    assert "give local:N or a Ray cluster's HOST:PORT" in dialog.message.text() and dialog.job is None
    dialog.done(0)
