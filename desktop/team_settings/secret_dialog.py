"""Add a secret or replace its value. Values are write-only: never loaded back into the UI."""
from __future__ import annotations

import re
from collections.abc import Collection

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.page_helpers import alive, error_label, show_message, user_message
from desktop.tasks import TaskRunner
from store import entities as e
from store import secrets

NAME = re.compile(r"^[A-Za-z0-9_]+$")
MAX_NAME = 128


class SecretDialog(QDialog):
    """New secret (`replace=None`) or a new value for the secret named `replace`.

    Object names: "secret-dialog", fields "secret-name", "secret-value", "secret-reveal",
    message "secret-error", button "secret-save".

    Signals:
        saved(store.entities.SecretName)
    """

    saved = Signal(object)

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, existing: Collection[str] = (),
        replace: str | None = None, parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("secret-dialog")
        self.setWindowTitle(f"Replace the value of {replace}" if replace else "New secret")
        self.setMinimumWidth(440)
        self._ctx = ctx
        self._tasks = tasks
        self._existing = set(existing)
        self._replace = replace
        self._saving = False

        self.name = QLineEdit(replace or "")
        self.name.setObjectName("secret-name")
        self.name.setPlaceholderText("e.g. GITHUB_TOKEN")
        self.name.setReadOnly(replace is not None)
        self.value = QLineEdit()
        self.value.setObjectName("secret-value")
        self.value.setEchoMode(QLineEdit.EchoMode.Password)
        self.value.setPlaceholderText("the new value" if replace else "the secret value")
        self.reveal = QCheckBox("Show what I type")
        self.reveal.setObjectName("secret-reveal")
        self.reveal.toggled.connect(self._on_reveal)
        self.error = error_label("secret-error")
        note = QLabel(
            "The value is stored in the OS keyring only. Once saved it can be replaced but "
            "never shown again." + (" The old value stops working at once." if replace else "")
        )
        note.setWordWrap(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("secret-save")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Value", self.value)
        form.addRow("", self.reveal)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._validate)
        self.value.textChanged.connect(self._validate)
        self._validate()
        (self.value if replace else self.name).setFocus()

    def _name_problem(self) -> str | None:
        name = self.name.text()
        if not name:
            return "Name the secret."
        if not NAME.match(name):
            return "A secret name may only contain letters, digits and underscores (A–Z, a–z, 0–9, _)."
        if len(name) > MAX_NAME:
            return f"A secret name has at most {MAX_NAME} characters."
        if self._replace is None and name in self._existing:
            return f"A secret named {name} already exists; select it and use Replace value."
        return None

    def problem(self) -> str | None:
        return self._name_problem() or (None if self.value.text() else "Enter the value.")

    def _validate(self) -> None:
        name_problem = self._name_problem()
        show_message(self.error, name_problem if name_problem and self.name.text() else "")
        self.save_button.setEnabled(self.problem() is None and not self._saving)

    def _on_reveal(self, shown: bool) -> None:
        self.value.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def save(self) -> None:
        if self.problem() is not None or self._saving:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        show_message(self.error, "")
        db, team_id = self._ctx.db, self._ctx.team.id
        name, value = self.name.text(), self.value.text()
        self._tasks.run(lambda: secrets.set_secret(db, team_id, name, value), self._on_saved, self._on_failed)

    def _on_saved(self, saved: e.SecretName) -> None:
        if not alive(self):
            return
        self._saving = False
        self.value.clear()
        self.saved.emit(saved)
        self.accept()

    def _on_failed(self, exc: Exception) -> None:
        if not alive(self):
            return
        self._saving = False
        show_message(self.error, f"Not saved: {user_message(exc)}")
        self.save_button.setEnabled(self.problem() is None)
