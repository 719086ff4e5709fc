"""A panel's header row: its title, the legend of its runs, the bell and the settings button.

Metric names and run names are user data: the title is plain text, elided to its share of the
row (a 200-character name must not widen the whole grid), and tooltips escape them.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QWidget

from desktop import resources
from desktop.workspace.layout import PanelSpec

TITLE_SHARE = 0.45  # of the header's width, at most, for the title


def tooltip_text(text: str) -> str:
    """`text` shown as it is in a tooltip (Qt would render a name like "<b>x</b>" as HTML)."""
    return "<p style='white-space:pre'>" + html.escape(text) + "</p>"


class PanelHeader(QWidget):
    """Signal bell_clicked(): the user asked for an alert on the panel's metric."""

    bell_clicked = Signal()

    def __init__(self, spec: PanelSpec, menu: QMenu, *, can_edit: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._can_edit = can_edit
        self._full_title = ""
        self.title = QLabel(self)
        self.title.setObjectName("panel-title")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.bell = QToolButton(self)
        self.bell.setAutoRaise(True)
        self.bell.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        policy = self.bell.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the header keeps its height when the bell hides
        self.bell.setSizePolicy(policy)
        self.bell.hide()
        self.bell.clicked.connect(self.bell_clicked)
        self.refresh_icons()

        self.menu_button = QToolButton(self)
        self.menu_button.setText("⋯")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(menu)
        self.menu_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")

        # The legend sits in the header, above the plot, so it never hides a curve.
        self.legend = QLabel(self)
        self.legend.setObjectName("panel-legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 2, 0)
        row.setSpacing(8)
        row.addWidget(self.title)
        row.addWidget(self.legend, 1)
        row.addWidget(self.bell)
        row.addWidget(self.menu_button)
        self.set_spec(spec)

    def set_spec(self, spec: PanelSpec) -> None:
        """Title, names and the bell's state for the panel's (possibly new) metric selection."""
        self._full_title = spec.title
        self.title.setToolTip(tooltip_text(spec.title))
        self.bell.setObjectName(f"bell-{spec.title}")
        self.bell.setAccessibleName(f"Create alert for {spec.title}")
        self.menu_button.setObjectName(f"panel-menu-{spec.title}")
        self.menu_button.setAccessibleName(f"Panel settings for {spec.title}")
        self.bell.setEnabled(self._can_edit and bool(spec.metric))
        if self._can_edit and spec.metric:
            self.bell.setToolTip(tooltip_text(f"Create alert for {spec.title}"))
        else:
            self.bell.setToolTip("Viewers cannot create automations" if spec.metric else
                                 "Alerts are per metric: this panel shows a pattern")
        self._elide()

    def set_legend(self, rich_text: str, names: list[str]) -> None:
        self.legend.setText(rich_text)
        self.legend.setToolTip(tooltip_text("\n".join(names)) if names else "")

    def refresh_icons(self) -> None:
        self.bell.setIcon(resources.icon("bell"))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(40, int(self.width() * TITLE_SHARE))
        shown = self.title.fontMetrics().elidedText(self._full_title, Qt.TextElideMode.ElideMiddle, room)
        self.title.setText(shown)
        # a fixed width the layout must honour (with an Ignored policy it gave the title none and
        # a long legend was drawn over it)
        self.title.setFixedWidth(min(room, self.title.fontMetrics().horizontalAdvance(shown) + 4))
