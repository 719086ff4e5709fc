"""Creating, renaming and deleting custom registries from the Registries tab.

`RegistryNameDialog` checks the name as it is typed, with the store's rule (1–128 letters,
digits, '_', '.' or '-', unique in the team ignoring case); the store checks again on save.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from store import artifact_entities as ae
from store.artifact_events import check_name
from store.errors import ValidationError


def name_problem(name: str, taken: Sequence[str], current: str = "") -> str:
    """Why `name` cannot name a registry ("" when it can). `taken`: the team's registry names."""
    name = name.strip()
    if not name:
        return "Enter a name, e.g. Evaluation-sets"
    try:
        check_name("registry", name)
    except ValidationError as exc:
        return str(exc)[:1].upper() + str(exc)[1:]
    if name.lower() != current.lower() and name.lower() in {t.lower() for t in taken}:
        return f"The team already has a registry named {name!r} (names ignore case)"
    return ""


class RegistryNameDialog(QDialog):
    """Asks for a registry's name (and, when creating, a description)."""

    def __init__(self, title: str, taken: Sequence[str], *, current: str = "", with_description: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registry-name-dialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self._taken, self._current = list(taken), current
        self.name = QLineEdit(current, self)
        self.name.setObjectName("registry-name")
        self.description = QLineEdit(self)
        self.description.setObjectName("registry-description")
        self.problem = QLabel(self)
        self.problem.setObjectName("registry-name-problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Name:", self.name)
        if with_description:
            form.addRow("&Description:", self.description)
        else:
            self.description.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._check)
        self._check(current)

    def _check(self, text: str) -> None:
        problem = name_problem(text, self._taken, self._current)
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def accept(self) -> None:
        if not name_problem(self.name.text(), self._taken, self._current):
            super().accept()


class RegistryButtons(QWidget):
    """New… / Rename… / Delete… under the registries list; the page supplies what they do."""

    def __init__(self, on_new: Callable[[], object], on_rename: Callable[[], object],
                 on_delete: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.new = QPushButton("New…", self)
        self.new.setObjectName("registry-new")
        self.rename = QPushButton("Rename…", self)
        self.rename.setObjectName("registry-rename")
        self.delete = QPushButton("Delete…", self)
        self.delete.setObjectName("registry-delete")
        for button, slot in ((self.new, on_new), (self.rename, on_rename), (self.delete, on_delete)):
            button.clicked.connect(lambda _checked=False, s=slot: s())
            row.addWidget(button)

    def update_for(self, registry: ae.Registry | None, role: str, can_create: bool) -> None:
        self.new.setEnabled(can_create)
        self.new.setToolTip("Create a registry for your team" if can_create else
                            "Team viewers cannot create registries")
        custom_admin = registry is not None and not registry.is_default and role == "admin"
        for button in (self.rename, self.delete):
            button.setEnabled(custom_admin)
            button.setToolTip(
                "" if custom_admin else
                "Model and Dataset are built in" if registry is not None and registry.is_default else
                "Only the registry's admins can change it")
