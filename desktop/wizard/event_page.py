"""Wizard step 1: scope, event type, condition fields, the run filter and the preview.

Object names: "wizard-event-page", "wizard-event-type", "wizard-metric", "wizard-event-error",
"wizard-run-filter" (group) with "wizard-filter-user", "wizard-filter-name", "wizard-filter-tags";
the scope fields are named in scope_picker.py, the condition fields in condition_forms.py, the
preview in preview.py.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QLabel, QSizePolicy, QStackedWidget, QVBoxLayout, QWidget,
)

from desktop.engine import run_events
from desktop.engine import run_filter as run_filters
from desktop.tasks import TaskRunner
from desktop.wizard.condition_forms import ARTIFACT_EVENT_LABELS, RUN_EVENT_LABELS, ConditionForm, make_form
from desktop.wizard.fields import BuildPage, check_regex, line_edit, message_label, select_data, show_problem
from desktop.wizard.preview import PreviewPanel
from desktop.wizard.scope_picker import PROJECT, ScopePicker
from store.db import Database

EVENT_LABELS = {**RUN_EVENT_LABELS, **ARTIFACT_EVENT_LABELS}


class EventPage(BuildPage):
    def __init__(self, project_label: str | None, parent: QWidget | None = None) -> None:
        """`project_label` None: opened for a registry (no project scope)."""
        super().__init__(parent)
        self.setObjectName("wizard-event-page")
        self.setTitle("Event")
        self.setSubTitle("When should the automation fire?")
        self.scope_picker = ScopePicker(project_label, self)
        self.event_type = QComboBox()
        self.event_type.setObjectName("wizard-event-type")
        for kind, label in EVENT_LABELS.items():
            self.event_type.addItem(label, kind)
        self.preview: PreviewPanel | None = None
        self._preview_source: tuple[Database, int, Callable[[], int]] | None = None
        self.metric = QComboBox()
        self.metric.setObjectName("wizard-metric")
        self.metric.setEditable(True)
        self.metric.lineEdit().setPlaceholderText("e.g. val/acc")
        self.metric_label = QLabel("Metric")
        self.forms: dict[str, ConditionForm] = {}
        self.stack = QStackedWidget()
        for i in range(self.event_type.count()):
            kind = self.event_type.itemData(i)
            form = make_form(kind)
            form.changed.connect(self._revalidate)
            self.forms[kind] = form
            self.stack.addWidget(form)
        self.error = message_label("wizard-event-error")

        self.run_filter_box = QGroupBox("Only runs that match (all optional)")
        self.run_filter_box.setObjectName("wizard-run-filter")
        self.user = line_edit("wizard-filter-user", placeholder="username")
        self.name_regex = line_edit("wizard-filter-name", placeholder="run-name regex, e.g. ^exp-")
        self.tags = line_edit("wizard-filter-tags", placeholder="comma-separated, all required")
        self.raw_filter_note = QLabel()
        self.raw_filter_note.setWordWrap(True)
        self.raw_filter_note.hide()
        runs = QFormLayout(self.run_filter_box)
        runs.addRow("User", self.user)
        runs.addRow("Run name", self.name_regex)
        runs.addRow("Tags", self.tags)
        runs.addRow(self.raw_filter_note)
        self._raw_run_filter: str | None = None

        top = QFormLayout()
        self.scope_picker.add_rows(top)
        top.addRow("Event", self.event_type)
        top.addRow(self.metric_label, self.metric)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        condition = QGroupBox("Condition")
        QVBoxLayout(condition).addWidget(self.stack)
        layout.addWidget(condition)
        layout.addWidget(self.error)
        layout.addWidget(self.run_filter_box)
        self._layout = layout
        layout.addStretch(1)

        self.scope_picker.changed.connect(self._on_scope_changed)
        self.event_type.currentIndexChanged.connect(self._on_type_changed)
        self.metric.currentTextChanged.connect(self._revalidate)
        for edit in (self.user, self.name_regex, self.tags):
            edit.textChanged.connect(self._revalidate)
        self._on_scope_changed()

    def attach_preview(self, tasks: TaskRunner, db: Database, project_id: int, cooldown: Callable[[], int]) -> None:
        """Show the preview for run-metric events (`cooldown()`: the automation's, in seconds)."""
        self.preview = PreviewPanel(tasks)
        self._preview_source = (db, project_id, cooldown)
        self._layout.insertWidget(self._layout.indexOf(self.run_filter_box) + 1, self.preview)
        self._revalidate()

    def refresh_preview(self) -> None:
        self._update_preview(self._try_build())

    # -- state ------------------------------------------------------------------------------------
    def current_type(self) -> str:
        return self.event_type.currentData()

    def set_metrics(self, metrics: list[str]) -> None:
        text = self.metric.currentText()
        self.metric.blockSignals(True)
        self.metric.clear()
        self.metric.addItems(metrics)
        self.metric.setEditText(text)
        self.metric.blockSignals(False)

    def scope_type(self) -> str:
        return self.scope_picker.scope_type()

    def load(self, event_type: str, event_filter: Mapping[str, Any], scope_type: str | None = None) -> None:
        """Show a stored (or carried-over) event; unknown types keep the default."""
        event_filter = event_filter or {}
        if scope_type is not None:
            self.scope_picker.load(scope_type, event_filter.get("scope"))
        if not select_data(self.event_type, event_type):
            return
        for key in ("threshold_filter", "change_filter", "zscore_filter", "nan_filter"):
            part = (event_filter.get("run_metric_filter") or {}).get(key)
            if isinstance(part, Mapping):
                self.metric.setEditText(str(part.get("name") or ""))
        self.forms[event_type].load(event_filter)
        self._load_run_filter(event_filter.get("run_filter"))
        self._revalidate()

    def _load_run_filter(self, text: Any) -> None:
        try:
            parts = run_filters.split(text) if isinstance(text, str) else (None, None, ())
        except ValueError:
            parts = None
        if parts is None:  # more than the three fields can show: keep it exactly as stored
            self._raw_run_filter = str(text)
            self.raw_filter_note.setText(f"Kept as stored: {text}")
            self.raw_filter_note.show()
            for edit in (self.user, self.name_regex, self.tags):
                edit.setEnabled(False)
            return
        username, name_regex, tags = parts
        self.user.setText(username or "")
        self.name_regex.setText(name_regex or "")
        self.tags.setText(", ".join(tags))

    # -- validation -------------------------------------------------------------------------------
    def _on_scope_changed(self) -> None:
        """Offer only the events the scope allows; keep the chosen one when it is still allowed."""
        allowed = self.scope_picker.allowed_events()
        current = self.current_type()
        self.event_type.blockSignals(True)
        self.event_type.clear()
        for kind in allowed:
            self.event_type.addItem(EVENT_LABELS[kind], kind)
        select_data(self.event_type, current if current in allowed else allowed[0])
        self.event_type.blockSignals(False)
        self._on_type_changed()

    def _on_type_changed(self) -> None:
        kind = self.current_type()
        form = self.forms[kind]
        self.stack.setCurrentWidget(form)
        for other in self.forms.values():  # the stack as tall as the shown form, not the tallest
            policy = QSizePolicy.Policy.Preferred if other is form else QSizePolicy.Policy.Ignored
            other.setSizePolicy(policy, policy)
        self.stack.adjustSize()
        self.metric.setVisible(form.needs_metric)
        self.metric_label.setVisible(form.needs_metric)
        self.run_filter_box.setVisible(kind in run_events.RUN_EVENTS)
        self._revalidate()

    def run_filter(self) -> str:
        if self._raw_run_filter is not None:
            return self._raw_run_filter
        name_regex = self.name_regex.text().strip()
        if name_regex:
            check_regex(name_regex, "run-name pattern")
        tags = [t.strip() for t in self.tags.text().split(",") if t.strip()]
        return run_filters.build(username=self.user.text().strip() or None, name_regex=name_regex or None, tags=tags)

    def build(self) -> tuple[str, dict[str, Any]]:
        """(event_type, event_filter); ValueError says what is wrong."""
        kind = self.current_type()
        form = self.forms[kind]
        run_filter = self.run_filter() if kind in run_events.RUN_EVENTS else run_filters.MATCH_ALL
        metric = self.metric.currentText().strip() if form.needs_metric else ""
        event_filter = form.build(metric, run_filter)
        if kind not in run_events.RUN_EVENTS:
            event_filter = {**event_filter, "scope": self.scope_picker.scope_ids()}
        elif self.scope_type() != PROJECT:
            raise ValueError("run events exist only at project scope")
        return kind, event_filter

    def _try_build(self) -> tuple[str, dict[str, Any]] | None:
        try:
            return self.build()
        except ValueError:
            return None

    def _revalidate(self) -> None:
        problem = self.problem()
        show_problem(self.error, problem)
        self.completeChanged.emit()
        if self.preview is not None:
            self._update_preview(None if problem else self._try_build())

    def _update_preview(self, built: tuple[str, dict[str, Any]] | None) -> None:
        if self.preview is None or self._preview_source is None:
            return
        metric_event = self.current_type() in run_events.METRIC_EVENTS
        self.preview.setVisible(metric_event)
        if not metric_event:
            return
        if built is None:
            self.preview.clear("Complete the condition to see where it would have fired.")
            return
        db, project_id, cooldown = self._preview_source
        self.preview.request(db, project_id, built[0], built[1], cooldown())
