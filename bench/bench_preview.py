"""How soon the GUI shows the first in-between after the second keyframe is dropped.

Target (issue 3): the midpoint frame visible <= 1.5 s after the second 512² image is dropped,
on a 2-core CPU with TAEF2. Measured offscreen through the same path a drop takes
(``MainWindow.add_images``), with the first image dropped (and pre-encoded) before.

    MORPHAPP_MODEL_PATH=../shared/models python bench/bench_preview.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from morphapp.gui.autosave import Autosave
from morphapp.gui.main_window import MainWindow

PAIRS = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "pairs"


def wait(app: QApplication, condition, timeout: float = 120.0) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    while not condition():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() - start > timeout:
            raise TimeoutError("preview did not arrive")
    return time.perf_counter() - start


def one_run(app: QApplication, draft: bool, tmp: Path) -> tuple[float, float]:
    window = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), Autosave(tmp / "autosave"))
    window.ask_before_close = False
    window.preview.draft_first = draft
    window.show()
    window.add_images([PAIRS / "cat.png"])
    # The first image is encoded while the artist fetches the second one.
    wait(app, lambda: len(window.engine.worker.cache) >= (2 if draft else 1))
    started = time.perf_counter()
    window.add_images([PAIRS / "dog.png"])
    wait(app, lambda: window.preview.total > 0 and window.preview.total // 2 in window.preview.frames)
    first = time.perf_counter() - started
    mid = window.preview.total // 2
    wait(app, lambda: mid in window.preview.frames and mid not in window.preview.drafts)
    full = time.perf_counter() - started
    window.close()
    return first, full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for draft in (False, True):
            runs = [one_run(app, draft, Path(folder)) for _ in range(args.repeats)]
            rows.append((draft, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)))
    base = rows[0][1]
    print(f"cat.png then dog.png at 512x512, TAEF2, {os.cpu_count()} CPUs, median of {args.repeats}\n")
    print("| preview | midpoint visible (s) | midpoint full quality (s) | first-frame speed-up |")
    print("|---|---|---|---|")
    for draft, first, full in rows:
        name = "half-size draft first" if draft else "full size only (baseline)"
        print(f"| {name} | {first:.2f} | {full:.2f} | {base / first:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
