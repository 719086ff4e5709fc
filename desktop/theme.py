"""Light and dark: Fusion follows the OS colour scheme by default; Settings can force either."""
from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger("runbell.theme")

THEMES = ("system", "light", "dark")
SETTINGS_THEME = "ui/theme"


def saved_theme() -> str:
    value = str(QSettings().value(SETTINGS_THEME, "system"))
    return value if value in THEMES else "system"


def save_theme(theme: str) -> None:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}")
    QSettings().setValue(SETTINGS_THEME, theme)


def dark_palette() -> QPalette:
    """A calm dark palette for Fusion (also used when the OS is dark but Qt cannot tell Fusion)."""
    p = QPalette()
    base, window, text, mid = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229), QColor(60, 63, 68)
    accent = QColor(64, 140, 230)
    for role, color in (
        (QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, QColor(37, 38, 41)),
        (QPalette.ColorRole.ToolTipBase, mid), (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 143, 150)), (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, mid), (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.BrightText, QColor(255, 110, 110)), (QPalette.ColorRole.Light, QColor(75, 78, 84)),
        (QPalette.ColorRole.Midlight, QColor(66, 69, 74)), (QPalette.ColorRole.Mid, QColor(50, 52, 56)),
        (QPalette.ColorRole.Dark, QColor(24, 25, 27)), (QPalette.ColorRole.Shadow, QColor(10, 10, 10)),
        (QPalette.ColorRole.Highlight, accent), (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.Link, QColor(110, 170, 245)), (QPalette.ColorRole.LinkVisited, QColor(170, 140, 240)),
    ):
        p.setColor(role, color)
    disabled = QColor(120, 123, 130)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply_theme(app: QApplication, theme: str | None = None) -> str:
    """Apply `theme` ("system", "light", "dark"; default: the saved one) live; returns it."""
    theme = theme or saved_theme()
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(theme, Qt.ColorScheme.Unknown)
    hints.setColorScheme(scheme)  # native title bars and the platform theme follow where they can
    if theme == "system":
        theme_is_dark = hints.colorScheme() == Qt.ColorScheme.Dark
    else:
        theme_is_dark = theme == "dark"
    app.setPalette(dark_palette() if theme_is_dark else app.style().standardPalette())
    log.info("theme %s (%s)", theme, "dark" if theme_is_dark else "light")
    return theme


def resources_is_dark() -> bool:
    """Whether icons now pick their dark variants (resources/icons/dark/)."""
    from desktop import resources

    return resources.is_dark_theme()


def install_theme(app: QApplication) -> str:
    """Apply the saved theme and, while it is "system", follow the OS switching light/dark live."""
    def on_os_change(_scheme: Qt.ColorScheme) -> None:
        if saved_theme() == "system":
            apply_theme(app, "system")

    if not app.property("runbell-theme-follows-os"):
        app.setProperty("runbell-theme-follows-os", True)
        app.styleHints().colorSchemeChanged.connect(on_os_change)
    return apply_theme(app)
