"""The runs table model: every run of a project in memory, filtered and sorted in Python, handed
to the view in batches (`canFetchMore`/`fetchMore`) so 10,000 runs stay instant.

Sorting and filtering live in the model (not a QSortFilterProxyModel) because a proxy only sees
the rows already fetched: it would sort the first batch instead of all runs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.workspace.visibility import RunVisibility
from store import entities as e

BASE_COLUMNS = ("Name", "State", "User", "Tags", "Created", "Duration")
NAME, STATE, USER, TAGS, CREATED, DURATION = range(len(BASE_COLUMNS))
STATE_COLORS = {"running": "#1e88e5", "finished": "#2e7d32", "failed": "#c62828", "crashed": "#c62828",
                "killed": "#6d6d6d"}
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2
BATCH = 256  # rows handed to the view per fetch

Index = QModelIndex | QPersistentModelIndex


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def run_duration(run: e.Run, now: datetime | None = None) -> float:
    """Seconds from creation to the end (or to now while running; to the last heartbeat if it died)."""
    if run.finished_at is not None:
        end = run.finished_at
    elif run.state == "running":
        end = now or datetime.now(timezone.utc)
    else:
        end = run.heartbeat_at
    return max(0.0, (_aware(end) - _aware(run.created_at)).total_seconds())


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


class RunsTableModel(QAbstractTableModel):
    """Rows are runs; columns are the base columns plus the last value of every metric.

    Column 0 carries a checkbox per run when a `RunVisibility` is given: unchecking hides the
    run's curves in the workspace (and hiding it there unchecks it here).
    """

    def __init__(self, parent: QObject | None = None, *, visibility: RunVisibility | None = None) -> None:
        super().__init__(parent)
        self._runs: list[e.Run] = []
        self._metrics: list[str] = []
        self._order: list[int] = []  # indices into _runs: filtered, then sorted
        self._shown = 0  # rows of _order the view has fetched
        self._filter = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._haystack: list[str] | None = None  # lower-case text of every row, built on first filter
        self._row_of: dict[str, int] | None = None
        self._visibility = visibility
        if visibility is not None:
            visibility.changed.connect(self._on_visibility)

    # -- contents ------------------------------------------------------------------------------

    @property
    def metric_columns(self) -> list[str]:
        return list(self._metrics)

    @property
    def total_rows(self) -> int:
        """Rows matching the filter, fetched or not."""
        return len(self._order)

    def set_runs(self, runs_: Sequence[e.Run], metrics: Sequence[str] = ()) -> None:
        """Replace the runs; keeps the filter, the sort and as many fetched rows as before."""
        self.beginResetModel()
        keep = self._shown
        self._runs = list(runs_)
        self._metrics = list(metrics)
        self._haystack = None
        self._arrange()
        self._shown = min(len(self._order), max(BATCH, keep))
        self.endResetModel()

    def run_at(self, row: int) -> e.Run:
        return self._runs[self._order[row]]

    def row_of(self, run_id: str) -> int | None:
        """The run's row among the filtered, sorted rows (it may not be fetched yet)."""
        if self._row_of is None:
            self._row_of = {self._runs[i].id: row for row, i in enumerate(self._order)}
        return self._row_of.get(run_id)

    def set_filter(self, text: str) -> None:
        """Keep the runs whose text (any column) contains `text`, case-insensitively."""
        if text.strip().lower() == self._filter:
            return
        self.beginResetModel()
        self._filter = text.strip().lower()
        self._arrange()
        self._shown = min(len(self._order), BATCH)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort all runs (not just the fetched ones) on raw values; runs without a value go last."""
        if not 0 <= column < self.columnCount():
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._arrange()
        self.layoutChanged.emit()

    # -- Qt model interface ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(BASE_COLUMNS) + len(self._metrics)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._shown < len(self._order)

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = min(BATCH, len(self._order) - self._shown)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._shown, self._shown + more - 1)
        self._shown += more
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < len(BASE_COLUMNS):
            return BASE_COLUMNS[section]
        return self._metrics[section - len(BASE_COLUMNS)]

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == NAME and self._visibility is not None:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self._shown:
            return None
        run = self.run_at(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(run, column)
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.CheckStateRole and column == NAME and self._visibility is not None:
            visible = self._visibility.is_visible(run.id)
            return Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            return QColor(STATE_COLORS.get(run.state, "#6d6d6d"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == NAME:
                return f"{run.name} ({run.id})"
            if column == STATE and run.error_tail:
                return run.error_tail[-500:]
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= len(BASE_COLUMNS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (role != Qt.ItemDataRole.CheckStateRole or not index.isValid() or index.column() != NAME
                or self._visibility is None):
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
        self._visibility.set_visible(self.run_at(index.row()).id, checked)  # → _on_visibility repaints
        return True

    # -- internals ------------------------------------------------------------------------------

    def _on_visibility(self, run_id: str, _visible: bool) -> None:
        row = self.row_of(run_id)
        if row is not None and row < self._shown:
            cell = self.index(row, NAME)
            self.dataChanged.emit(cell, cell, [Qt.ItemDataRole.CheckStateRole])

    def _arrange(self) -> None:
        order = list(range(len(self._runs)))
        if self._filter:
            if self._haystack is None:
                self._haystack = [self._row_text(run) for run in self._runs]
            needle, hay = self._filter, self._haystack
            order = [i for i in order if needle in hay[i]]
        if self._sort is not None:
            column, direction = self._sort
            keys = [self._sort_key(self._runs[i], column) for i in order]
            present = [(k, i) for k, i in zip(keys, order) if k is not None]
            missing = [i for k, i in zip(keys, order) if k is None]
            present.sort(key=lambda pair: pair[0], reverse=direction == Qt.SortOrder.DescendingOrder)
            order = [i for _k, i in present] + missing
        self._order = order
        self._row_of = None

    def _row_text(self, run: e.Run) -> str:
        return "\t".join(self._display(run, c) for c in range(self.columnCount())).lower()

    def _display(self, run: e.Run, column: int) -> str:
        if column == NAME:
            return run.name
        if column == STATE:
            return run.state
        if column == USER:
            return run.username
        if column == TAGS:
            return ", ".join(run.tags)
        if column == CREATED:
            return _aware(run.created_at).astimezone().strftime("%Y-%m-%d %H:%M")
        if column == DURATION:
            return format_duration(run_duration(run))
        return format_value(run.summary.get(self._metrics[column - len(BASE_COLUMNS)]))

    def _sort_key(self, run: e.Run, column: int) -> Any:
        if column == CREATED:
            return _aware(run.created_at).timestamp()
        if column == DURATION:
            return run_duration(run)
        if column >= len(BASE_COLUMNS):
            return _number(run.summary.get(self._metrics[column - len(BASE_COLUMNS)]))
        return self._display(run, column).lower()
