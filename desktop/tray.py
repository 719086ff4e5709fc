"""The system-tray icon: engine status and last alert, pausing desktop notifications, Open / Quit."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop import resources
from desktop.engine import quiet


def pause_status(until: datetime | None) -> str:
    """E.g. "desktop notifications paused until 14:05" (local time), or "" when not paused."""
    if until is None:
        return ""
    local = until.astimezone()
    today = datetime.now().astimezone().date()
    when = local.strftime("%H:%M") if local.date() == today else local.strftime("%a %H:%M")
    return f"desktop notifications paused until {when}"


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

    The menu shows the engine status and the last alert (the main window refreshes them on its
    own timer through `update_status`) and pauses desktop notifications (desktop.engine.quiet,
    which the engine reads: Slack and webhooks are never paused).
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
        self.status_action = self._add("tray-status", "", enabled=False)
        self.last_alert_action = self._add("tray-last-alert", "No alerts yet", enabled=False)
        self.menu.addSeparator()
        self.pause_hour_action = self._add("tray-pause-hour", "Pause desktop notifications for 1 hour",
                                           lambda: self.pause(quiet.for_one_hour()))
        self.pause_tomorrow_action = self._add("tray-pause-tomorrow", "Pause desktop notifications until tomorrow",
                                               lambda: self.pause(quiet.until_tomorrow()))
        self.resume_action = self._add("tray-resume", "Resume desktop notifications", self.resume)
        self.menu.addSeparator()
        self.open_action = self._add("tray-open", "Open Runbell", open_requested)
        self.quit_action = self._add("tray-quit", "Quit", quit_requested)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.update_status()

    def _add(self, name: str, text: str, slot: Callable[[], None] | None = None, *, enabled: bool = True) -> QAction:
        action = QAction(text, self.menu)
        action.setObjectName(name)
        action.setEnabled(enabled)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        self.menu.addAction(action)
        return action

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def pause(self, until: datetime) -> None:
        quiet.pause_desktop_notifications(until)
        self.update_status()

    def resume(self) -> None:
        quiet.resume_desktop_notifications()
        self.update_status()

    def update_status(self, status: str | None = None, last_alert: str | None = None) -> None:
        """Refresh the menu's status lines and the tooltip."""
        status = status or engine_status(self._engine)
        paused = pause_status(quiet.desktop_notifications_paused_until())
        self.status_action.setText(status[:1].upper() + status[1:])
        if last_alert is not None:
            self.last_alert_action.setText(f"Last alert: {last_alert}" if last_alert else "No alerts yet")
        self.resume_action.setVisible(bool(paused))
        self.pause_hour_action.setVisible(not paused)
        self.pause_tomorrow_action.setVisible(not paused)
        lines = [f"Runbell — {status}"]
        if last_alert:
            lines.append(f"Last alert: {last_alert}")
        if paused:
            lines.append(paused[:1].upper() + paused[1:])
        self.icon.setToolTip("\n".join(lines))

    def update_tooltip(self, status: str | None = None) -> None:
        self.update_status(status)

    def notify_hidden_once(self) -> None:
        self.icon.showMessage("Runbell keeps watching", "Runbell runs in the tray; alerts still arrive.",
                              resources.app_icon(), 4000)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self._open()
