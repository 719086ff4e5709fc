"""The project's runs: a table model over `list[Run]`, a filter box, and throttled live refresh."""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from desktop.context import AppContext
from desktop.guard import alive
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import entities as e
from store import events, runs

BASE_COLUMNS = ("Name", "State", "User", "Tags", "Created", "Duration")
MAX_METRIC_COLUMNS = 3
REFRESH_EVENTS = (events.RUN_CREATED, events.RUN_STATE, events.METRICS)
STATE_COLORS = {"running": "#1e88e5", "finished": "#2e7d32", "failed": "#c62828", "crashed": "#c62828",
                "killed": "#6d6d6d"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2


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


class RunsTableModel(QAbstractTableModel):
    """Rows are runs; columns are the base columns plus the last value of up to 3 metrics."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: list[e.Run] = []
        self._metrics: list[str] = []

    @property
    def metric_columns(self) -> list[str]:
        return list(self._metrics)

    def set_runs(self, runs_: Sequence[e.Run], metrics: Sequence[str] = ()) -> None:
        self.beginResetModel()
        self._runs = list(runs_)
        self._metrics = list(metrics)[:MAX_METRIC_COLUMNS]
        self.endResetModel()

    def run_at(self, row: int) -> e.Run:
        return self._runs[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(BASE_COLUMNS) + len(self._metrics)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if section < len(BASE_COLUMNS):
            return BASE_COLUMNS[section]
        return self._metrics[section - len(BASE_COLUMNS)]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        column = index.column()
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(run, column)
        if role == SORT_ROLE:
            return self._sort_key(run, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QColor(STATE_COLORS.get(run.state, "#6d6d6d"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"{run.name} ({run.id})"
            if column == 1 and run.error_tail:
                return run.error_tail[-500:]
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= len(BASE_COLUMNS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, run: e.Run, column: int) -> str:
        if column == 0:
            return run.name
        if column == 1:
            return run.state
        if column == 2:
            return run.username
        if column == 3:
            return ", ".join(run.tags)
        if column == 4:
            return _aware(run.created_at).astimezone().strftime("%Y-%m-%d %H:%M")
        if column == 5:
            return format_duration(run_duration(run))
        return format_value(run.summary.get(self._metrics[column - len(BASE_COLUMNS)]))

    def _sort_key(self, run: e.Run, column: int) -> Any:
        if column == 4:
            return _aware(run.created_at).timestamp()
        if column == 5:
            return run_duration(run)
        if column >= len(BASE_COLUMNS):
            value = run.summary.get(self._metrics[column - len(BASE_COLUMNS)])
            # numbers sort numerically; runs without the metric (or NaN) go last
            return value if isinstance(value, (int, float)) and not math.isnan(value) else math.inf
        return self._display(run, column).lower()


class RunsFilterProxy(QSortFilterProxyModel):
    """Sorts on the raw values and matches the filter text against every column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)


class RunsPage(QWidget):
    """The Runs sub-tab. Signals:
        loaded(): a (re)load reached the table.
    """

    loaded = Signal()
    THROTTLE_MS = 750

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runs-page")
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self._loading = False
        self._stale = False

        self.model = RunsTableModel(self)
        self.proxy = RunsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("runs-filter")
        self.filter_edit.setPlaceholderText("Filter runs by name, state, user, tag…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView(self)
        self.table.setObjectName("runs-table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.error = QLabel(self)
        self.error.setObjectName("runs-error")
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)

        self._throttle = QTimer(self)
        self._throttle.setObjectName("runs-refresh")
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(self.THROTTLE_MS)
        self._throttle.timeout.connect(self.refresh)
        watcher.events_arrived.connect(self._on_events)
        self.refresh()

    def refresh(self) -> None:
        """Reload the runs now (one load at a time; a change meanwhile triggers one more)."""
        if self._loading:
            self._stale = True
            return
        self._loading = True
        db, project_id = self._ctx.db, self._project_id

        def load() -> tuple[list[e.Run], list[str]]:
            return runs.list_runs(db, project_id), runs.metric_keys(db, project_id)

        self._tasks.run(load, alive(self, self._on_loaded), alive(self, self._on_failed))

    def _on_events(self, batch: Sequence[e.Event]) -> None:
        if any(ev.type in REFRESH_EVENTS and ev.project_id == self._project_id for ev in batch):
            if not self._throttle.isActive():
                self._throttle.start()

    def _on_loaded(self, result: tuple[list[e.Run], list[str]]) -> None:
        runs_, keys = result
        self.error.hide()
        self.model.set_runs(runs_, keys)
        if not self.table.property("_sized"):
            self.table.resizeColumnsToContents()
            self.table.setProperty("_sized", bool(runs_))
        self._finish_load()
        self.loaded.emit()

    def _on_failed(self, exc: Exception) -> None:
        self.error.setText(f"Could not load the runs: {exc}")
        self.error.show()
        self._finish_load()

    def _finish_load(self) -> None:
        self._loading = False
        if self._stale:
            self._stale = False
            self._throttle.start()

    def shutdown(self) -> None:
        self._throttle.stop()
