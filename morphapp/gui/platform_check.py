"""Before Qt starts: can its platform plugin run here? If not, one line that says what to do.

When Qt cannot load or start its platform plugin it prints a page of text and aborts the
process (exit 134). On Linux the usual causes are system libraries that a minimal install lacks
(``libxcb-icccm4``, ``libxcb-keysyms1``, ``libxcb-cursor0`` ...) and no X display at all. We look
first: ``ldd`` on the xcb plugin names the missing libraries (Qt also loads libxcb-cursor by
name, so that one is tried directly), and the X display is tried the way Xlib connects to it.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from morphapp.errors import InputError

# Debian / Ubuntu packages of the libraries Qt's xcb plugin needs (the ones minimal systems lack).
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
OFFSCREEN_HINT = "or run without a screen with QT_QPA_PLATFORM=offscreen"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_MISSING_SO = re.compile(r"(lib[\w.+-]+\.so(?:\.\d+)*)")


def check_platform() -> None:
    """Raise ``InputError`` (one line) when Qt's platform plugin is sure to fail; else return."""
    if not sys.platform.startswith("linux") or _platform() != "xcb":
        return  # offscreen, wayland, Windows, macOS: Qt's own checks are fine there
    missing = missing_xcb_libraries()
    if missing:
        raise InputError(
            "the desktop app cannot start: Qt's xcb platform plugin needs system libraries that are "
            f"missing: {', '.join(missing)}. Install {install_hint(missing)}, {OFFSCREEN_HINT}"
        )
    display = os.environ.get("DISPLAY", "")
    if not display:
        raise InputError(f"the desktop app cannot start: no X display (DISPLAY is not set); {OFFSCREEN_HINT}")
    if not x_display_reachable(display):
        raise InputError(
            f"the desktop app cannot start: cannot connect to the X display {display!r}; {OFFSCREEN_HINT}"
        )


def _platform() -> str:
    """The platform plugin Qt will use: QT_QPA_PLATFORM, else wayland in a Wayland session, else xcb."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if os.environ.get("WAYLAND_DISPLAY") and os.environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def xcb_plugin() -> Path | None:
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    plugin = plugins / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_xcb_libraries() -> list[str]:
    """Shared libraries the xcb plugin cannot find here, in ``ldd``'s order (empty: all present)."""
    plugin = xcb_plugin()
    ldd = shutil.which("ldd")
    missing: list[str] = []
    if plugin is not None and ldd is not None:
        try:
            out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        missing = list(dict.fromkeys(_NOT_FOUND.findall(out)))
    try:
        ctypes.CDLL("libxcb-cursor.so.0")  # Qt >= 6.5 loads it by name: ldd cannot see it
    except OSError:
        missing.append("libxcb-cursor.so.0")
    return missing


def install_hint(libraries: list[str]) -> str:
    """``sudo apt install ...`` with the Debian package of each library, where it is known."""
    packages = [DEBIAN_PACKAGES[name] for name in libraries if name in DEBIAN_PACKAGES]
    unknown = [name for name in libraries if name not in DEBIAN_PACKAGES]
    parts = []
    if packages:
        parts.append(f"them (Debian/Ubuntu: sudo apt install {' '.join(dict.fromkeys(packages))})")
    if unknown:
        parts.append(f"the packages that provide {', '.join(unknown)}")
    return " and ".join(parts)


def missing_library_in(error: BaseException) -> str | None:
    """The shared library an ImportError of Qt names (``libEGL.so.1: cannot open ...``), if any."""
    match = _MISSING_SO.search(str(error))
    return match.group(1) if match else None


def x_display_reachable(display: str, timeout: float = 2.0) -> bool:
    """Whether an X server answers at ``display`` (``:N``, ``unix:N`` or ``host:N``), as Xlib connects."""
    match = re.match(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$", display)
    if match is None:
        return True  # a form we do not know (e.g. a launchd path on macOS): let Qt try
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in ("\0" + path, path):  # Linux X servers listen on the abstract name too
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                try:
                    sock.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + number), timeout=timeout):
            return True
    except OSError:
        return False
