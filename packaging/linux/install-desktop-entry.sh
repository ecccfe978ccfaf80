#!/usr/bin/env bash
# Put morphapp in the desktop's application menu for this user (~/.local/share), for an install
# made with pip: the menu entry runs `morphapp gui` (files opened with it become its arguments).
#   bash packaging/linux/install-desktop-entry.sh [--uninstall]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
icons="$(python3 -c 'import morphapp.gui.about as a; print(a.ICONS)' 2>/dev/null || true)"
if [[ "${1:-}" == "--uninstall" ]]; then
    rm -f "$data/applications/morphapp.desktop"
    find "$data/icons/hicolor" -name morphapp.png -delete 2>/dev/null || true
    rm -f "$data/icons/hicolor/scalable/apps/morphapp.svg"
    echo "removed the morphapp menu entry"
    exit 0
fi
if [[ -z "$icons" || ! -d "$icons" ]]; then
    echo "morphapp is not installed for python3 (pip install morphapp first)" >&2
    exit 2
fi
install -D -m 644 "$here/morphapp.desktop" "$data/applications/morphapp.desktop"
for size in 16 24 32 48 64 128 256 512; do
    install -D -m 644 "$icons/morphapp-$size.png" "$data/icons/hicolor/${size}x${size}/apps/morphapp.png"
done
install -D -m 644 "$icons/morphapp.svg" "$data/icons/hicolor/scalable/apps/morphapp.svg"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "installed the morphapp menu entry in $data"
