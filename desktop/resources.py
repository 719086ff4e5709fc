"""Finds files under `resources/` from a source checkout and from a frozen build, and loads icons.

Icons are SVG: `resources/icons/<name>.svg` is drawn for light themes; a
`resources/icons/dark/<name>.svg` variant, when present, is used on dark themes.
"""
from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QGuiApplication, QIcon, QPalette


@cache
def resources_dir() -> Path:
    """The `resources/` folder: RUNBELL_RESOURCES, the PyInstaller bundle, or the source tree."""
    override = os.environ.get("RUNBELL_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    source = Path(__file__).resolve().parents[1] / "resources"
    if source.is_dir():
        return source
    # a non-editable install puts them under <prefix>/share/runbell (pyproject data-files)
    return Path(sys.prefix) / "share" / "runbell" / "resources"


def resource_path(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"missing resource {path}")
    return path


def is_dark_theme() -> bool:
    """True when the window background is darker than its text (the OS or Fusion dark scheme)."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    palette = QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < palette.color(QPalette.ColorRole.WindowText).lightness()


def icon(name: str) -> QIcon:
    """The SVG icon `name` in the variant matching the current theme."""
    if is_dark_theme():
        dark = resources_dir() / "icons" / "dark" / f"{name}.svg"
        if dark.exists():
            return QIcon(str(dark))
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def app_icon() -> QIcon:
    return QIcon(str(resource_path("icons", "runbell.svg")))
