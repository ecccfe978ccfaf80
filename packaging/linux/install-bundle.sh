#!/usr/bin/env bash
# Install the unpacked morphapp bundle (the folder this script is in) for this user, in ~/.local:
#   ./install.sh [--prefix DIR] [--uninstall]
#   DIR/lib/morphapp/                     the bundle (copied; the unpacked folder can then go)
#   DIR/bin/morphapp                      a symlink to it: `morphapp`, `morphapp render ...`
#   ~/.local/share/applications/morphapp.desktop, icons in ~/.local/share/icons/hicolor
# (XDG_DATA_HOME is honoured; DIR defaults to ~/.local.) No root, no Python, no network needed.
# This is the tar.gz's install.sh; packaging/linux/install-desktop-entry.sh is the one for pip installs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$HOME/.local"
uninstall=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
data="${XDG_DATA_HOME:-$HOME/.local/share}"
dest="$prefix/lib/morphapp"
link="$prefix/bin/morphapp"
sizes=(16 24 32 48 64 128 256 512)

if [[ $uninstall == 1 ]]; then
    # Only what this script put there: the symlink if it points into $dest, the entry, the icons.
    if [[ -L "$link" && "$(readlink "$link")" == "$dest/morphapp" ]]; then rm -f "$link"; fi
    rm -rf "$dest"
    rm -f "$data/applications/morphapp.desktop" "$data/icons/hicolor/scalable/apps/morphapp.svg"
    for size in "${sizes[@]}"; do rm -f "$data/icons/hicolor/${size}x${size}/apps/morphapp.png"; done
    command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
    echo "removed morphapp from $prefix and its menu entry"
    exit 0
fi

if [[ ! -x "$here/morphapp" || ! -d "$here/_internal" ]]; then
    echo "install.sh: run the install.sh inside the unpacked morphapp bundle" >&2
    exit 2
fi
icons="$here/_internal/morphapp/gui/icons"

if [[ "$here" != "$dest" ]]; then
    # Copy to a temporary name, then swap: an install over an older version is never half done.
    mkdir -p "$prefix/lib"
    rm -rf "$dest.new"
    cp -a "$here" "$dest.new"
    rm -rf "$dest"
    mv "$dest.new" "$dest"
fi
mkdir -p "$prefix/bin"
ln -sfn "$dest/morphapp" "$link"

# The desktop entry names the installed executable by its full path: a desktop session's PATH often
# lacks ~/.local/bin. Everything else is packaging/linux/morphapp.desktop unchanged.
mkdir -p "$data/applications"
sed "s|^Exec=morphapp |Exec=$dest/morphapp |" "$here/morphapp.desktop" >"$data/applications/morphapp.desktop"
chmod 644 "$data/applications/morphapp.desktop"
for size in "${sizes[@]}"; do
    install -D -m 644 "$icons/morphapp-$size.png" "$data/icons/hicolor/${size}x${size}/apps/morphapp.png"
done
install -D -m 644 "$icons/morphapp.svg" "$data/icons/hicolor/scalable/apps/morphapp.svg"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

echo "installed morphapp in $dest"
case ":$PATH:" in
    *":$prefix/bin:"*) echo "run: morphapp (the window) or morphapp render --help" ;;
    *) echo "run: $link ($prefix/bin is not on your PATH)" ;;
esac
