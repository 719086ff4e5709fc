"""The bell's quick dialog: a run-metric threshold alert to the desktop and/or Slack (Basic mode).

Every field validates as the user types; Save stays disabled until the alert is complete, and
nothing is written unless the whole automation is stored in one call.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLayout, QLineEdit,
    QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget,
)

from desktop.alert_spec import AGGREGATIONS, OPERATORS, QuickAlert, default_name, parse_threshold
from desktop.context import AppContext
from desktop.engine import conditions
from desktop.guard import alive
from desktop.tasks import TaskRunner
from store import automations, integrations, runs
from store import entities as e
from store.db import Database
from store.errors import StoreError

log = logging.getLogger("runbell.bell")

ERROR_STYLE = "color: #c62828;"
WARN_STYLE = "color: #9a6700;"
NO_SLACK_HINT = "Add a Slack integration in Team Settings"


class DuplicateName(StoreError):
    """The team already has an automation of that name."""


@dataclass(frozen=True)
class _Choices:
    slack: list[e.Integration]
    names: set[str]
    metric_logged: bool


def _load_choices(db: Database, team_id: int, project_id: int, metric: str) -> _Choices:
    return _Choices(
        slack=integrations.list_integrations(db, team_id, "slack"),
        names={a.name for a in automations.list_automations(db, team_id=team_id)},
        metric_logged=metric in runs.metric_keys(db, project_id),
    )


def _save(db: Database, ctx: AppContext, project_id: int, alert: QuickAlert) -> e.Automation:
    name = alert.name.strip()
    if any(a.name == name for a in automations.list_automations(db, team_id=ctx.team.id)):
        raise DuplicateName(f"an automation named “{name}” already exists; choose another name")
    return automations.create_automation(
        db, team_id=ctx.team.id, project_id=project_id, created_by=ctx.user.username, **alert.create_kwargs()
    )


def _message_label(name: str, style: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setStyleSheet(style)
    label.setWordWrap(True)
    label.hide()
    return label


def _stacked(*items: QWidget | QLayout) -> QVBoxLayout:
    """A form field with its message under it; a hidden message takes no room."""
    box = QVBoxLayout()
    box.setSpacing(2)
    for item in items:
        if isinstance(item, QLayout):
            box.addLayout(item)
        else:
            box.addWidget(item)
    return box


class BellDialog(QDialog):
    """Signals:
        ready(): integrations and existing names are loaded.
        saved(store.entities.Automation): the automation was stored; the dialog then closes.
    """

    ready = Signal()
    saved = Signal(object)

    def __init__(
        self, ctx: AppContext, project_id: int, metric: str, tasks: TaskRunner, parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("bell-dialog")
        self.setWindowTitle(f"Alert on {metric}")
        self._ctx = ctx
        self._project_id = project_id
        self.metric_name = metric
        self._tasks = tasks
        self._names: set[str] = set()
        self._name_edited = False
        self._saving = False
        self._loaded = False
        self._build()
        self._connect()
        self._sync_name()
        self._validate()
        tasks.run(
            lambda: _load_choices(ctx.db, ctx.team.id, project_id, metric),
            alive(self, self._on_choices), alive(self, self._on_choices_failed),
        )

    # -- layout -----------------------------------------------------------------------------------

    def _build(self) -> None:
        self.metric_label = QLabel(self.metric_name, self)
        self.metric_label.setObjectName("bell-metric")
        self.metric_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metric_warning = _message_label("bell-metric-warning", WARN_STYLE, self)

        self.aggregation_combo = QComboBox(self)
        self.aggregation_combo.setObjectName("bell-aggregation")
        self.aggregation_combo.addItems(list(AGGREGATIONS))
        self.window_spin = QSpinBox(self)
        self.window_spin.setObjectName("bell-window")
        self.window_spin.setRange(1, conditions.MAX_WINDOW)  # what the engine accepts
        self.window_spin.setValue(5)
        self.window_spin.setSuffix(" values")
        self.window_spin.setToolTip("How many of the most recent values to aggregate")
        self.operator_combo = QComboBox(self)
        self.operator_combo.setObjectName("bell-operator")
        self.operator_combo.addItems(list(OPERATORS))
        self.operator_combo.setAccessibleName("Comparison")
        self.threshold_edit = QLineEdit(self)
        self.threshold_edit.setObjectName("bell-threshold")
        self.threshold_edit.setPlaceholderText("e.g. 0.9")
        self.threshold_edit.setAccessibleName("Threshold")
        self.threshold_error = _message_label("bell-threshold-error", ERROR_STYLE, self)
        condition = QHBoxLayout()
        condition.addWidget(self.operator_combo)
        condition.addWidget(self.threshold_edit, 1)

        self.desktop_check = QCheckBox("Desktop notification", self)
        self.desktop_check.setObjectName("bell-desktop")
        self.desktop_check.setChecked(True)
        self.slack_check = QCheckBox("Slack", self)
        self.slack_check.setObjectName("bell-slack")
        self.slack_check.setEnabled(False)
        self.slack_combo = QComboBox(self)
        self.slack_combo.setObjectName("bell-slack-integration")
        self.slack_combo.setAccessibleName("Slack integration")
        self.slack_combo.setEnabled(False)
        self.slack_combo.hide()
        self.slack_hint = QLabel("Loading Slack integrations…", self)
        self.slack_hint.setObjectName("bell-slack-hint")
        self.slack_hint.setEnabled(False)
        slack_row = QHBoxLayout()
        slack_row.addWidget(self.slack_check)
        slack_row.addWidget(self.slack_combo, 1)
        slack_row.addWidget(self.slack_hint, 1)

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("bell-name")
        self.name_edit.setMaxLength(automations.MAX_NAME)
        self.name_error = _message_label("bell-name-error", ERROR_STYLE, self)

        for compact in (self.aggregation_combo, self.window_spin):
            compact.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        condition_label = QLabel("&Condition:", self)
        condition_label.setBuddy(self.operator_combo)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Metric:", _stacked(self.metric_label, self.metric_warning))
        form.addRow("&Aggregation:", self.aggregation_combo)
        form.addRow("&Window:", self.window_spin)
        form.addRow(condition_label, _stacked(condition, self.threshold_error))
        form.addRow("Notify:", _stacked(self.desktop_check, slack_row))
        name_label = QLabel("&Name:", self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, _stacked(self.name_edit, self.name_error))

        self.status_label = _message_label("bell-status", ERROR_STYLE, self)
        self.advanced_button = QPushButton("Advanced…", self)
        self.advanced_button.setObjectName("bell-advanced")
        self.advanced_button.setToolTip("Open the full wizard with these values")
        buttons = QDialogButtonBox(self)
        self.save_button = buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("bell-save")
        self.save_button.setDefault(True)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("bell-cancel")
        bottom = QHBoxLayout()
        bottom.addWidget(self.advanced_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addLayout(bottom)
        self.setMinimumWidth(520)

    def _connect(self) -> None:
        self.aggregation_combo.currentTextChanged.connect(self._on_condition_changed)
        self.window_spin.valueChanged.connect(self._on_condition_changed)
        self.operator_combo.currentTextChanged.connect(self._on_condition_changed)
        self.threshold_edit.textChanged.connect(self._on_condition_changed)
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.name_edit.textChanged.connect(self._validate)
        self.desktop_check.toggled.connect(self._validate)
        self.slack_check.toggled.connect(self._on_slack_toggled)
        self.save_button.clicked.connect(self._on_save)
        self.cancel_button.clicked.connect(self.reject)
        self.advanced_button.clicked.connect(self.open_advanced)

    # -- loading ----------------------------------------------------------------------------------

    def _on_choices(self, choices: _Choices) -> None:
        self._loaded = True
        self._names = choices.names
        if not choices.metric_logged:
            self.metric_warning.setText(f"No run has logged {self.metric_name} yet; the alert waits for it.")
            self.metric_warning.show()
        for integration in choices.slack:
            channel = integration.config.get("channel") or integration.name
            workspace = integration.config.get("workspace") or ""
            self.slack_combo.addItem(f"{channel} ({workspace})" if workspace else channel, integration.id)
        if choices.slack:
            self.slack_check.setEnabled(self._ctx.can_edit)
            self.slack_combo.show()
            self.slack_hint.hide()
        else:
            self.slack_check.setEnabled(False)
            self.slack_check.setToolTip(NO_SLACK_HINT)
            self.slack_hint.setText(NO_SLACK_HINT)
        self._validate()
        self.ready.emit()

    def _on_choices_failed(self, exc: Exception) -> None:
        self._loaded = True
        self.slack_hint.setText("Slack integrations could not be loaded")
        self._show(self.status_label, f"Could not load the team's integrations: {exc}")
        self._validate()
        self.ready.emit()

    # -- validation as you type --------------------------------------------------------------------

    def _on_condition_changed(self) -> None:
        self.window_spin.setEnabled(AGGREGATIONS[self.aggregation_combo.currentText()] is not None)
        self._sync_name()
        self._validate()

    def _on_name_edited(self, _text: str) -> None:
        self._name_edited = True

    def _on_slack_toggled(self, checked: bool) -> None:
        self.slack_combo.setEnabled(checked)
        self._validate()

    def _sync_name(self) -> None:
        """Keep the suggested name in step with the condition until the user writes their own."""
        if self._name_edited:
            return
        self.name_edit.setText(default_name(
            self.metric_name, self.aggregation_combo.currentText(), self.window_spin.value(),
            self.operator_combo.currentText(), self.threshold_edit.text(),
        ))

    def _validate(self) -> bool:
        ok = True
        try:
            parse_threshold(self.threshold_edit.text())
            self.threshold_error.hide()
        except ValueError as exc:
            ok = False
            if self.threshold_edit.text().strip():  # an empty field is not an error yet, just incomplete
                self._show(self.threshold_error, str(exc))
            else:
                self.threshold_error.hide()
        name = self.name_edit.text().strip()
        if not name:
            ok = False
            self._show(self.name_error, "enter a name for the alert")
        elif name in self._names:
            ok = False
            self._show(self.name_error, f"an automation named “{name}” already exists; choose another name")
        else:
            self.name_error.hide()
        problem = self._action_problem()
        if problem:
            ok = False
            self._show(self.status_label, problem)
        elif not self._saving:
            self.status_label.hide()
        self.save_button.setEnabled(ok and not self._saving)
        self._fit_height()
        return ok

    def _fit_height(self) -> None:
        """Grow when a wrapped message appears, so no line is clipped."""
        layout = self.layout()
        if layout.hasHeightForWidth():
            needed = layout.totalHeightForWidth(self.width())
        else:
            needed = layout.totalSizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def _action_problem(self) -> str | None:
        if not self._ctx.can_edit:
            return "Viewers cannot create automations; ask an admin for the member role."
        if not (self.desktop_check.isChecked() or self._slack_chosen()):
            return "choose at least one action"
        if self.slack_check.isChecked() and self.slack_combo.currentData() is None:
            return "choose the Slack integration to post to"
        return None

    def _slack_chosen(self) -> bool:
        return self.slack_check.isEnabled() and self.slack_check.isChecked()

    def _show(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.show()
        self._fit_height()

    def open_advanced(self) -> QWidget:
        """Close this dialog and continue in the full wizard with the values typed so far."""
        from desktop.wizard.carry import from_quick_alert
        from desktop.wizard.wizard import AutomationWizard

        initial = from_quick_alert(
            metric=self.metric_name, aggregation=self.aggregation_combo.currentText(),
            window=self.window_spin.value(), operator=self.operator_combo.currentText(),
            threshold_text=self.threshold_edit.text(), name=self.name_edit.text().strip() if self._name_edited else "",
            desktop=self.desktop_check.isChecked(),
            slack_integration_id=self.slack_combo.currentData() if self._slack_chosen() else None)
        wizard = AutomationWizard(self._ctx, self._tasks, self._project_id, initial=initial, parent=self.parentWidget())
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.advanced_wizard = wizard
        self.reject()
        wizard.open()
        return wizard

    # -- saving -------------------------------------------------------------------------------------

    def alert(self) -> QuickAlert:
        """The alert as entered (raises ValueError while the threshold is not a number)."""
        return QuickAlert(
            metric=self.metric_name, aggregation=self.aggregation_combo.currentText(), window=self.window_spin.value(),
            operator=self.operator_combo.currentText(), threshold=parse_threshold(self.threshold_edit.text()),
            name=self.name_edit.text().strip(), desktop=self.desktop_check.isChecked(),
            slack_integration_id=self.slack_combo.currentData() if self._slack_chosen() else None,
        )

    def _on_save(self) -> None:
        if self._saving or not self._validate():
            return
        alert = self.alert()
        self._set_saving(True)
        ctx, project_id = self._ctx, self._project_id
        self._tasks.run(
            lambda: _save(ctx.db, ctx, project_id, alert),
            alive(self, self._on_saved), alive(self, self._on_save_failed),
        )

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.save_button.setEnabled(not saving)
        if saving:
            self.status_label.setStyleSheet("")
            self._show(self.status_label, "Saving…")
        else:
            self.status_label.setStyleSheet(ERROR_STYLE)

    def _on_saved(self, automation: e.Automation) -> None:
        self._set_saving(False)
        self._names.add(automation.name)
        self.saved.emit(automation)
        self.accept()

    def _on_save_failed(self, exc: Exception) -> None:
        self._set_saving(False)
        if isinstance(exc, DuplicateName):
            self._names.add(self.name_edit.text().strip())
            self._validate()
            return
        if isinstance(exc, StoreError):
            text = str(exc)
        else:
            log.error("saving the alert failed", exc_info=exc)
            text = f"Could not save the alert ({type(exc).__name__}): {exc}"
        self._validate()
        self._show(self.status_label, text)
