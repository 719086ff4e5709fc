"""Small pieces shared by the management pages (Automations, Team Settings).

- `Reloader`: loads data through the TaskRunner, coalescing bursts of refresh requests.
- `confirm`: a non-blocking confirmation box (scriptable from tests: find it by object name).
- `change_then_reload`: a store change in the background, then a reload (or the reason it failed).
- `local_time`: how timestamps are shown.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QWidget
from shiboken6 import isValid

from desktop.tasks import TaskRunner
from store.errors import StoreError

log = logging.getLogger("runbell.ui")

VIEWER_TOOLTIP = "Viewers cannot change this. Ask a team admin for the member role."


def local_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def alive(obj: QObject) -> bool:
    """False once the C++ side of a widget is gone (a late background result is then dropped)."""
    return isValid(obj)


class Reloader(QObject):
    """Runs `fetch` off the UI thread and hands its result to `apply` on it.

    `request()` coalesces: several requests within `delay_ms` start one load, and a request
    arriving while a load runs starts exactly one more afterwards (so the view ends up fresh
    without piling up loads).

    Signals:
        loaded: `apply` has run with fresh data.
    """

    loaded = Signal()

    def __init__(
        self, tasks: TaskRunner, fetch: Callable[[], Any], apply: Callable[[Any], None],
        on_error: Callable[[Exception], None], delay_ms: int = 250, parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._fetch = fetch
        self._apply = apply
        self._on_error = on_error
        self._busy = False
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._start)

    def request(self, immediate: bool = False) -> None:
        if self._busy:
            self._dirty = True
        elif immediate:
            self._timer.stop()
            self._start()
        elif not self._timer.isActive():
            self._timer.start()

    def _start(self) -> None:
        self._busy = True
        self._dirty = False
        self._tasks.run(self._fetch, self._done, self._failed)

    def _done(self, result: Any) -> None:
        if not alive(self):
            return
        self._busy = False
        self._apply(result)
        self.loaded.emit()
        if self._dirty:
            self.request()

    def _failed(self, exc: Exception) -> None:
        if not alive(self):
            return
        self._busy = False
        log.debug("load failed: %s", exc)
        self._on_error(exc)
        if self._dirty:
            self.request()


def confirm(
    parent: QWidget, *, object_name: str, title: str, text: str, confirm_text: str,
    on_confirm: Callable[[], None], details: str = "",
) -> QMessageBox:
    """Open a window-modal question without blocking; `on_confirm` runs if the user agrees.

    The confirming button has the object name "confirm-yes", the other "confirm-no".
    """
    box = QMessageBox(parent)
    box.setObjectName(object_name)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # names in it are user data, never markup
    box.setText(text)
    if details:
        box.setInformativeText(details)
    yes = box.addButton(confirm_text, QMessageBox.ButtonRole.DestructiveRole)
    yes.setObjectName("confirm-yes")
    no = box.addButton(QMessageBox.StandardButton.Cancel)
    no.setObjectName("confirm-no")
    box.setDefaultButton(no)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def clicked(button: QPushButton) -> None:
        if button is yes:
            on_confirm()

    box.buttonClicked.connect(clicked)
    box.open()
    return box


def error_label(object_name: str) -> QLabel:
    """An inline, word-wrapped message line in the theme's error colour (hidden when empty)."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("color: #c62828;")
    keep_room(label)
    label.hide()
    return label


def keep_room(label: QLabel) -> None:
    """A message appearing or going must not move the fields under the user's pointer."""
    policy = label.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    label.setSizePolicy(policy)


def show_message(label: QLabel, text: str) -> None:
    """Show `text` as a sentence (store messages start lower-case) or hide the label if empty."""
    label.setText(text[:1].upper() + text[1:])
    label.setVisible(bool(text))


def user_message(exc: Exception) -> str:
    """The text to show for a background failure: store errors are written for users."""
    if isinstance(exc, StoreError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


def change_then_reload(
    widget: QWidget, tasks: TaskRunner, change: Callable[[], Any], reloader: Reloader,
    message: QLabel, failure: str,
) -> None:
    """Run the store `change` off the UI thread, then reload; if it fails, show "`failure`: why".

    Results arriving after `widget` is gone are dropped.
    """
    def done(_: object) -> None:
        if alive(widget):
            reloader.request(immediate=True)

    def failed(exc: Exception) -> None:
        if alive(widget):
            show_message(message, f"{failure}: {user_message(exc)}")

    tasks.run(change, done, failed)
