"""Table model over executions (history), newest first as the store returns them."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from desktop.automations.summary import execution_action_summary, execution_event_summary
from desktop.page_helpers import local_time
from store import entities as e

_Index = QModelIndex | QPersistentModelIndex

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


class HistoryTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[e.Execution] = []
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

    def row_of(self, execution_id: int) -> int:
        return next((i for i, x in enumerate(self._rows) if x.id == execution_id), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        x = self._rows[index.row()]
        col = index.column()
        if role == EXECUTION_ROLE:
            return x
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(x, index.row(), col)
        if col == STATUS:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(STATUS_COLORS.get(x.status, "#7f8790"))
            if role == Qt.ItemDataRole.FontRole:
                return self._bold
            if role == Qt.ItemDataRole.ToolTipRole and x.reason:
                return x.reason
        if role == Qt.ItemDataRole.ToolTipRole and col in (EVENT, ACTION):
            return self._display(x, index.row(), col)
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
