"""A project's Automations page: the automation list and the History sub-tab.

Object names for tests and the e2e driver: "automations-page", "automations-tabs",
"automations-table", "automations-search", "automation-delete", "automation-more",
"automation-new" (opens the wizard, also Edit…), "history-table", "history-detail", "status-filter", "history-resend";
confirmation boxes: "confirm-delete-automation" (buttons "confirm-yes" / "confirm-no").
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTabWidget, QVBoxLayout, QWidget

from desktop.automations.automations_tab import AutomationsTab
from desktop.automations.history_tab import HistoryTab
from desktop.context import AppContext
from desktop.page_helpers import VIEWER_TOOLTIP
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import entities as e
from store import events

AUTOMATION_EVENTS = (events.AUTOMATION_CHANGED, events.INTEGRATION_CHANGED)


class AutomationsPage(QWidget):
    """Attributes:
        automations_tab: `AutomationsTab` (its `edit_requested(Automation)` signal is for the wizard).
        history_tab: `HistoryTab`.
    """

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("automations-page")
        self._project_id = project_id
        self._ctx, self._tasks = ctx, tasks
        self.last_wizard: QWidget | None = None
        self.automations_tab = AutomationsTab(ctx, tasks, project_id, self)
        self.history_tab = HistoryTab(ctx, tasks, project_id, self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("automations-tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.automations_tab, "Automations")
        self.tabs.addTab(self.history_tab, "History")
        self.new_button = QPushButton("New automation…")
        self.new_button.setObjectName("automation-new")
        self.new_button.setEnabled(ctx.can_edit)
        self.new_button.setToolTip("Create an automation with the wizard" if ctx.can_edit else VIEWER_TOOLTIP)
        self.new_button.clicked.connect(lambda: self.open_wizard())
        self.tabs.setCornerWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.automations_tab.history_requested.connect(self.show_history)
        self.automations_tab.edit_requested.connect(self.open_wizard)
        self.automations_tab.set_editor_available(True)
        watcher.events_arrived.connect(self._on_events)
        self.refresh()

    def refresh(self) -> None:
        """Reload both lists now."""
        self.automations_tab.reloader.request(immediate=True)
        self.history_tab.reloader.request(immediate=True)

    def open_wizard(self, automation: e.Automation | None = None) -> QWidget:
        """The create/edit wizard (non-modal; the list reloads from the store's change event)."""
        from desktop.wizard.wizard import AutomationWizard

        wizard = AutomationWizard(self._ctx, self._tasks, self._project_id, automation=automation, parent=self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.saved.connect(lambda _saved: self.automations_tab.reloader.request(immediate=True))
        self.last_wizard = wizard
        wizard.open()
        return wizard

    def show_history(self) -> None:
        self.tabs.setCurrentWidget(self.history_tab)

    def _mine(self, event: e.Event) -> bool:
        return event.project_id is None or event.project_id == self._project_id

    def _on_events(self, batch: list[e.Event]) -> None:
        if any(ev.type in AUTOMATION_EVENTS and self._mine(ev) for ev in batch):
            self.automations_tab.reloader.request()
        if any(ev.type == events.EXECUTION_CHANGED and self._mine(ev) for ev in batch):
            self.automations_tab.reloader.request()  # the "last execution" column
            self.history_tab.reloader.request()
