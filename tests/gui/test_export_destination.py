"""Issue 24: an export is offered next to the saved project (trip.json -> trip.gif), else next to
the first picture (cat-dog.gif), else where it always was; never over a file that is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from morphapp.gui import export_dialog
from morphapp.gui.export_dialog import PRESETS, ExportDialog, default_export_base, free_path
from morphapp.gui.main_window import MainWindow

TIMEOUT = 60_000


def _photos(pairs_dir: Path, folder: Path, *names: str) -> list[Path]:
    """Copies of the shared photos in the test's own folder (exports land next to them)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(pairs_dir / name, folder / name)) for name in names]


def _open_export(window: MainWindow) -> ExportDialog:
    window.open_export()
    assert window.export_dialog is not None
    return window.export_dialog


def _preset(dialog: ExportDialog, fmt: str) -> None:
    dialog.preset.setCurrentIndex([p.format for p in PRESETS].index(fmt))


def test_a_saved_project_s_export_is_offered_next_to_it_under_its_name(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window.add_images(_photos(pairs_dir, tmp_path / "photos", "cat.png", "dog.png"))
    (tmp_path / "projects").mkdir()
    assert window.save_to(tmp_path / "projects" / "trip.v2.json")
    dialog = _open_export(window)
    assert PRESETS[0].format == "gif-web"
    assert Path(dialog.destination.text()) == tmp_path / "projects" / "trip.v2.gif"  # the dot stays
    _preset(dialog, "mp4")
    assert Path(dialog.destination.text()) == tmp_path / "projects" / "trip.v2.mp4"
    _preset(dialog, "png")  # a folder of frames
    assert Path(dialog.destination.text()) == tmp_path / "projects" / "trip.v2"


def test_an_unsaved_morph_s_export_is_offered_next_to_the_first_picture(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    cat, lion = _photos(pairs_dir, tmp_path / "shoot", "cat.png", "lion.png")
    (dog,) = _photos(pairs_dir, tmp_path / "elsewhere", "dog.png")
    window.add_images([cat, lion, dog])
    dialog = _open_export(window)
    assert Path(dialog.destination.text()) == tmp_path / "shoot" / "cat-dog.gif"  # first and last
    _preset(dialog, "webm")
    assert Path(dialog.destination.text()) == tmp_path / "shoot" / "cat-dog.webm"


def test_an_existing_file_is_never_offered(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "photos"
    window.add_images(_photos(pairs_dir, folder, "cat.png", "dog.png"))
    (folder / "cat-dog.gif").write_bytes(b"an earlier export")
    (folder / "cat-dog 2.gif").write_bytes(b"and another")
    dialog = _open_export(window)
    assert Path(dialog.destination.text()) == folder / "cat-dog 3.gif"
    _preset(dialog, "mp4")  # free under that extension
    assert Path(dialog.destination.text()) == folder / "cat-dog.mp4"
    assert free_path(folder) == tmp_path / "photos 2"  # a folder of frames too


def test_a_second_export_from_the_dialog_makes_a_new_file(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "photos"
    window.add_images(_photos(pairs_dir, folder, "cat.png", "dog.png"))
    dialog = _open_export(window)
    with qtbot.waitSignal(window.engine.worker.export_done, timeout=TIMEOUT):
        dialog.export_button.click()
    qtbot.waitUntil(lambda: "Saved" in dialog.message.text(), timeout=5000)
    assert (folder / "cat-dog.gif").stat().st_size > 0
    assert Path(dialog.destination.text()) == folder / "cat-dog 2.gif"


def test_a_typed_existing_file_is_replaced_only_when_the_artist_says_so(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    window.add_images(_photos(pairs_dir, tmp_path / "photos", "cat.png", "dog.png"))
    target = tmp_path / "keep.gif"
    target.write_bytes(b"the artist's own file")
    asked: list[str] = []

    def answer_no(*args: object, **_kw: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer_no)
    dialog = _open_export(window)
    dialog.destination.setText(str(target))
    dialog.export_button.click()
    assert asked and "keep.gif already exists" in asked[0]
    assert dialog.job is None and "Not exported" in dialog.message.text()
    assert target.read_bytes() == b"the artist's own file"


def test_with_no_folder_to_write_next_to_it_is_offered_where_it_always_was(
    qtbot, window: MainWindow, pairs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    window.add_images(_photos(pairs_dir, tmp_path / "read-only card", "cat.png", "dog.png"))
    window.qsettings.setValue("last_export_dir", str(tmp_path / "exports"))
    monkeypatch.setattr(export_dialog, "_writable_folder", lambda folder: False)  # tests may run as root
    dialog = _open_export(window)
    assert Path(dialog.destination.text()) == tmp_path / "exports" / "morph.gif"
    assert default_export_base(None, (), tmp_path) == tmp_path / "morph"  # no pictures, no project
