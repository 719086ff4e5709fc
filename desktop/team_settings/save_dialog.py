"""Scaffolding of the Team Settings form dialogs: an error line, Save/Cancel, save in the background."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.page_helpers import alive, error_label, show_message, user_message
from desktop.tasks import TaskRunner


class SaveDialog(QDialog):
    """A form whose Save runs one store call through the TaskRunner, then closes the dialog.

    Object names "<prefix>-dialog", message "<prefix>-error", button "<prefix>-save".
    A subclass builds its fields, calls `_lay_out`, and implements `problem` (None when the
    form can be saved), `_typed_problem` (the message to show while typing) and `_store_call`
    (the work to run off the UI thread; its result is emitted by `saved`).

    Signals:
        saved(object): the store call's result (the dialog then closes).
    """

    saved = Signal(object)

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, *, prefix: str, title: str, min_width: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"{prefix}-dialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(min_width)
        self._ctx = ctx
        self._tasks = tasks
        self._saving = False
        self.error = error_label(f"{prefix}-error")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName(f"{prefix}-save")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

    def _lay_out(self, intro: QLabel, form: QFormLayout, fields: Iterable[QLineEdit]) -> None:
        """Intro text, the form, the error line, the buttons; `fields` re-validate as they change."""
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for field in fields:
            field.textChanged.connect(self._validate)
        self._validate()

    def problem(self) -> str | None:
        """What keeps the form from being saved (None when it can be saved)."""
        raise NotImplementedError

    def _typed_problem(self) -> str:
        """The problem worth showing now ("" while the user has not started on the field at fault)."""
        raise NotImplementedError

    def _store_call(self) -> Callable[[], Any]:
        """The save, bound to the form's current values, to run off the UI thread."""
        raise NotImplementedError

    def _forget_input(self) -> None:
        """Called once saved, before closing: drop what should not linger in widgets."""

    def _validate(self) -> None:
        show_message(self.error, self._typed_problem())
        self.save_button.setEnabled(self.problem() is None and not self._saving)

    def save(self) -> None:
        if self.problem() is not None or self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        show_message(self.error, "")
        self._tasks.run(self._store_call(), self._on_saved, self._on_failed)

    def _on_saved(self, result: Any) -> None:
        if not alive(self):
            return
        self._saving = False
        self._forget_input()
        self.saved.emit(result)
        self.accept()

    def _on_failed(self, exc: Exception) -> None:
        if not alive(self):
            return
        self._saving = False
        show_message(self.error, f"Not saved: {user_message(exc)}")
        self.save_button.setEnabled(self.problem() is None)
