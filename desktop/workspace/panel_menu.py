"""A panel's "⋯" settings menu: x axis, log y, smoothing, y range, metrics, size, order."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu

from desktop.workspace.axes import X_LABELS

if TYPE_CHECKING:
    from desktop.workspace.panel import MetricPanel

SMOOTHING_CHOICES = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)


def build_menu(panel: MetricPanel) -> QMenu:
    spec = panel.spec
    menu = QMenu(panel)
    x_menu = menu.addMenu("X axis")
    group = QActionGroup(x_menu)
    for mode, label in X_LABELS.items():
        action = x_menu.addAction(label, lambda m=mode: panel.set_x_mode(m))
        action.setCheckable(True)
        action.setChecked(mode == spec.x_mode)
        group.addAction(action)
    log_action = menu.addAction("Log scale (Y)")
    log_action.setCheckable(True)
    log_action.setChecked(spec.log_y)
    log_action.toggled.connect(panel.set_log_y)
    s_menu = menu.addMenu("Smoothing (EMA)")
    s_group = QActionGroup(s_menu)
    for weight in SMOOTHING_CHOICES:
        action = s_menu.addAction("Off" if weight == 0 else f"{weight:g}", lambda w=weight: panel.set_smoothing(w))
        action.setCheckable(True)
        action.setChecked(weight == spec.smoothing)
        s_group.addAction(action)
    menu.addAction("Fit to data (double-click)", panel.fit_view)
    menu.addAction("Y range: automatic", lambda: panel.set_y_range(None))
    robust = menu.addAction("Ignore outliers in automatic Y range")
    robust.setCheckable(True)
    robust.setChecked(spec.robust_y)
    robust.toggled.connect(panel.set_robust_y)
    menu.addAction("Y range: fix to current view", panel.fix_y_range)
    menu.addSeparator()
    menu.addAction("Metrics (regex)…", panel.ask_pattern)
    wide = menu.addAction("Wide")
    wide.setCheckable(True)
    wide.setChecked(spec.wide)
    wide.toggled.connect(panel.set_wide)
    menu.addAction("Move left", lambda: panel.move_requested.emit(-1))
    menu.addAction("Move right", lambda: panel.move_requested.emit(1))
    menu.addAction("Remove panel", panel.remove_requested.emit)
    return menu
