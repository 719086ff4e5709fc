"""Wizard step 3: name (unique in the team, ≤ 255), description, enabled and cooldown.

Object names: "wizard-details-page", "wizard-name", "wizard-description", "wizard-enabled",
"wizard-cooldown", "wizard-details-error".
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QFormLayout, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget, QWizardPage

from desktop.wizard.fields import line_edit, message_label, show_problem
from store import automations

MAX_COOLDOWN_MINUTES = 30 * 24 * 60


class DetailsPage(QWizardPage):
    def __init__(self, suggest_name: Callable[[], str], can_edit: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wizard-details-page")
        self.setTitle("Details")
        self.setSubTitle("Name the automation and choose how often it may fire per run.")
        self._suggest = suggest_name
        self._can_edit = can_edit
        self._taken: set[str] = set()
        self._save_error = ""
        self.name = line_edit("wizard-name", placeholder="e.g. val/acc above 0.9")
        self.name.setMaxLength(automations.MAX_NAME)
        self.description = QPlainTextEdit()
        self.description.setObjectName("wizard-description")
        self.description.setFixedHeight(70)
        self.enabled = QCheckBox("Enabled")
        self.enabled.setObjectName("wizard-enabled")
        self.enabled.setChecked(True)
        self.cooldown = QSpinBox()
        self.cooldown.setObjectName("wizard-cooldown")
        self.cooldown.setRange(0, MAX_COOLDOWN_MINUTES)
        self.cooldown.setSuffix(" min")
        self.cooldown.setValue(automations.DEFAULT_COOLDOWN_SECONDS // 60)
        self.cooldown.setToolTip("After firing for a run, stay quiet for that run this long (24 h = 1440 min)")
        self.error = message_label("wizard-details-error")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("", self.enabled)
        form.addRow("Cooldown per run", self.cooldown)
        self._form = form
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.name.textChanged.connect(self._revalidate)

    def set_taken(self, names: set[str]) -> None:
        self._taken = set(names)
        self._revalidate()

    def initializePage(self) -> None:  # noqa: N802 (Qt override)
        # artifact events fire once per mutation: a per-run cooldown means nothing there
        event_page = getattr(self.wizard(), "event_page", None)
        run_event = event_page is None or str(event_page.current_type() or "").startswith("RUN_")
        self._form.setRowVisible(self.cooldown, run_event)
        if not self.name.text().strip():
            self.name.setText(self._suggest()[: automations.MAX_NAME])
        self._revalidate()

    def show_save_error(self, text: str) -> None:
        self._save_error = text
        show_problem(self.error, text)

    def problem(self) -> str | None:
        if not self._can_edit:
            return "Viewers cannot create or edit automations; ask an admin for the member role."
        name = self.name.text().strip()
        if not name:
            return "enter a name for the automation"
        if len(name) > automations.MAX_NAME:
            return f"a name has at most {automations.MAX_NAME} characters"
        if name in self._taken:
            return f"an automation named “{name}” already exists; choose another name"
        return None

    def _revalidate(self) -> None:
        self._save_error = ""
        show_problem(self.error, self.problem())
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return self.problem() is None
