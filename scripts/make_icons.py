"""Render morphapp/gui/icons/morphapp.svg to the PNG sizes desktops ask for (16 ... 512 px).

QT_QPA_PLATFORM=offscreen python scripts/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "morphapp" / "gui" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # QPainter needs a GUI application
    renderer = QSvgRenderer(str(ICONS / "morphapp.svg"))
    if not renderer.isValid():
        print("morphapp.svg: not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(ICONS / f"morphapp-{size}.png"))
    print(f"wrote {len(SIZES)} PNGs to {ICONS}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
