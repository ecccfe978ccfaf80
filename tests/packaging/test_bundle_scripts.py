"""The bundle's build, install and smoke-test scripts and its PyInstaller spec agree with the package.

None of this builds a bundle (minutes, and a gigabyte): packaging/build.sh and packaging/smoke_test.sh
do that. These check what can drift cheaply: the spec's data files against pyproject's package data,
its excludes against what the app imports, the installer against the icons, and that the smoke test
fails when a bundle is broken.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the project's own fallback on 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "morphapp.spec"
ICONS = REPO / "morphapp" / "gui" / "icons"


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(), filename=str(SPEC))


def _string_list(node: ast.expr) -> list[str]:
    assert isinstance(node, ast.List), ast.dump(node)
    return [ast.literal_eval(element) for element in node.elts]


def _spec_data_includes() -> list[str]:
    for node in ast.walk(_spec_tree()):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "collect_data_files"
            and ast.literal_eval(node.args[0]) == "morphapp"
        ):
            (includes,) = [k.value for k in node.keywords if k.arg == "includes"]
            return _string_list(includes)
    raise AssertionError("the spec does not collect morphapp's data files")


def _spec_excludes() -> set[str]:
    """Every module the spec excludes, conditional ones included (the default build has them all)."""
    names: set[str] = set()
    for node in ast.walk(_spec_tree()):
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["excludes"]:
            names.update(_string_list(node.value))
        if isinstance(node, ast.AugAssign) and getattr(node.target, "id", None) == "excludes":
            names.update(_string_list(node.value))
    return names


def test_the_spec_collects_exactly_the_package_data_of_pyproject() -> None:
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    wanted = {
        "/".join([*package.split(".")[1:], pattern])
        for package, patterns in package_data.items()
        for pattern in patterns
    }
    includes = _spec_data_includes()
    assert set(includes) == wanted  # a new kind of package data must reach the bundle too
    files = [p.relative_to(REPO / "morphapp").as_posix() for p in (REPO / "morphapp").rglob("*")]
    for pattern in includes:
        assert fnmatch.filter(files, pattern), f"{pattern} matches no file"


def test_the_spec_excludes_nothing_the_app_imports_at_start() -> None:
    # The trap this guards: `import torch` itself loads torch.testing._internal modules, and
    # excluding one of those gives a bundle that dies on start.
    script = (
        "import json, sys\n"
        "import morphapp.cli.main, morphapp.gui.app, morphapp.models.onnx_codec, morphapp.faces.runtime\n"
        "import ai_edge_litert.interpreter, onnxruntime, onnx, cv2, av\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    excludes = _spec_excludes()
    assert {"ray", "diffusers", "librosa", "sympy"} <= excludes  # the list was found and parsed
    clashes = sorted(m for m in loaded for e in excludes if m == e or m.startswith(e + "."))
    assert not clashes


def test_build_script_help_and_bad_arguments() -> None:
    done = subprocess.run(["bash", str(PACKAGING / "build.sh"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "--out DIR" in done.stdout and "set -e" not in done.stdout
    bad = subprocess.run(["bash", str(PACKAGING / "build.sh"), "--bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--bogus" in bad.stderr


def _fake_bundle(folder: Path, morphapp_script: str) -> Path:
    """The layout build.sh produces, with a shell script standing in for the executable."""
    folder.mkdir()
    exe = folder / "morphapp"
    exe.write_text("#!/bin/sh\n" + morphapp_script)
    exe.chmod(0o755)
    shutil.copytree(ICONS, folder / "_internal" / "morphapp" / "gui" / "icons")
    shutil.copy(PACKAGING / "linux" / "install-bundle.sh", folder / "install.sh")
    shutil.copy(PACKAGING / "linux" / "morphapp.desktop", folder / "morphapp.desktop")
    return folder


def test_install_script_installs_every_icon_and_an_absolute_desktop_entry_and_uninstalls(
    tmp_path: Path,
) -> None:
    bundle = _fake_bundle(tmp_path / "unpacked", 'echo "morphapp 9.9"\n')
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    done = subprocess.run([str(bundle / "install.sh")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    local = home / ".local"
    link = local / "bin" / "morphapp"
    assert link.is_symlink()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout.strip() == "morphapp 9.9"
    entry = (local / "share" / "applications" / "morphapp.desktop").read_text()
    (exec_line,) = [line for line in entry.splitlines() if line.startswith("Exec=")]
    program, *rest = exec_line.removeprefix("Exec=").split()
    assert program == str(local / "lib" / "morphapp" / "morphapp") and rest == ["gui", "%F"]
    assert os.access(program, os.X_OK)
    # Every other line is the repository's desktop entry, unchanged.
    original = (PACKAGING / "linux" / "morphapp.desktop").read_text().splitlines()
    assert [line for line in entry.splitlines() if not line.startswith("Exec=")] == [
        line for line in original if not line.startswith("Exec=")
    ]
    hicolor = local / "share" / "icons" / "hicolor"
    for png in ICONS.glob("morphapp-*.png"):
        size = png.stem.removeprefix("morphapp-")
        assert (hicolor / f"{size}x{size}" / "apps" / "morphapp.png").read_bytes() == png.read_bytes()
    assert (hicolor / "scalable" / "apps" / "morphapp.svg").is_file()

    installed = local / "lib" / "morphapp" / "install.sh"
    done = subprocess.run([str(installed), "--uninstall"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert not link.exists() and not link.is_symlink()
    assert not (local / "lib" / "morphapp").exists()
    assert not list(hicolor.rglob("morphapp.*"))
    assert not (local / "share" / "applications" / "morphapp.desktop").exists()


@pytest.mark.skipif(shutil.which("bc") is None, reason="smoke_test.sh times with bc")
def test_smoke_test_fails_on_a_bundle_whose_render_writes_nothing(tmp_path: Path) -> None:
    # Exits 0 for everything and writes nothing: --version and --help pass, the render check must not.
    bundle = _fake_bundle(tmp_path / "broken", 'echo "morphapp 9.9 render gui"\n')
    image = REPO / "morphapp" / "gui" / "icons" / "morphapp-64.png"
    done = subprocess.run(
        ["bash", str(PACKAGING / "smoke_test.sh"), str(bundle), str(image), str(image)],
        capture_output=True, text=True, env={**os.environ, "SMOKE_OUT": str(tmp_path / "out")},
    )  # fmt: skip
    assert done.returncode != 0
    assert "render wrote no MP4" in done.stderr


def test_the_windows_and_macos_icons_hold_the_sizes_their_platforms_ask_for() -> None:
    from PIL import Image

    with Image.open(PACKAGING / "windows" / "morphapp.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(PACKAGING / "macos" / "morphapp.icns") as icns:
        # Finder and Dock: 16-512 pt, each also at 2x (Retina); 512 @2x is the 1024 px image
        assert {(16, 16, 2), (128, 128, 1), (256, 256, 2), (512, 512, 2)} <= set(icns.info["sizes"])
    spec = SPEC.read_text()
    for part in ('"packaging" / "windows" / "morphapp.ico"', '"packaging" / "macos" / "morphapp.icns"'):
        assert part in spec
