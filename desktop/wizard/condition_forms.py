"""The condition fields of each event type, with the original's defaults (SPEC §4).

Each form builds its part of the stored `event_filter` through the engine's builders (which
validate it) and raises ValueError with a message for the user while a field is wrong.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.engine import artifact_events as art
from desktop.engine import conditions, metric_rules, run_events
from desktop.wizard.fields import (
    check_regex, combo, line_edit, number_text, parse_count, parse_number, select_data,
)

AGGREGATIONS = [("Average", "AVERAGE"), ("Min", "MIN"), ("Max", "MAX"), ("Last value", None)]
OPERATORS = [(symbol, op) for op, symbol in conditions.CMP_OPS.items()]
DIRECTIONS = [("Any direction", "ANY"), ("Increase", "INCREASE"), ("Decrease", "DECREASE")]


def _metric_part(event_filter: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    part = (event_filter.get("run_metric_filter") or {}).get(key) if isinstance(event_filter, Mapping) else None
    return part if isinstance(part, Mapping) else {}


class ConditionForm(QWidget):
    """Base: `changed` whenever a field changes; `build(metric, run_filter)`; `load(event_filter)`."""

    changed = Signal()
    needs_metric = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)

    def _watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            if isinstance(widget, QLineEdit):
                widget.textChanged.connect(self.changed)
            elif isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(self.changed)
            elif isinstance(widget, QCheckBox):
                widget.toggled.connect(self.changed)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _require(metric: str) -> None:
        if not metric.strip():
            raise ValueError("choose the metric the condition watches (the metric name is empty)")

    def load(self, event_filter: Mapping[str, Any]) -> None:
        raise NotImplementedError


class ThresholdForm(ConditionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agg = combo("wizard-agg", AGGREGATIONS)
        self.window = line_edit("wizard-window", str(conditions.DEFAULT_WINDOW))
        self.cmp = combo("wizard-cmp", OPERATORS)
        self.threshold = line_edit("wizard-threshold", placeholder="e.g. 0.9")
        row = QHBoxLayout()
        row.addWidget(self.cmp)
        row.addWidget(self.threshold, 1)
        self.form.addRow("Aggregation", self.agg)
        self.form.addRow("Window (values)", self.window)
        self.form.addRow("Condition", row)
        self.agg.currentIndexChanged.connect(lambda _i: self.window.setEnabled(self.agg.currentData() is not None))
        self._watch(self.agg, self.window, self.cmp, self.threshold)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        self._require(metric)
        agg = self.agg.currentData()
        window = parse_count(self.window.text(), "window") if agg else 1
        threshold = parse_number(self.threshold.text(), "threshold")
        return conditions.threshold_filter(metric, agg=agg, window=window, cmp=self.cmp.currentData(),
                                           threshold=threshold, run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        part = _metric_part(event_filter, "threshold_filter")
        select_data(self.agg, part.get("agg_op"))
        if part.get("agg_op"):
            self.window.setText(number_text(part.get("window_size", conditions.DEFAULT_WINDOW)))
        select_data(self.cmp, part.get("cmp_op", "$gt"))
        self.threshold.setText(number_text(part.get("threshold")))


class ChangeForm(ConditionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.agg = combo("wizard-change-agg", AGGREGATIONS)
        self.current = line_edit("wizard-current-window", str(metric_rules.DEFAULT_CURRENT_WINDOW))
        self.prior = line_edit("wizard-prior-window", str(metric_rules.DEFAULT_PRIOR_WINDOW))
        self.change_type = combo("wizard-change-type", [("Relative (0.1 = 10 %)", "RELATIVE"), ("Absolute", "ABSOLUTE")])
        self.direction = combo("wizard-change-direction", DIRECTIONS)
        self.amount = line_edit("wizard-change-amount", placeholder="e.g. 0.1")
        self.form.addRow("Aggregation", self.agg)
        self.form.addRow("Current window", self.current)
        self.form.addRow("Prior window", self.prior)
        self.form.addRow("Change", self.change_type)
        self.form.addRow("Direction", self.direction)
        self.form.addRow("At least", self.amount)
        self._watch(self.agg, self.current, self.prior, self.change_type, self.direction, self.amount)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        self._require(metric)
        current = parse_count(self.current.text(), "current window")
        prior = parse_count(self.prior.text(), "prior window")
        amount = parse_number(self.amount.text(), "change amount")
        if amount <= 0:
            raise ValueError("the change amount must be greater than 0")
        return run_events.change_filter(
            metric, amount=amount, agg=self.agg.currentData(), current_window=current, prior_window=prior,
            change_type=self.change_type.currentData(), direction=self.direction.currentData(), run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        part = _metric_part(event_filter, "change_filter")
        select_data(self.agg, part.get("agg_op", "AVERAGE"))
        self.current.setText(number_text(part.get("current_window_size", metric_rules.DEFAULT_CURRENT_WINDOW)))
        self.prior.setText(number_text(part.get("prior_window_size", metric_rules.DEFAULT_PRIOR_WINDOW)))
        select_data(self.change_type, part.get("change_type", "RELATIVE"))
        select_data(self.direction, part.get("change_dir", "ANY"))
        self.amount.setText(number_text(part.get("change_amount")))


class ZScoreForm(ConditionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = line_edit("wizard-zscore-window", str(metric_rules.DEFAULT_ZSCORE_WINDOW))
        self.threshold = line_edit("wizard-zscore-threshold", number_text(metric_rules.DEFAULT_ZSCORE_THRESHOLD))
        self.direction = combo("wizard-zscore-direction",
                               [("Either side", "ANY"), ("Above", "INCREASE"), ("Below", "DECREASE")])
        self.form.addRow("Window (values)", self.window)
        self.form.addRow("|z| at least", self.threshold)
        self.form.addRow("Direction", self.direction)
        self._watch(self.window, self.threshold, self.direction)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        self._require(metric)
        window = parse_count(self.window.text(), "window")
        threshold = parse_number(self.threshold.text(), "z-score threshold")
        if threshold <= 0:
            raise ValueError("the z-score threshold must be greater than 0")
        return run_events.zscore_filter(metric, window=window, threshold=threshold,
                                        direction=self.direction.currentData(), run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        part = _metric_part(event_filter, "zscore_filter")
        self.window.setText(number_text(part.get("window_size", metric_rules.DEFAULT_ZSCORE_WINDOW)))
        self.threshold.setText(number_text(part.get("threshold", metric_rules.DEFAULT_ZSCORE_THRESHOLD)))
        select_data(self.direction, part.get("change_dir", "ANY"))


class NanForm(ConditionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form.addRow(QLabel("Fires when the newest value is NaN or ±Inf. Leave the metric empty to watch every metric."))

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        return run_events.nan_filter(metric.strip() or None, run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        pass


class StateForm(ConditionForm):
    needs_metric = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.states = {}
        row = QHBoxLayout()
        for state in run_events.STATES:
            box = QCheckBox(state.capitalize())
            box.setObjectName(f"wizard-state-{state.lower()}")
            box.setChecked(state == "FAILED")
            self.states[state] = box
            row.addWidget(box)
            self._watch(box)
        row.addStretch(1)
        self.form.addRow("Run becomes", row)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        return run_events.state_filter([s for s, box in self.states.items() if box.isChecked()], run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        chosen = set((event_filter.get("run_state_filter") or {}).get("states") or ["FAILED"])
        for state, box in self.states.items():
            box.setChecked(state in chosen)


class StallForm(ConditionForm):
    needs_metric = False

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.minutes = line_edit("wizard-stall-minutes", "30")
        self.form.addRow("No new step for (minutes)", self.minutes)
        self._watch(self.minutes)

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        return run_events.stall_filter(parse_number(self.minutes.text(), "stall time"), run_filter=run_filter)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        self.minutes.setText(number_text((event_filter.get("run_stall_filter") or {}).get("minutes", 30)))


class ArtifactForm(ConditionForm):
    """Artifact and registry events; alias and tag events take an optional regex."""

    needs_metric = False

    def __init__(self, field: str | None, event_type: str = art.CREATE_ARTIFACT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.regex = line_edit(f"wizard-{field or 'artifact'}-regex", placeholder="empty: every " + (field or "version"))
        if field:
            self.form.addRow(f"{field.capitalize()} matches (regex)", self.regex)
            self._watch(self.regex)
        else:
            self.form.addRow(QLabel(f"Fires whenever {art.LABELS.get(event_type, 'it happens')} in the scope."))

    def build(self, metric: str, run_filter: str) -> dict[str, Any]:
        pattern = self.regex.text().strip() if self.field else ""
        if pattern:
            check_regex(pattern, f"{self.field} pattern")
        return art.scoped_filter(alias_regex=pattern if self.field == "alias" else None,
                                 tag_regex=pattern if self.field == "tag" else None)

    def load(self, event_filter: Mapping[str, Any]) -> None:
        try:
            conds = event_filter["filter"]["$or"][0]["$and"]
            self.regex.setText(str(conds[0][self.field]["$regex"]) if conds and self.field else "")
        except (KeyError, IndexError, TypeError):
            self.regex.setText("")


RUN_EVENT_LABELS = {
    run_events.RUN_METRIC: "Run metric crosses a threshold",
    run_events.RUN_METRIC_CHANGE: "Run metric changes",
    run_events.RUN_METRIC_ZSCORE: "Run metric z-score (outlier)",
    run_events.RUN_STATE: "Run state changes",
    run_events.RUN_METRIC_NAN: "Run metric is NaN/Inf",
    run_events.RUN_STALLED: "Run stalled",
}
ARTIFACT_EVENT_LABELS = {
    art.CREATE_ARTIFACT: "Artifact version created",
    art.ADD_ARTIFACT_ALIAS: "Artifact alias added",
    art.ADD_ARTIFACT_TAG: "Artifact tag added",
    art.REMOVE_ARTIFACT_TAG: "Artifact tag removed",
    art.LINK_ARTIFACT: "Artifact version linked to the registry",
    art.UNLINK_ARTIFACT: "Artifact version unlinked from the registry",
}


def make_form(event_type: str) -> ConditionForm:
    forms = {run_events.RUN_METRIC: ThresholdForm, run_events.RUN_METRIC_CHANGE: ChangeForm,
             run_events.RUN_METRIC_ZSCORE: ZScoreForm, run_events.RUN_METRIC_NAN: NanForm,
             run_events.RUN_STATE: StateForm, run_events.RUN_STALLED: StallForm}
    if event_type in forms:
        return forms[event_type]()
    return ArtifactForm(art.FIELDS.get(event_type), event_type)
