"""The project's Runs sub-tab: a filter box, a column chooser and the runs table, refreshed live.

The model (`runs_model.py`) filters, sorts and fetches lazily; this page wires it to the view,
the store and the user's column choice (saved per project).
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from PySide6.QtCore import QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QTableView, QToolButton, QVBoxLayout,
    QWidget,
)

from desktop.context import AppContext
from desktop.guard import alive
from desktop.runs_model import (  # noqa: F401 - re-exported for callers and tests
    BASE_COLUMNS, BATCH, CREATED, NAME, RUN_ID_ROLE, RunsTableModel, format_duration, format_value, run_duration,
)
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from desktop.workspace.layout import project_settings_key
from desktop.workspace.visibility import RunVisibility
from store import entities as e
from store import events, runs

DEFAULT_METRIC_COLUMNS = 3  # metric columns shown until the user chooses
REFRESH_EVENTS = (events.RUN_CREATED, events.RUN_STATE, events.METRICS)


def columns_key(db_url: str, project_id: int) -> str:
    return project_settings_key("runs-columns", db_url, project_id)


class RunsPage(QWidget):
    """The Runs sub-tab. Signals:
        loaded(): a (re)load reached the table.
    """

    loaded = Signal()
    THROTTLE_MS = 750

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher, project_id: int,
        parent: QWidget | None = None, *, visibility: RunVisibility | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runs-page")
        self._ctx = ctx
        self._tasks = tasks
        self._project_id = project_id
        self._loading = False
        self._stale = False
        self._columns_key = columns_key(ctx.db.url, project_id)
        self._choice = self._load_choice()  # {"hidden": [...], "shown": [...]} by column name

        self.visibility = visibility or RunVisibility(self)
        self.model = RunsTableModel(self, visibility=self.visibility)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("runs-filter")
        self.filter_edit.setPlaceholderText("Filter runs by name, state, user, tag…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.model.set_filter)
        self.columns_button = QToolButton(self)
        self.columns_button.setObjectName("runs-columns")
        self.columns_button.setText("Columns")
        self.columns_button.setAccessibleName("Choose the table's columns")
        self.columns_button.clicked.connect(
            lambda: self._columns_menu().exec(self.columns_button.mapToGlobal(QPoint(0, self.columns_button.height()))))
        self.count_label = QLabel(self)
        self.count_label.setObjectName("runs-count")

        self.table = QTableView(self)
        self.table.setObjectName("runs-table")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(lambda pos: self._columns_menu().exec(header.mapToGlobal(pos)))
        self.model.modelReset.connect(self._after_reset)
        self.model.rowsInserted.connect(self._update_count)

        self.error = QLabel(self)
        self.error.setObjectName("runs-error")
        self.error.setStyleSheet("color: #c62828;")
        self.error.hide()

        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.columns_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)

        self._throttle = QTimer(self)
        self._throttle.setObjectName("runs-refresh")
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(self.THROTTLE_MS)
        self._throttle.timeout.connect(self.refresh)
        watcher.events_arrived.connect(self._on_events)
        self.refresh()

    # -- loading --------------------------------------------------------------------------------

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
        if not self.table.property("_sized") and runs_:
            self.table.resizeColumnsToContents()
            self.table.setProperty("_sized", True)
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

    # -- columns --------------------------------------------------------------------------------

    def column_names(self) -> list[str]:
        return [str(self.model.headerData(c, Qt.Orientation.Horizontal)) for c in range(self.model.columnCount())]

    def is_column_shown(self, name: str) -> bool:
        if name == BASE_COLUMNS[NAME]:
            return True
        if name in self._choice["hidden"]:
            return False
        if name in BASE_COLUMNS or name in self._choice["shown"]:
            return True
        metrics = self.model.metric_columns
        return name in metrics[:DEFAULT_METRIC_COLUMNS] and not self._choice["shown"]

    def set_column_shown(self, name: str, shown: bool) -> None:
        """Show or hide a column by its header (the Name column always stays)."""
        if name == BASE_COLUMNS[NAME]:
            return
        if not self._choice["shown"]:  # the first choice freezes the default metric columns
            self._choice["shown"] = [m for m in self.model.metric_columns[:DEFAULT_METRIC_COLUMNS]]
        hidden, chosen = set(self._choice["hidden"]), set(self._choice["shown"])
        (chosen.add if shown else chosen.discard)(name)
        (hidden.discard if shown else hidden.add)(name)
        self._choice = {"hidden": sorted(hidden), "shown": sorted(chosen)}
        settings = QSettings()
        settings.setValue(self._columns_key, json.dumps(self._choice))
        settings.sync()
        self._apply_columns()

    def _columns_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName("runs-columns-menu")
        for name in self.column_names():
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(self.is_column_shown(name))
            action.setEnabled(name != BASE_COLUMNS[NAME])
            action.toggled.connect(lambda on, n=name: self.set_column_shown(n, on))
        return menu

    def _load_choice(self) -> dict[str, list[str]]:
        try:
            data = json.loads(str(QSettings().value(self._columns_key) or "{}"))
            return {"hidden": list(data.get("hidden", [])), "shown": list(data.get("shown", []))}
        except (ValueError, TypeError, AttributeError):
            return {"hidden": [], "shown": []}

    def _apply_columns(self) -> None:
        for column, name in enumerate(self.column_names()):
            self.table.setColumnHidden(column, not self.is_column_shown(name))

    def _after_reset(self) -> None:
        self._apply_columns()
        self._update_count()

    def _update_count(self, *_args: object) -> None:
        total = self.model.total_rows
        self.count_label.setText(f"{total:,} run" + ("" if total == 1 else "s"))
