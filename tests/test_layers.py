"""The layers show in the folders, and the arrows between them point one way.

ui -> qt -> services -> core, the simulator beside them on core alone, and the command line
and the composition root (``app.py``) on top. ``core`` holds the rules and the vocabulary, so
it imports the standard library only: no Qt, no requests, no keyring. Every import counts,
the ones inside functions and under ``TYPE_CHECKING`` too.

One relaxation, written here so it is a decision and not an accident: the UI may use the
services below the Qt layer (the settings dialog edits ``Settings``, the sign-in dialog
fills ``Credentials``); arrows still only point down.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tray_app"
MAX_LINES = 400
"""One module, one job: a module past this is split along a seam of its own, not grown."""

# What each layer may import from the project, besides itself and the package root's constants.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "services": frozenset({"core", "resources"}),
    "qt": frozenset({"core", "services", "resources"}),
    "ui": frozenset({"core", "services", "qt", "resources"}),
    "sim": frozenset({"core"}),
    "resources": frozenset(),
    "cli": frozenset({"core", "services", "qt", "ui", "sim", "app", "resources"}),
    "app": frozenset({"core", "services", "qt", "ui", "sim", "cli", "resources"}),
}
THIRD_PARTY_BANNED: dict[str, frozenset[str]] = {
    "services": frozenset({"PySide6.QtWidgets", "PySide6.QtGui"}),
    "qt": frozenset({"PySide6.QtWidgets"}),
    "sim": frozenset({"PySide6", "requests", "keyring"}),
}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tray_app":
        return None
    if len(parts) == 1:
        return "root"
    return parts[1]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_submodule(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name / "__init__.py").exists()


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}: relative import; write the full module name")
            base = node.module or ""
            found.append(base)
            if base == "tray_app":
                found.extend(
                    f"tray_app.{alias.name}" for alias in node.names if is_submodule(alias.name)
                )
    return found


def project_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def violations(path: Path, here: str | None) -> list[str]:
    """What in ``path`` breaks the rules of the layer ``here``."""
    if here in (None, "root", "__main__"):
        return []
    if here not in ALLOWED:
        return [f"{here!r} is not a known layer; add it to ALLOWED"]
    found = []
    for imported in imports_of(path):
        target = layer_of(imported)
        if target is None:
            top = imported.split(".")[0]
            if here == "core" and top not in sys.stdlib_module_names and top != "__future__":
                found.append(f"core imports {imported!r}; core is the standard library only")
            found.extend(
                f"the {here} layer imports {imported!r}"
                for banned in THIRD_PARTY_BANNED.get(here, ())
                if imported == banned or imported.startswith(banned + ".")
            )
        elif target not in ("root", here) and target not in ALLOWED[here]:
            found.append(f"the {here} layer imports {imported!r}")
    return found


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_follow_the_layer_rules(path: Path) -> None:
    assert violations(path, layer_of(module_name(path))) == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself can fail: Qt and an upward import inside a core function are caught."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def f():\n    from PySide6.QtCore import QTimer\n    import tray_app.qt.keeper\n"
    )
    assert violations(bad, "core") == [
        "core imports 'PySide6.QtCore'; core is the standard library only",
        "the core layer imports 'tray_app.qt.keeper'",
    ]
    assert violations(bad, "ui") == []


def test_no_module_is_left_flat_in_the_package() -> None:
    flat = {p.name for p in PACKAGE.glob("*.py")}
    assert flat <= {"__init__.py", "__main__.py", "app.py"}, sorted(flat)


def too_long(paths: list[Path], root: Path) -> list[str]:
    """The modules over ``MAX_LINES`` lines, each named (relative to ``root``) with its length."""
    lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in paths}
    return [f"{path.relative_to(root)}: {n} lines" for path, n in lengths.items() if n > MAX_LINES]


def test_no_module_is_over_the_size_limit() -> None:
    long = too_long(project_modules(), PACKAGE)
    assert not long, f"over {MAX_LINES} lines; split along a seam rather than grow: {long}"


def test_the_size_limit_names_the_module_over_it(tmp_path: Path) -> None:
    (tmp_path / "at_limit.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "over.py").write_text("x = 1\n" * (MAX_LINES + 1))
    paths = sorted(tmp_path.glob("*.py"))
    assert too_long(paths, tmp_path) == [f"over.py: {MAX_LINES + 1} lines"]
