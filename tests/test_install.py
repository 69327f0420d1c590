"""The wheel installs into a clean venv and the installed command runs the demo tray headless.

The wheel is built from a copy of the checkout (so the build leaves nothing in the repository)
with ``pip wheel --no-deps``, which needs nothing beyond pip. The new venv gets the wheel with
``--no-deps``; PySide6, requests and keyring come from this interpreter's site-packages through
a ``.pth`` line, so the test needs no download. A ``.pth`` line only adds a folder to
``sys.path``: the ``.pth`` files inside that folder (this checkout's editable-install finder)
are not processed, because it is not a site directory. The test checks that ``tray_app``
really resolves inside the new venv, from a working directory outside the checkout and with no
PYTHONPATH.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from desktop_services import make_user_folders
from processes import running_demo

import tray_app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# What a developer's shell may carry that would point the child at other code or a desktop.
_DROPPED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "VIRTUAL_ENV",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "PYTHON_KEYRING_BACKEND",
    "QT_QPA_PLATFORMTHEME",
    "XDG_CURRENT_DESKTOP",
    "XDG_SESSION_TYPE",
)
_NOT_COPIED = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    "venv",
)


def sandbox_env(root: Path, **extra: str) -> dict[str, str]:
    """This environment minus anything pointing elsewhere; HOME, XDG_* and TMPDIR under root."""
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    env.update(make_user_folders(root))
    (root / "tmp").mkdir(exist_ok=True)
    env["TMPDIR"] = str(root / "tmp")
    env.update(QT_QPA_PLATFORM="offscreen", QT_LOGGING_RULES="qt.qpa.*=false")
    env.update(extra)
    return env


def run_installed(
    venv: Path, sandbox: Path, program: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """A program of the fresh venv, run from a sandbox so the checkout cannot leak in."""
    return subprocess.run(
        [str(venv / "bin" / program), *args],
        env=sandbox_env(sandbox),
        cwd=sandbox,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def dependency_dir() -> Path:
    """The site-packages folder this interpreter loads PySide6 (and its neighbours) from."""
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with only the freshly built wheel installed in it; yields the venv."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_COPIED)
    wheels = root / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("clickatell_session_tray-*.whl")

    venv = root / "venv"
    subprocess.run(
        [sys._base_executable, "-m", "venv", "--without-pip", str(venv)],  # type: ignore[attr-defined]
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    install = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site_packages / "zz-test-dependencies.pth").write_text(f"{dependency_dir()}\n")
    yield venv


def test_wheel_holds_the_package_and_its_resources(installed: Path) -> None:
    (wheel,) = installed.parent.joinpath("wheels").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "tray_app/__init__.py",
        "tray_app/cli/main.py",
        "tray_app/core/protocol.py",
        "tray_app/ui/tray.py",
        "tray_app/app.py",
        "tray_app/resources/__init__.py",
        "tray_app/resources/app-icon.svg",
        "tray_app/resources/io.github.clickatell_session_tray.desktop",
        "tray_app/resources/icons/app-icon-64.png",
    ):
        assert name in names
    assert not any(name.startswith(("tests/", "resources/", "packaging/")) for name in names)


def test_package_resolves_inside_the_new_venv(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import tray_app, PySide6, sys\n"
        "from tray_app.resources import app_icon_path\n"
        "icon = app_icon_path(64)\n"
        "print(tray_app.__file__)\n"
        "print(icon)\n"
        "print(icon.is_file())\n"
        "print(PySide6.__file__)\n"
        "print(any(p.rstrip('/') == sys.argv[1] for p in sys.path))\n"
    )
    result = run_installed(installed, tmp_path, "python", "-c", probe, str(ROOT))
    assert result.returncode == 0, result.stderr
    package, icon, icon_exists, pyside, checkout_on_path = result.stdout.splitlines()
    venv = str(installed.resolve())
    assert Path(package).resolve().is_relative_to(venv), package
    assert Path(icon).resolve().is_relative_to(venv), icon
    assert Path(icon).name == "app-icon-64.png"
    assert icon_exists == "True"
    assert Path(pyside).resolve().is_relative_to(dependency_dir())
    assert checkout_on_path == "False"


def test_installed_command_prints_the_version(installed: Path, tmp_path: Path) -> None:
    result = run_installed(installed, tmp_path, "clickatell-tray", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"clickatell-tray {tray_app.__version__}"


def test_gui_script_is_installed_too(installed: Path) -> None:
    script = installed / "bin" / "clickatell-tray-gui"
    assert script.is_file()
    assert os.access(script, os.X_OK)


def test_installed_demo_shows_the_tray_and_quits_on_sigterm(
    installed: Path, tmp_path: Path
) -> None:
    env = sandbox_env(tmp_path)
    with running_demo([str(installed / "bin" / "clickatell-tray")], env, tmp_path) as demo:
        assert demo.base_url.startswith("http://127.0.0.1:")
