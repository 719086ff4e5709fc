"""Table model over the project's automations (store.entities.Automation)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal

from desktop.automations.entity_table import EntityTableModel, Index
from desktop.automations.summary import action_summary, automation_event_summary
from desktop.page_helpers import VIEWER_TOOLTIP, local_time
from store import entities as e

NAME, EVENT, ACTION, ENABLED, LAST = range(5)
HEADERS = ("Name", "Event", "Action", "Enabled", "Last execution")
AUTOMATION_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


def _checked(value: Any) -> bool:
    if isinstance(value, Qt.CheckState):
        return value == Qt.CheckState.Checked
    return value == Qt.CheckState.Checked.value


class AutomationTableModel(EntityTableModel):
    """Rows are automations; the Enabled column is a checkbox.

    Checking the box does not write to the store itself: it emits `toggle_requested` and shows
    the new state at once; the page writes it and calls `update_automation` or `revert`.

    Signals:
        toggle_requested(int, bool): automation id, wanted enabled state.
    """

    toggle_requested = Signal(int, bool)
    headers = HEADERS
    entity_role = AUTOMATION_ROLE

    def __init__(self, can_edit: bool, parent: Any = None) -> None:
        super().__init__(parent)
        self._can_edit = can_edit
        self._summaries: list[tuple[str, str]] = []
        self._last: Mapping[int, datetime] = {}

    # -- data in ---------------------------------------------------------------------------
    def set_data(
        self, automations: Sequence[e.Automation], integrations: Mapping[int, e.Integration],
        last_times: Mapping[int, datetime],
    ) -> None:
        self.beginResetModel()
        self._rows = list(automations)
        self._summaries = [
            (automation_event_summary(a), action_summary(a.action_type, a.action_config, integrations))
            for a in self._rows
        ]
        self._last = dict(last_times)
        self.endResetModel()

    def update_automation(self, automation: e.Automation) -> None:
        for row, old in enumerate(self._rows):
            if old.id == automation.id:
                self._rows[row] = automation
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
                return

    def revert(self, automation_id: int, enabled: bool) -> None:
        for row, old in enumerate(self._rows):
            if old.id == automation_id:
                self.update_automation(replace(old, enabled=enabled))
                return

    def automation(self, row: int) -> e.Automation:
        return self._rows[row]

    # -- Qt model API ------------------------------------------------------------------------
    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == ENABLED:
            if not self._can_edit:
                return Qt.ItemFlag.ItemIsSelectable  # shown greyed; the tooltip says why
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def _role_data(self, a: e.Automation, row: int, col: int, role: int) -> Any:
        if role == SORT_ROLE:
            if col == ENABLED:
                return int(a.enabled)
            if col == LAST:
                moment = self._last.get(a.id)
                return moment.timestamp() if moment else 0.0
            return (self._display(a, row, col) or "").lower()
        if role == Qt.ItemDataRole.CheckStateRole and col == ENABLED:
            return Qt.CheckState.Checked if a.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(a, row, col)
        return None

    def _display(self, a: e.Automation, row: int, col: int) -> str | None:
        if col == NAME:
            return a.name
        if col == EVENT:
            return self._summaries[row][0]
        if col == ACTION:
            return self._summaries[row][1]
        if col == ENABLED:
            return "On" if a.enabled else "Off"
        if col == LAST:
            return local_time(self._last.get(a.id)) or "never"
        return None

    def _tooltip(self, a: e.Automation, row: int, col: int) -> str | None:
        if col == ENABLED:
            if not self._can_edit:
                return VIEWER_TOOLTIP
            return "Disable this automation" if a.enabled else "Enable this automation"
        if col == NAME and a.description:
            return a.description
        if col in (EVENT, ACTION):
            return self._summaries[row][col - EVENT]
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != ENABLED or not self._can_edit:
            return False
        a = self._rows[index.row()]
        wanted = _checked(value)
        if wanted == a.enabled:
            return False
        self._rows[index.row()] = replace(a, enabled=wanted)
        self.dataChanged.emit(index, index)
        self.toggle_requested.emit(a.id, wanted)
        return True
