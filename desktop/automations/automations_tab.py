"""The Automations sub-tab: the list with search, enabled toggles, the `…` menu (Edit, Duplicate,
Test, Delete, history) and Export…/Import… of the project's automations as JSON.

Object names: "automations-table", "automations-search", "automation-delete", "automation-more",
"automations-message" (errors), "automations-notice" (outcomes of Test, Duplicate, Import, Export);
menu actions "automation-edit", "automation-duplicate", "automation-test", "automation-delete-action",
"automation-history", "automations-export", "automations-import"; file dialogs see portable_files.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QPushButton,
    QTableView, QToolButton, QVBoxLayout, QWidget,
)

from desktop.automations import portable_files, row_actions
from desktop.automations.automations_model import (
    AUTOMATION_ROLE, EVENT, LAST, NAME, SORT_ROLE, AutomationTableModel,
)
from desktop.context import AppContext
from desktop.page_helpers import (
    VIEWER_TOOLTIP, Reloader, alive, change_then_reload, confirm, error_label, show_message, user_message,
)
from desktop.tasks import TaskRunner
from store import automations, executions, integrations
from store import entities as e
from store.errors import NotFound


class AutomationsTab(QWidget):
    """Signals:
        edit_requested(store.entities.Automation): the user chose Edit (the wizard owner opens it).
        history_requested(): the user asked for the execution history.
    """

    edit_requested = Signal(object)
    history_requested = Signal()

    def __init__(self, ctx: AppContext, tasks: TaskRunner, project_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self.model = AutomationTableModel(ctx.can_edit, self)
        self.model.toggle_requested.connect(self._on_toggle_requested)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(NAME)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(SORT_ROLE)
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._on_load_error, parent=self)
        self._build()
        self._update_buttons()

    # -- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("automations-search")
        self.search.setPlaceholderText("Search automations by name")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)

        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("automation-delete")
        self.delete_button.clicked.connect(self.delete_selected)

        self.edit_action = QAction("Edit…", self)
        self.edit_action.triggered.connect(self._on_edit)
        self.edit_action.setVisible(False)
        self.delete_action = QAction("Delete…", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.triggered.connect(self.delete_selected)
        self.history_action = QAction("Show history", self)
        self.history_action.triggered.connect(self.history_requested)
        self.duplicate_action = QAction("Duplicate", self)
        self.duplicate_action.triggered.connect(self.duplicate_selected)
        self.test_action = QAction("Test (send with a sample event)", self)
        self.test_action.triggered.connect(self.test_selected)
        self.export_action = QAction("Export automations…", self)
        self.export_action.triggered.connect(self.choose_export_file)
        self.import_action = QAction("Import automations…", self)
        self.import_action.triggered.connect(self.choose_import_file)
        for action, name in ((self.edit_action, "automation-edit"), (self.duplicate_action, "automation-duplicate"),
                             (self.test_action, "automation-test"), (self.delete_action, "automation-delete-action"),
                             (self.history_action, "automation-history"), (self.export_action, "automations-export"),
                             (self.import_action, "automations-import")):
            action.setObjectName(name)
        self.more_menu = QMenu(self)
        self.more_menu.addActions([self.edit_action, self.duplicate_action, self.test_action, self.delete_action,
                                   self.history_action])
        self.more_menu.addSeparator()
        self.more_menu.addActions([self.export_action, self.import_action])
        self.last_file_dialog: QFileDialog | None = None
        self.more_button = QToolButton()
        self.more_button.setObjectName("automation-more")
        self.more_button.setText("…")
        self.more_button.setToolTip("More actions for the selected automation")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more_button.setMenu(self.more_menu)
        self.more_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")

        self.table = QTableView()
        self.table.setObjectName("automations-table")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NAME, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(EVENT, QHeaderView.ResizeMode.Stretch)
        # a 255-character name must not push the Enabled toggle off screen
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(NAME, 260)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.addAction(self.delete_action)  # the Delete key in the table

        self.empty_label = QLabel(
            "No automations in this project yet. Hover a plot panel in the Workspace and click "
            "its bell to create one."
        )
        self.empty_label.setObjectName("automations-empty")
        self.empty_label.setWordWrap(True)
        self.empty_label.hide()
        self.message = error_label("automations-message")
        self.notice = QLabel()
        self.notice.setObjectName("automations-notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #2e9d4f;")
        self.notice.hide()

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.delete_button)
        top.addWidget(self.more_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.notice)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)

    # -- loading -----------------------------------------------------------------------------
    def _fetch(self) -> tuple[list[e.Automation], dict[int, e.Integration], dict[int, Any]]:
        db = self._ctx.db
        found = automations.list_automations(db, project_id=self._project_id)
        by_id = {i.id: i for i in integrations.list_integrations(db, self._ctx.team.id)}
        return found, by_id, executions.last_execution_times(db, self._project_id)

    def _apply(self, result: tuple[list[e.Automation], dict[int, e.Integration], dict[int, Any]]) -> None:
        selected = self.selected_automation()
        self.model.set_data(*result)
        self.empty_label.setVisible(self.model.rowCount() == 0)
        if selected is not None:
            self.select_automation(selected.id)
        self._update_buttons()

    def _on_load_error(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load automations: {user_message(exc)}")

    # -- selection ---------------------------------------------------------------------------
    def selected_automation(self) -> e.Automation | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(AUTOMATION_ROLE) if rows else None

    def select_automation(self, automation_id: int) -> None:
        row = self.model.row_of(automation_id)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())

    def set_editor_available(self, available: bool) -> None:
        """Show "Edit…" once something listens to `edit_requested` (the wizard)."""
        self.edit_action.setVisible(available)

    def _update_buttons(self) -> None:
        has = self.selected_automation() is not None
        can = self._ctx.can_edit
        for widget in (self.delete_button, self.delete_action, self.edit_action, self.duplicate_action,
                       self.test_action):
            widget.setEnabled(has and can)
        self.import_action.setEnabled(can)
        self.export_action.setEnabled(True)
        self.history_action.setEnabled(True)
        if not can:
            self.delete_button.setToolTip(VIEWER_TOOLTIP)
            self.delete_action.setToolTip(VIEWER_TOOLTIP)
        elif not has:
            self.delete_button.setToolTip("Select an automation to delete it")
        else:
            self.delete_button.setToolTip("Delete the selected automation (its history is kept)")

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
            self.more_menu.popup(self.table.viewport().mapToGlobal(pos))

    def _on_double_click(self, index: QModelIndex) -> None:
        if index.column() == LAST:
            self.history_requested.emit()

    def _on_edit(self) -> None:
        chosen = self.selected_automation()
        if chosen is not None and self._ctx.can_edit:
            self.edit_requested.emit(chosen)

    # -- changes -----------------------------------------------------------------------------
    def _on_toggle_requested(self, automation_id: int, enabled: bool) -> None:
        show_message(self.message, "")
        db = self._ctx.db

        def done(updated: e.Automation) -> None:
            if alive(self):
                self.model.update_automation(updated)

        def failed(exc: Exception) -> None:
            if alive(self):
                self.model.revert(automation_id, not enabled)
                name = next((self.model.automation(r).name for r in range(self.model.rowCount())
                             if self.model.automation(r).id == automation_id), "")
                why = ("it was deleted meanwhile" if isinstance(exc, NotFound) else user_message(exc))
                show_message(self.message, f"Could not change the automation “{name}”: {why}")
                if isinstance(exc, NotFound):
                    self.reloader.request(immediate=True)

        self._tasks.run(lambda: automations.set_enabled(db, automation_id, enabled), done, failed)

    def delete_selected(self) -> None:
        chosen = self.selected_automation()
        if chosen is None or not self._ctx.can_edit:
            return
        confirm(
            self, object_name="confirm-delete-automation", title="Delete automation",
            text=f"Delete the automation “{chosen.name}”?",
            details="Its execution history is kept, and deliveries already under way still complete.",
            confirm_text="Delete", on_confirm=lambda: self._delete(chosen),
        )

    def _delete(self, chosen: e.Automation) -> None:
        db = self._ctx.db
        change_then_reload(self, self._tasks, lambda: automations.delete_automation(db, chosen.id),
                           self.reloader, self.message, f"Could not delete {chosen.name}")

    # -- duplicate, test ---------------------------------------------------------------------
    def _tell(self, text: str) -> None:
        show_message(self.message, "")
        show_message(self.notice, text)

    def _fail(self, prefix: str) -> Callable[[Exception], None]:
        def failed(exc: Exception) -> None:
            if alive(self):
                show_message(self.notice, "")
                why = str(exc) if isinstance(exc, OSError) else user_message(exc)
                show_message(self.message, f"{prefix}: {why}")
        return failed

    def duplicate_selected(self) -> None:
        chosen = self.selected_automation()
        if chosen is None or not self._ctx.can_edit:
            return
        db, author = self._ctx.db, self._ctx.user.username

        def done(copy: e.Automation) -> None:
            if alive(self):
                self._tell(f"Created “{copy.name}”.")
                self.reloader.request(immediate=True)
                self._select_after_reload(copy.id)

        self._tasks.run(lambda: row_actions.duplicate_automation(db, chosen, created_by=author), done,
                        self._fail(f"Could not duplicate {chosen.name}"))

    def _select_after_reload(self, automation_id: int) -> None:
        def select() -> None:
            self.reloader.loaded.disconnect(select)
            self.select_automation(automation_id)
        self.reloader.loaded.connect(select)

    def test_selected(self) -> None:
        chosen = self.selected_automation()
        if chosen is None or not self._ctx.can_edit:
            return
        db, team, author = self._ctx.db, self._ctx.team.name, self._ctx.user.username

        def done(fired: list[e.Execution]) -> None:
            if alive(self):
                self._tell(f"Test of “{chosen.name}” queued ({len(fired)} action{'s' if len(fired) != 1 else ''}); "
                           "History shows the delivery, marked as a test.")

        self._tasks.run(lambda: row_actions.fire_test(db, chosen, team_name=team, author=author), done,
                        self._fail(f"Could not test {chosen.name}"))

    # -- export, import ----------------------------------------------------------------------
    def choose_export_file(self) -> QFileDialog:
        self.last_file_dialog = portable_files.file_dialog(self, save=True, on_chosen=self.export_to)
        return self.last_file_dialog

    def choose_import_file(self) -> QFileDialog | None:
        if not self._ctx.can_edit:
            return None
        self.last_file_dialog = portable_files.file_dialog(self, save=False, on_chosen=self.import_from)
        return self.last_file_dialog

    def export_to(self, path: str) -> None:
        ctx, project_id = self._ctx, self._project_id

        def done(count: int) -> None:
            if alive(self):
                self._tell(f"Exported {count} automation{'s' if count != 1 else ''} to {path}.")

        self._tasks.run(lambda: portable_files.export_to(ctx, project_id, path), done,
                        self._fail("Could not export"))

    def import_from(self, path: str) -> None:
        if not self._ctx.can_edit:
            return
        ctx, project_id = self._ctx, self._project_id

        def done(created: list[e.Automation]) -> None:
            if alive(self):
                names = ", ".join(f"“{a.name}”" for a in created)
                self._tell(f"Imported {len(created)} automation{'s' if len(created) != 1 else ''}"
                           + (f": {names}." if created else "."))
                self.reloader.request(immediate=True)

        self._tasks.run(lambda: portable_files.import_from(ctx, project_id, path), done,
                        self._fail("Nothing imported"))
