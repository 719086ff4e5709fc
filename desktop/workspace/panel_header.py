"""A panel's header row: its title, the legend of its runs, the bell and the settings button.

Metric names and run names are user data: the title is plain text, elided to its share of the
row (a 200-character name must not widen the whole grid), and tooltips escape them.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QWidget

from desktop import resources
from desktop.workspace.layout import PanelSpec

TITLE_SHARE = 0.45  # of the header's width, at most, for the title


def tooltip_text(text: str) -> str:
    """`text` shown as it is in a tooltip (Qt would render a name like "<b>x</b>" as HTML)."""
    return "<p style='white-space:pre'>" + html.escape(text) + "</p>"


@dataclass(frozen=True)
class LegendEntry:
    """One line's sample in the legend: colour name, glyph (its dash) and label."""

    color: str
    glyph: str
    label: str


class PanelHeader(QWidget):
    """Signal bell_clicked(): the user asked for an alert on the panel's metric."""

    bell_clicked = Signal()

    def __init__(self, spec: PanelSpec, menu: QMenu, *, can_edit: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._can_edit = can_edit
        self._full_title = ""
        self._legend: tuple[list[LegendEntry], int, list[str]] = ([], 0, [])
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

    def set_legend(self, entries: list[LegendEntry], total: int, notes: list[str], names: list[str]) -> None:
        """The first `entries` of `total` lines, and `notes` (plain text). The row shows as
        many entries as it has room for and "+N more" for the rest, then the notes that still
        fit; the tooltip lists `names` and every note."""
        self._legend = (entries, total, notes)
        self.legend.setToolTip(tooltip_text("\n".join(names + notes)) if names or notes else "")
        self._fit_legend()

    def _fit_legend(self) -> None:
        entries, total, notes = self._legend
        metrics = self.legend.fontMetrics()
        gap = metrics.horizontalAdvance("\u00a0\u00a0 ")

        def width(text: str) -> int:
            return metrics.horizontalAdvance(text) + gap

        def more(hidden: int) -> int:
            return width(f"+{hidden} more") if hidden else 0

        room = self.legend.contentsRect().width()
        kept, left = [], room - more(total)
        for note in notes:  # the count of lines first, then the notes that fit
            if width(note) <= left:
                kept.append(note)
                left -= width(note)
        room -= sum(width(note) for note in kept)
        samples = [width(f"{e.glyph}\u00a0{e.label}") for e in entries]
        shown = next(k for k in range(len(entries), -1, -1) if sum(samples[:k]) + more(total - k) <= room or k == 0)
        parts = [f'<span style="color:{e.color}">{e.glyph}</span>&nbsp;{html.escape(e.label)}' for e in entries[:shown]]
        if total > shown:  # shorter where "+N more" has no room: "+N", then "…", then nothing
            count = f"+{total - shown}"
            fitting = next((t for t in (f"{count} more", count, "…") if width(t) <= room), None)
            if fitting:
                parts.append(fitting)
        self.legend.setText("&nbsp;&nbsp; ".join(parts + [html.escape(n) for n in kept]))

    def refresh_icons(self) -> None:
        self.bell.setIcon(resources.icon("bell"))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()
        self.layout().activate()  # the legend's new width, before fitting it
        self._fit_legend()

    def _elide(self) -> None:
        room = max(40, int(self.width() * TITLE_SHARE))
        shown = self.title.fontMetrics().elidedText(self._full_title, Qt.TextElideMode.ElideMiddle, room)
        self.title.setText(shown)
        # a fixed width the layout must honour (with an Ignored policy it gave the title none and
        # a long legend was drawn over it)
        self.title.setFixedWidth(min(room, self.title.fontMetrics().horizontalAdvance(shown) + 4))
