"""The registry's Automations and History tabs: the automations scoped to the selected registry (or one
of its collections) with enable toggles and delete, and the executions of those automations.

Both reuse the project pages' table models; the registry role (not the team role) decides whether
the controls are usable. Object names: "registry-automations-table", "registry-automation-delete",
"registry-automations-empty", "registry-automations-message", "registry-history-table",
"registry-history-detail", "registry-history-count", "registry-history-message".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter, QTableView, QTextBrowser,
    QVBoxLayout, QWidget,
)

from desktop.automations.automations_model import AUTOMATION_ROLE, ENABLED, EVENT, NAME, AutomationTableModel
from desktop.automations.history_detail import detail_html
from desktop.automations.history_model import EVENT as HISTORY_EVENT
from desktop.automations.history_model import EXECUTION_ROLE, HistoryTableModel
from desktop.context import AppContext
from desktop.engine import artifact_events as rules
from desktop.guard import alive
from desktop.page_helpers import Reloader, change_then_reload, confirm, error_label, show_message, user_message
from desktop.registries.detail import VIEWER_REGISTRY_TOOLTIP
from desktop.tasks import TaskRunner
from store import entities as e
from store import integrations, registry_automations
from store.registry_automations import list_registry_automations, list_registry_executions

PLACEHOLDER = "<p style='color:#7f8790'>Select an execution to see its event, payload and attempts.</p>"


class RegistryAutomationModel(AutomationTableModel):
    """The automations model whose editability follows the registry role, with the registry tooltip."""

    def set_writable(self, writable: bool) -> None:
        self._can_edit = writable
        if self.rowCount():
            self.dataChanged.emit(self.index(0, ENABLED), self.index(self.rowCount() - 1, ENABLED))

    def _tooltip(self, a: e.Automation, row: int, col: int) -> str | None:
        if col == ENABLED and not self._can_edit:
            return VIEWER_REGISTRY_TOOLTIP
        if col == EVENT:
            how = rules.describe_filter(a)
            return self._summaries[row][0] + (f" ({how})" if how else "")
        return super()._tooltip(a, row, col)


def _table(name: str, model: Any) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class RegistryAutomationsTab(QWidget):
    """Call `set_registry(registry_id, writable)` when the selected registry or the role changes.

    Signals: edit_requested(store.entities.Automation): a writer double-clicked an automation.
    """

    edit_requested = Signal(object)

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._tasks = ctx, tasks
        self._registry_id: int | None = None
        self._writable = False
        self.model = RegistryAutomationModel(False, self)
        self.model.toggle_requested.connect(self._on_toggle_requested)
        self.table = _table("registry-automations-table", self.model)
        self.table.horizontalHeader().setSectionResizeMode(EVENT, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().resizeSection(NAME, 220)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("registry-automation-delete")
        self.delete_button.clicked.connect(self.delete_selected)
        self.empty = QLabel("No automations on this registry yet. Use “New automation…” to have an alias "
                            "or a link call a webhook or post to Slack.")
        self.empty.setObjectName("registry-automations-empty")
        self.empty.setWordWrap(True)
        self.message = error_label("registry-automations-message")
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._on_double_click)
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._failed, parent=self)
        self._update_buttons()

    def _on_double_click(self, index: QModelIndex) -> None:
        chosen = index.data(AUTOMATION_ROLE)
        if chosen is not None and self._writable and index.column() != ENABLED:
            self.edit_requested.emit(chosen)

    def set_registry(self, registry_id: int | None, writable: bool) -> None:
        changed = registry_id != self._registry_id
        self._registry_id, self._writable = registry_id, writable
        self.model.set_writable(writable)
        self._update_buttons()
        if changed:
            self.reloader.request(immediate=True)

    def automation_ids(self) -> list[int]:
        return [self.model.automation(r).id for r in range(self.model.rowCount())]

    def _fetch(self) -> tuple[list[e.Automation], dict[int, e.Integration], Mapping[int, datetime]]:
        if self._registry_id is None:
            return [], {}, {}
        db, team_id = self._ctx.db, self._ctx.team.id
        found = list_registry_automations(db, team_id, self._registry_id)
        by_id = {i.id: i for i in integrations.list_integrations(db, team_id)}
        return found, by_id, registry_automations.last_execution_times(db, [a.id for a in found])

    def _apply(self, result: tuple[Sequence[e.Automation], Mapping[int, e.Integration], Mapping[int, datetime]]) -> None:
        keep = self.selected_automation()
        self.model.set_data(*result)
        row = self.model.row_of(keep.id) if keep is not None else -1
        if row >= 0:
            self.table.selectRow(row)
        self.empty.setVisible(not self.model.rowCount())
        self._update_buttons()

    def _failed(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the registry's automations: {user_message(exc)}")

    def selected_automation(self) -> e.Automation | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.automation(rows[0].row()) if rows else None

    def _update_buttons(self) -> None:
        has = self.selected_automation() is not None
        self.delete_button.setEnabled(has and self._writable)
        self.delete_button.setToolTip(VIEWER_REGISTRY_TOOLTIP if not self._writable else
                                      "Delete the selected automation (its history is kept)" if has else
                                      "Select an automation to delete it")

    def _on_toggle_requested(self, automation_id: int, enabled: bool) -> None:
        """The model shows the new state at once; the store decides (registry role), else it reverts."""
        show_message(self.message, "")
        db, username = self._ctx.db, self._ctx.user.username
        change = partial(registry_automations.set_enabled, db, automation_id, enabled, username=username)
        self._tasks.run(change, alive(self, self.model.update_automation),
                        alive(self, partial(self._toggle_failed, automation_id, enabled)))

    def _toggle_failed(self, automation_id: int, enabled: bool, exc: Exception) -> None:
        self.model.revert(automation_id, not enabled)
        show_message(self.message, f"Could not change the automation: {user_message(exc)}")

    def delete_selected(self) -> None:
        chosen = self.selected_automation()
        if chosen is not None and self._writable:
            confirm(self, object_name="confirm-delete-automation", title="Delete automation", confirm_text="Delete",
                    text=f"Delete the automation “{chosen.name}”?", on_confirm=partial(self._delete, chosen),
                    details="Its execution history is kept, and deliveries already under way still complete.")

    def _delete(self, chosen: e.Automation) -> None:
        db, username = self._ctx.db, self._ctx.user.username
        change_then_reload(self, self._tasks, partial(registry_automations.delete, db, chosen.id, username=username),
                           self.reloader, self.message, f"Could not delete {chosen.name}")


class RegistryHistoryTab(QWidget):
    """Executions of the registry's automations, newest first, with the detail of the selected one.
    `set_automations(ids)` tells it which automations belong to the registry."""

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self._tasks = ctx, tasks
        self._ids: list[int] = []
        self._integrations: dict[int, e.Integration] = {}
        self.model = HistoryTableModel(self)
        self.table = _table("registry-history-table", self.model)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(HISTORY_EVENT, QHeaderView.ResizeMode.Stretch)
        self.detail = QTextBrowser()
        self.detail.setObjectName("registry-history-detail")
        self.detail.setOpenLinks(False)
        self.detail.setHtml(PLACEHOLDER)
        self.count = QLabel()
        self.count.setObjectName("registry-history-count")
        self.message = error_label("registry-history-message")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        self.table.selectionModel().selectionChanged.connect(self._show_selected)
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._failed, parent=self)

    def set_automations(self, automation_ids: list[int]) -> None:
        if automation_ids != self._ids:
            self._ids = list(automation_ids)
            self.reloader.request(immediate=True)

    def _fetch(self) -> tuple[list[e.Execution], dict[int, e.Integration]]:
        db = self._ctx.db
        rows = list_registry_executions(db, self._ids)
        return rows, {i.id: i for i in integrations.list_integrations(db, self._ctx.team.id)}

    def _apply(self, result: tuple[list[e.Execution], dict[int, e.Integration]]) -> None:
        rows, self._integrations = result
        chosen = self.selected_execution()
        self.model.set_executions(rows, self._integrations)
        self.count.setText(f"{len(rows)} execution{'s' if len(rows) != 1 else ''} of this registry's "
                           "automations, newest first")
        row = self.model.row_of(chosen.id) if chosen is not None else -1
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.detail.setHtml(PLACEHOLDER)

    def _failed(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the history: {user_message(exc)}")

    def selected_execution(self) -> e.Execution | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(EXECUTION_ROLE) if rows else None

    def _show_selected(self, *_: object) -> None:
        chosen = self.selected_execution()
        self.detail.setHtml(detail_html(chosen, self._integrations) if chosen else PLACEHOLDER)
