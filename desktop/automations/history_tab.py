"""The History sub-tab: executions newest first, filters by status and automation, a detail pane.

Object names: "history-table", "history-detail", "status-filter", "automation-filter",
"history-count", "history-resend", "history-message".
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSplitter,
    QTableView, QTextBrowser, QVBoxLayout, QWidget,
)

from desktop.automations.history_detail import detail_html
from desktop.automations.history_model import EVENT, EXECUTION_ROLE, HistoryTableModel
from desktop.context import AppContext
from desktop.page_helpers import (
    VIEWER_TOOLTIP, Reloader, change_then_reload, error_label, show_message, user_message,
)
from desktop.tasks import TaskRunner
from store import entities as e
from store import automations, executions, integrations

STATUS_CHOICES = (("All statuses", None), ("Pending", "pending"), ("Finished", "finished"),
                  ("Failed", "failed"), ("Skipped", "skipped"))
PLACEHOLDER = "<p style='color:#7f8790'>Select an execution to see its event, payload and attempts.</p>"
RESENDABLE = ("failed", "finished")


class HistoryTab(QWidget):
    def __init__(self, ctx: AppContext, tasks: TaskRunner, project_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self._status: str | None = None
        self._automation_id: int | None = None
        self._integrations: dict[int, e.Integration] = {}
        self.model = HistoryTableModel(self)
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._on_load_error, parent=self)
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("status-filter")
        for label, value in STATUS_CHOICES:
            self.status_filter.addItem(label, value)
        self.status_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.automation_filter = QComboBox()
        self.automation_filter.setObjectName("automation-filter")
        self.automation_filter.setMinimumContentsLength(18)
        self.automation_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.automation_filter.addItem("All automations", None)
        self.automation_filter.currentIndexChanged.connect(self._on_filter_changed)
        self.count_label = QLabel()
        self.count_label.setObjectName("history-count")
        self.resend_button = QPushButton("Resend")
        self.resend_button.setObjectName("history-resend")
        self.resend_button.clicked.connect(self.resend_selected)

        self.table = QTableView()
        self.table.setObjectName("history-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(EVENT, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.detail = QTextBrowser()
        self.detail.setObjectName("history-detail")
        self.detail.setOpenLinks(False)
        self.detail.setHtml(PLACEHOLDER)
        self.message = error_label("history-message")

        top = QHBoxLayout()
        top.addWidget(QLabel("Status:"))
        top.addWidget(self.status_filter)
        top.addWidget(QLabel("Automation:"))
        top.addWidget(self.automation_filter)
        top.addWidget(self.count_label, 1)
        top.addWidget(self.resend_button)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("history-splitter")
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # -- loading -----------------------------------------------------------------------------
    def _fetch(self) -> tuple[list[e.Execution], dict[int, e.Integration], list[e.Automation]]:
        db = self._ctx.db
        rows = executions.list_executions(db, project_id=self._project_id, status=self._status,
                                          automation_id=self._automation_id)
        return (rows, {i.id: i for i in integrations.list_integrations(db, self._ctx.team.id)},
                automations.list_automations(db, project_id=self._project_id))

    def _set_automation_choices(self, found: list[e.Automation]) -> None:
        """Refill the automation filter, keeping the choice (by id) without re-filtering."""
        combo = self.automation_filter
        wanted = [(a.name, a.id) for a in sorted(found, key=lambda a: a.name.lower())]
        if wanted == [(combo.itemText(i), combo.itemData(i)) for i in range(1, combo.count())]:
            return
        combo.blockSignals(True)
        try:
            while combo.count() > 1:
                combo.removeItem(1)
            for name, automation_id in wanted:
                combo.addItem(name, automation_id)
            index = combo.findData(self._automation_id) if self._automation_id is not None else 0
            combo.setCurrentIndex(max(index, 0))
        finally:
            combo.blockSignals(False)

    def select_automation_filter(self, automation_id: int | None) -> bool:
        """Show only `automation_id`'s executions (None: all); False if it is not listed."""
        index = self.automation_filter.findData(automation_id) if automation_id is not None else 0
        if index < 0:
            return False
        self.automation_filter.setCurrentIndex(index)
        return True

    def _apply(self, result: tuple[list[e.Execution], dict[int, e.Integration], list[e.Automation]]) -> None:
        rows, by_id, found = result
        self._set_automation_choices(found)
        selected = self.selected_execution()
        self._integrations = by_id
        self.model.set_executions(rows, by_id)
        shown = len(rows)
        self.count_label.setText(f"{shown} execution{'s' if shown != 1 else ''}, newest first")
        row = self.model.row_of(selected.id) if selected else -1
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.detail.setHtml(PLACEHOLDER)
        self._update_buttons()

    def _on_load_error(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the history: {user_message(exc)}")

    def _on_filter_changed(self, _index: int) -> None:
        self._status = self.status_filter.currentData()
        self._automation_id = self.automation_filter.currentData()
        self.reloader.request(immediate=True)

    # -- selection and detail ----------------------------------------------------------------
    def selected_execution(self) -> e.Execution | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(EXECUTION_ROLE) if rows else None

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        chosen = self.selected_execution()
        self.detail.setHtml(detail_html(chosen, self._integrations) if chosen else PLACEHOLDER)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected_execution()
        if not self._ctx.can_edit:
            self.resend_button.setEnabled(False)
            self.resend_button.setToolTip(VIEWER_TOOLTIP)
        elif chosen is None or chosen.status not in RESENDABLE:
            self.resend_button.setEnabled(False)
            self.resend_button.setToolTip("Select a finished or failed execution to send it again")
        else:
            self.resend_button.setEnabled(True)
            self.resend_button.setToolTip("Queue this delivery again (same delivery id)")

    def resend_selected(self) -> None:
        chosen = self.selected_execution()
        if chosen is None or chosen.status not in RESENDABLE or not self._ctx.can_edit:
            return
        from desktop.engine import resend  # a new pending copy with its own retries; the original stays

        db = self._ctx.db
        change_then_reload(self, self._tasks, lambda: resend(db, chosen.id), self.reloader, self.message,
                           "Could not resend")
