"""The scrollable grid the workspace's panels sit in: two per row, a wide panel on a row of its own."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QGridLayout, QScrollArea, QWidget

from desktop.workspace.panel import MetricPanel

COLUMNS = 2


class PanelGrid(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspace-scroll")
        self.host = QWidget(self)  # the panels' parent
        self._grid = QGridLayout(self.host)
        self._grid.setContentsMargins(8, 8, 8, 8)
        self._grid.setSpacing(8)
        for column in range(COLUMNS):
            self._grid.setColumnStretch(column, 1)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setWidget(self.host)

    def arrange(self, panels: Sequence[MetricPanel]) -> None:
        """Place `panels` in this order."""
        for panel in panels:
            self._grid.removeWidget(panel)
        row = column = 0
        for panel in panels:
            if panel.spec.wide and column:
                row, column = row + 1, 0
            span = COLUMNS if panel.spec.wide else 1
            self._grid.addWidget(panel, row, column, 1, span)
            column += span
            if column >= COLUMNS:
                row, column = row + 1, 0

    def remove(self, panel: MetricPanel) -> None:
        self._grid.removeWidget(panel)
        panel.deleteLater()
