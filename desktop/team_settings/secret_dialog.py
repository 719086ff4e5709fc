"""Add a secret or replace its value. Values are write-only: never loaded back into the UI."""
from __future__ import annotations

import re
from collections.abc import Callable, Collection

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QWidget

from desktop.context import AppContext
from desktop.tasks import TaskRunner
from desktop.team_settings.save_dialog import SaveDialog
from store import entities as e
from store import secrets

NAME = re.compile(r"^[A-Za-z0-9_]+$")
MAX_NAME = 128


class SecretDialog(SaveDialog):
    """New secret (`replace=None`) or a new value for the secret named `replace`.

    Object names: "secret-dialog", fields "secret-name", "secret-value", "secret-reveal",
    message "secret-error", button "secret-save".

    Signals:
        saved(store.entities.SecretName)
    """

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, existing: Collection[str] = (),
        replace: str | None = None, parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx, tasks, prefix="secret", min_width=440, parent=parent,
            title=f"Replace the value of {replace}" if replace else "New secret",
        )
        self._existing = set(existing)
        self._replace = replace

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
        note = QLabel(
            "The value is stored in the OS keyring only. Once saved it can be replaced but "
            "never shown again." + (" The old value stops working at once." if replace else "")
        )

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Value", self.value)
        form.addRow("", self.reveal)
        self._lay_out(note, form, (self.name, self.value))
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

    def _typed_problem(self) -> str:
        name_problem = self._name_problem()
        return name_problem if name_problem and self.name.text() else ""

    def _on_reveal(self, shown: bool) -> None:
        self.value.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def _store_call(self) -> Callable[[], e.SecretName]:
        db, team_id = self._ctx.db, self._ctx.team.id
        name, value = self.name.text(), self.value.text()
        return lambda: secrets.set_secret(db, team_id, name, value)

    def _forget_input(self) -> None:
        self.value.clear()
