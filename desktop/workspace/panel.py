"""One metric's plot panel: every run's curve, a legend, threshold lines and a bell on hover."""
from __future__ import annotations

import html
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QEnterEvent, QFocusEvent, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from desktop import resources
from desktop.automations.summary import CMP_SYMBOLS
from desktop.workspace.loading import Threshold

# Distinct, colour-blind-friendly enough on light and dark backgrounds.
RUN_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#86bcb6",
)
THRESHOLD_COLOR = "#d62728"
LEGEND_MAX = 4  # runs named in a panel's header; the tooltip lists them all


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


class StepAxis(pg.AxisItem):
    """The x axis of steps: whole numbers only (no 0.2, 0.4 … ticks when zoomed in)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size) if spacing >= 1]
        return levels or [(1.0, 0.0)]


def run_color(index: int) -> QColor:
    """The colour of the run registered `index`-th in the project (stable across panels)."""
    return QColor(RUN_COLORS[index % len(RUN_COLORS)])


class MetricPanel(QFrame):
    """Signals:
        bell_clicked(str): the user asked for an alert on this panel's metric.
    """

    bell_clicked = Signal(str)

    def __init__(self, metric: str, *, can_edit: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metric_name = metric
        self.setObjectName(f"panel-{metric}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setMinimumHeight(260)
        self._lines: list[pg.InfiniteLine] = []
        self._thresholds: list[Threshold] = []

        title = QLabel(metric, self)
        title.setObjectName("panel-title")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.bell = QToolButton(self)
        self.bell.setObjectName(f"bell-{metric}")
        self.bell.setIcon(resources.icon("bell"))
        self.bell.setAutoRaise(True)
        self.bell.setAccessibleName(f"Create alert for {metric}")
        self.bell.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        if can_edit:
            self.bell.setToolTip(f"Create alert for {metric}")
        else:
            self.bell.setEnabled(False)
            self.bell.setToolTip("Viewers cannot create automations")
        policy = self.bell.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the header keeps its height when the bell hides
        self.bell.setSizePolicy(policy)
        self.bell.hide()
        self.bell.clicked.connect(self._on_bell)

        # The legend sits in the header, above the plot, so it never hides a curve.
        self.legend_label = QLabel(self)
        self.legend_label.setObjectName("panel-legend")
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.legend_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.legend_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._legend: list[tuple[str, QColor]] = []

        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 2, 0)
        header.setSpacing(8)
        header.addWidget(title)
        header.addWidget(self.legend_label, 1)
        header.addWidget(self.bell)

        self.plot = pg.PlotWidget(self, axisItems={"bottom": StepAxis("bottom")})
        self.plot.setObjectName(f"plot-{metric}")
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._style_plot()
        item = self.plot.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.showGrid(x=True, y=True, alpha=0.15)
        item.setLabel("bottom", "step")
        # Steps are counts: never "step (x0.001)" or "(x1e+06)" SI scaling on the axis.
        item.getAxis("bottom").enableAutoSIPrefix(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

    # -- curves and lines -------------------------------------------------------------------

    def add_curve(self, label: str, color: QColor) -> pg.PlotDataItem:
        self._legend.append((label, color))
        self._update_legend()
        return self.plot.plot([], [], name=label, pen=pg.mkPen(color, width=1.6), antialias=True, symbol=None,
                              symbolSize=6, symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color))

    def set_thresholds(self, thresholds: Sequence[Threshold]) -> None:
        """Replace the dashed line of every automation on this metric."""
        self._thresholds = list(thresholds)
        item = self.plot.getPlotItem()
        for line in self._lines:
            item.removeItem(line)
        self._lines = []
        for threshold in thresholds:
            symbol = CMP_SYMBOLS.get(threshold.cmp_op, threshold.cmp_op)
            line = pg.InfiniteLine(
                pos=threshold.value, angle=0, movable=False,
                pen=pg.mkPen(THRESHOLD_COLOR, width=1.4, style=Qt.PenStyle.DashLine),
                label=f"{threshold.name}  ({symbol} {threshold.value:g})",
                # under the line, on a translucent plate: stays inside the view when the line is at
                # the top edge, and readable over curves
                labelOpts={"position": 0.02, "color": THRESHOLD_COLOR, "anchors": [(0, 0), (0, 0)],
                           "fill": self._palette_color(QPalette.ColorRole.Base, alpha=190)},
            )
            line.setToolTip(f"Automation “{threshold.name}”")
            item.addItem(line)  # counts for auto-range, so the line is in view even far from the data
            self._lines.append(line)

    @property
    def threshold_lines(self) -> list[pg.InfiniteLine]:
        return list(self._lines)

    def legend_entries(self) -> list[str]:
        return [label for label, _color in self._legend]

    def _update_legend(self) -> None:
        shown = self._legend[:LEGEND_MAX]
        parts = [
            f'<span style="color:{color.name()}">&#9644;</span>&nbsp;{html.escape(_short(label))}'
            for label, color in shown
        ]
        if len(self._legend) > LEGEND_MAX:
            parts.append(f"+{len(self._legend) - LEGEND_MAX} more")
        self.legend_label.setText("&nbsp;&nbsp; ".join(parts))
        self.legend_label.setToolTip("\n".join(label for label, _color in self._legend))

    # -- bell on hover or keyboard focus ----------------------------------------------------

    def enterEvent(self, event: QEnterEvent) -> None:
        self.bell.show()
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if not (self.hasFocus() or self.bell.hasFocus()):
            self.bell.hide()
        super().leaveEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.bell.show()
        super().focusInEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: ANN001 - QKeyEvent
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space) and self.bell.isEnabled():
            self._on_bell()
            return
        super().keyPressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "plot"):  # OS switched light/dark
            self._style_plot()
            self.bell.setIcon(resources.icon("bell"))
            self.set_thresholds(self._thresholds)
        super().changeEvent(event)

    def _on_bell(self) -> None:
        self.bell_clicked.emit(self.metric_name)

    # -- looks --------------------------------------------------------------------------------

    def _palette_color(self, role: QPalette.ColorRole, alpha: int = 255) -> QColor:
        color = QColor(self.palette().color(role))
        color.setAlpha(alpha)
        return color

    def _style_plot(self) -> None:
        """Follow the window's light/dark palette instead of pyqtgraph's black default."""
        self.plot.setBackground(self._palette_color(QPalette.ColorRole.Base))
        text = self._palette_color(QPalette.ColorRole.Text)
        axis_pen = pg.mkPen(self._palette_color(QPalette.ColorRole.Text, alpha=140))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(axis_pen)
            axis.setTextPen(text)
