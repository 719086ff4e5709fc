"""The system-tray icon: Open / Quit, and the engine's status in the tooltip."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop import resources

def engine_status(engine: Any) -> str:
    """A short line about the in-process engine: running or stopped, and its last error."""
    if engine is None:
        return "engine not running"
    running = getattr(engine, "running", None)
    if running is None:
        running = getattr(engine, "is_running", True)
    if callable(running):
        running = running()
    text = "engine running" if running else "engine stopped"
    last_error = getattr(engine, "last_error", None)
    if last_error:
        text += f" (last error: {str(last_error)[:120]})"
    return text


def tray_available() -> bool:
    return QSystemTrayIcon.isSystemTrayAvailable()


class Tray(QObject):
    """Owns the QSystemTrayIcon; `open_requested` and `quit_requested` are plain callables.

    The main window refreshes the tooltip with the engine status on its own timer.
    """

    def __init__(
        self, engine: Any, open_requested: Callable[[], None], quit_requested: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._engine = engine
        self._open = open_requested
        self.icon = QSystemTrayIcon(resources.app_icon(), self)
        self.icon.setObjectName("tray")
        self.menu = QMenu()
        self.open_action = QAction("Open Runbell", self.menu)
        self.open_action.triggered.connect(open_requested)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(quit_requested)
        self.menu.addAction(self.open_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.update_tooltip()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def update_tooltip(self, status: str | None = None) -> None:
        self.icon.setToolTip(f"Runbell — {status or engine_status(self._engine)}")

    def notify_hidden_once(self) -> None:
        self.icon.showMessage("Runbell keeps watching", "Runbell runs in the tray; alerts still arrive.",
                              resources.app_icon(), 4000)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self._open()
