"""Table model over executions (history), newest first as the store returns them."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from desktop.automations.entity_table import EntityTableModel
from desktop.automations.summary import execution_action_summary, execution_event_summary
from desktop.page_helpers import local_time
from store import entities as e

TIME, AUTOMATION, EVENT, ACTION, STATUS, ATTEMPTS = range(6)
HEADERS = ("Time", "Automation", "Event", "Action", "Status", "Attempts")
EXECUTION_ROLE = Qt.ItemDataRole.UserRole + 1

# Mid-tone colours that read on both light and dark backgrounds.
STATUS_COLORS = {
    "finished": "#2e9d4f",
    "failed": "#d64545",
    "pending": "#c98a00",
    "skipped": "#7f8790",
}


class HistoryTableModel(EntityTableModel):
    headers = HEADERS
    entity_role = EXECUTION_ROLE

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._text: list[tuple[str, str]] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def set_executions(
        self, rows: Sequence[e.Execution], integrations: Mapping[int, e.Integration] | None = None,
    ) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._text = [(execution_event_summary(x), execution_action_summary(x, integrations))
                      for x in self._rows]
        self.endResetModel()

    def execution(self, row: int) -> e.Execution:
        return self._rows[row]

    def _role_data(self, x: e.Execution, row: int, col: int, role: int) -> Any:
        if col == STATUS:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATUS_COLORS.get(x.status, "#7f8790"))
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == Qt.ItemDataRole.ToolTipRole and x.reason:
                return x.reason
        if role == Qt.ItemDataRole.ToolTipRole and col in (EVENT, ACTION):
            return self._display(x, row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, x: e.Execution, row: int, col: int) -> str:
        if col == TIME:
            return local_time(x.triggered_at)
        if col == AUTOMATION:
            return x.automation_name + (" (test)" if x.is_test else "")
        if col == EVENT:
            return self._text[row][0]
        if col == ACTION:
            return self._text[row][1]
        if col == STATUS:
            return x.status.capitalize()
        if col == ATTEMPTS:
            return str(len(x.attempts))
        return ""
