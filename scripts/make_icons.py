"""Render morphapp/gui/icons/morphapp.svg to the PNG sizes desktops ask for (16 ... 512 px), and
from those the Windows .ico and macOS .icns the bundles use (packaging/windows, packaging/macos;
Pillow writes both on any platform).

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
PACKAGING = Path(__file__).resolve().parents[1] / "packaging"
WINDOWS_ICON = PACKAGING / "windows" / "morphapp.ico"
MAC_ICON = PACKAGING / "macos" / "morphapp.icns"


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
    from PIL import Image

    largest = Image.open(ICONS / "morphapp-512.png")
    for target, sizes in ((WINDOWS_ICON, [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]), (MAC_ICON, None)):
        target.parent.mkdir(parents=True, exist_ok=True)
        if sizes:
            largest.save(target, sizes=sizes)
        else:
            largest.save(target)  # ICNS: Pillow writes its standard sizes from the 512 px image
        print(f"wrote {target}")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
