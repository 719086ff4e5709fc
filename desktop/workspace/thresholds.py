"""Automation threshold lines on a panel: one dashed line per threshold value.

Several automations often share a value (three alerts at 0.5): they share one line whose label
lists them, grouped by comparison, instead of three labels drawn over each other.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor

from desktop.engine.conditions import CMP_OPS
from desktop.guard import alive
from desktop.tasks import TaskRunner
from desktop.workspace import loading
from desktop.workspace.loading import Threshold
from desktop.workspace.panel_header import tooltip_text
from store.db import Database

log = logging.getLogger("runbell.workspace")

THRESHOLD_COLOR = "#d62728"
NAMES_PER_LABEL = 3  # automations named on one line's label; the tooltip lists them all


LINE_Z = -1  # over the grid (z -99 in the view box), under the runs' lines (z 0): data first


def threshold_label(thresholds: Sequence[Threshold]) -> str:
    """The label of one line: 'a, b  (> 0.5)  ·  c  (≤ 0.5)', names in order, few per label."""
    by_op: dict[str, list[str]] = {}
    for threshold in thresholds:
        by_op.setdefault(CMP_OPS.get(threshold.cmp_op, threshold.cmp_op), []).append(threshold.name)
    value = thresholds[0].value
    parts = []
    for symbol, names in by_op.items():
        shown = ", ".join(names[:NAMES_PER_LABEL])
        if len(names) > NAMES_PER_LABEL:
            shown += f" +{len(names) - NAMES_PER_LABEL}"
        parts.append(f"{shown}  ({symbol} {value:g})")
    return "  ·  ".join(parts)


def threshold_lines(plot: pg.PlotItem, thresholds: Sequence[Threshold], plate: QColor, *,
                    log_y: bool = False) -> list[pg.InfiniteLine]:
    """Add one line per distinct threshold value to `plot` and return them (lowest value first).

    On a log axis a line sits at log10(value); a threshold at or below zero has no place there.
    """
    by_value: dict[float, list[Threshold]] = {}
    for threshold in thresholds:
        if not log_y or threshold.value > 0:
            by_value.setdefault(threshold.value, []).append(threshold)
    lines = []
    for value in sorted(by_value):
        group = by_value[value]
        line = pg.InfiniteLine(
            pos=math.log10(value) if log_y else value, angle=0, movable=False,
            pen=pg.mkPen(THRESHOLD_COLOR, width=1.4, style=Qt.PenStyle.DashLine),
            # the label is a format string to pyqtgraph: braces in a name must not be fields
            label=threshold_label(group).replace("{", "{{").replace("}", "}}"),
            # under the line, on a translucent plate: stays inside the view when the line is at
            # the top edge, and readable over the grid; the curves are drawn over both
            labelOpts={"position": 0.02, "color": THRESHOLD_COLOR, "anchors": [(0, 0), (0, 0)], "fill": plate},
        )
        line.setToolTip(tooltip_text("\n".join(f"Automation “{t.name}”" for t in group)))
        plot.addItem(line)  # counts for auto-range, so the line is in view even far from the data
        line.setZValue(LINE_Z)
        lines.append(line)
    return lines


class ThresholdSource(QObject):
    """The project's threshold lines, re-read in the background on `reload()` (an automation
    was saved or an `automation_changed` event arrived). Signal changed(list[Threshold])."""

    changed = Signal(list)

    def __init__(self, db: Database, tasks: TaskRunner, project_id: int, parent: QObject) -> None:
        super().__init__(parent)
        self._db = db
        self._tasks = tasks
        self._project_id = project_id

    def reload(self, *_args: object) -> None:
        db, project_id = self._db, self._project_id
        self._tasks.run(lambda: loading.load_thresholds(db, project_id), alive(self, self.changed.emit),
                        alive(self, self._failed))

    def _failed(self, exc: Exception) -> None:
        log.warning("could not load the automations' thresholds: %s", exc)
