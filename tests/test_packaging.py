"""Packaging files pass the freedesktop validators and the bundled resources are reachable."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QImageReader
from PySide6.QtSvg import QSvgRenderer

import tray_app
from tray_app import APP_ID, resources

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DESKTOP_FILE = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICON_DIR = ROOT / "resources" / "icons"


def require_tool(name: str, package: str) -> str:
    """Skip when a validator is missing, unless CI demands the desktop tools."""
    tool = shutil.which(name)
    if tool is None:
        message = f"{name} is missing (apt install {package})"
        if os.environ.get("CLICKATELL_TRAY_REQUIRE_DESKTOP") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return tool


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def load_render_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_icons", PACKAGING / "render_icons.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_desktop_entry_validates() -> None:
    result = run(require_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP_FILE))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "error:" not in output


def test_metainfo_validates() -> None:
    tool = require_tool("appstreamcli", "appstream")
    result = run(tool, "validate", "--no-net", str(METAINFO))
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_entry_matches_the_app() -> None:
    text = DESKTOP_FILE.read_text(encoding="utf-8")
    values = dict(re.findall(r"^([A-Za-z-]+)=(.*)$", text, flags=re.MULTILINE))
    gui_scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["gui-scripts"]
    assert values["Exec"] in gui_scripts
    assert values["Icon"] == APP_ID
    assert values["Name"] == tray_app.APP_NAME


def test_bundled_desktop_entry_is_the_packaging_one() -> None:
    # Start at login copies the bundled one; a menu entry that differs would be a surprise.
    assert resources.read_bytes(resources.DESKTOP_ENTRY) == DESKTOP_FILE.read_bytes()


def test_metainfo_names_the_app_and_its_current_release() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP_FILE.name
    assert root.findtext("project_license") == "MIT"
    newest = root.find("releases/release")
    assert newest is not None
    assert newest.get("version") == tray_app.__version__


@pytest.mark.parametrize("size", resources.ICON_SIZES)
def test_png_icon_has_the_size_in_its_name(size: int) -> None:
    image = QImage(str(ICON_DIR / f"app-icon-{size}.png"))
    assert not image.isNull()
    assert (image.width(), image.height()) == (size, size)
    assert image.hasAlphaChannel()


def test_icon_folder_holds_exactly_the_listed_sizes() -> None:
    found = {}
    for path in ICON_DIR.iterdir():
        match = re.fullmatch(r"app-icon-(\d+)\.png", path.name)
        assert match, f"unexpected file {path.name}"
        found[int(match.group(1))] = QImage(str(path)).size().toTuple()
    assert found == {size: (size, size) for size in resources.ICON_SIZES}
    assert tuple(load_render_icons().SIZES) == resources.ICON_SIZES


def test_svg_parses_and_qt_can_render_it() -> None:
    svg = ROOT / "resources" / "app-icon.svg"
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 256 256"
    assert QSvgRenderer(str(svg)).isValid()


def test_resources_are_reachable_through_importlib_resources() -> None:
    package = files("tray_app.resources")
    assert (package / "app-icon.svg").is_file()
    assert (package / resources.DESKTOP_ENTRY).is_file()
    for size in resources.ICON_SIZES:
        assert (package / "icons" / f"app-icon-{size}.png").is_file()
    assert resources.read_bytes("icons/app-icon-32.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert resources.read_bytes("app-icon.svg").lstrip().startswith(b"<?xml")


@pytest.mark.parametrize(
    ("requested", "name"),
    [
        (None, "app-icon.svg"),
        (16, "app-icon-16.png"),
        (20, "app-icon-22.png"),
        (999, "app-icon-256.png"),
    ],
)
def test_app_icon_path_rounds_up_to_a_shipped_size(requested: int | None, name: str) -> None:
    icon = resources.app_icon_path(requested)
    assert icon.name == name
    assert icon.is_file()


def read_all(data: bytes, fmt: bytes) -> list[tuple[int, int]]:
    """Decode every image in a container with Qt's own reader, an independent check."""
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(fmt))
    sizes = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        sizes.append(image.size().toTuple())
    return sizes


def test_ico_built_for_windows_holds_every_size() -> None:
    render = load_render_icons()
    ico = render.pack_ico(render.read_pngs(render.ICO_SIZES))
    assert sorted(read_all(ico, b"ico")) == [(s, s) for s in render.ICO_SIZES]


def test_icns_built_for_macos_is_well_formed() -> None:
    render = load_render_icons()
    pngs = render.read_pngs(tuple(render.ICNS_TYPES))
    icns = render.pack_icns(pngs)
    assert icns[:4] == b"icns"
    assert int.from_bytes(icns[4:8], "big") == len(icns)
    offset, seen = 8, []
    while offset < len(icns):
        kind, length = icns[offset : offset + 4], int.from_bytes(icns[offset + 4 : offset + 8])
        assert icns[offset + 8 : offset + 16] == b"\x89PNG\r\n\x1a\n"
        seen.append(kind)
        offset += length
    assert offset == len(icns)
    assert seen == [render.ICNS_TYPES[size] for size in sorted(pngs)]


@pytest.mark.parametrize(
    "name", ["clickatell-tray.spec", "pyinstaller_entry.py", "pyinstaller_entry_console.py"]
)
def test_pyinstaller_files_are_valid_python(name: str) -> None:
    path = PACKAGING / name
    compile(path.read_text(encoding="utf-8"), str(path), "exec")
