"""A project's Automations page: the automation list and the History sub-tab.

Object names for tests and the e2e driver: "automations-page", "automations-tabs",
"automations-table", "automations-search", "automation-delete", "automation-more",
"history-table", "history-detail", "status-filter", "history-resend";
confirmation boxes: "confirm-delete-automation" (buttons "confirm-yes" / "confirm-no").
"""
from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.automations.automations_tab import AutomationsTab
from desktop.automations.history_tab import HistoryTab
from desktop.context import AppContext
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
        self.automations_tab = AutomationsTab(ctx, tasks, project_id, self)
        self.history_tab = HistoryTab(ctx, tasks, project_id, self)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("automations-tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.automations_tab, "Automations")
        self.tabs.addTab(self.history_tab, "History")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.automations_tab.history_requested.connect(self.show_history)
        watcher.events_arrived.connect(self._on_events)
        self.refresh()

    def refresh(self) -> None:
        """Reload both lists now."""
        self.automations_tab.reloader.request(immediate=True)
        self.history_tab.reloader.request(immediate=True)

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
