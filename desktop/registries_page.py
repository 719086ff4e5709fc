"""The Registries tab, for now an honest placeholder listing the default registries."""
from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from desktop.context import AppContext

DEFAULT_REGISTRIES = (
    ("Model", "Trained models, promoted through aliases such as staging and production"),
    ("Dataset", "Versioned datasets that training runs consume"),
)
LATER_NOTE = (
    "Registry collections, linking artifact versions, aliases and tags, and registry "
    "automations (version linked, alias added) arrive in a later version of Runbell. "
    "Project automations on run metrics and run states work today: open a project and use "
    "its Automations tab or the bell on a plot panel."
)


class RegistriesPage(QWidget):
    """Object names: "registries-page", "registries-list", "registries-note"."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registries-page")
        self._ctx = ctx
        title = QLabel(f"<h3>Registries of team {escape(ctx.team.name)}</h3>")
        self.list = QTreeWidget()
        self.list.setObjectName("registries-list")
        self.list.setHeaderLabels(["Registry", "Holds"])
        self.list.setRootIsDecorated(False)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for name, blurb in DEFAULT_REGISTRIES:
            item = QTreeWidgetItem([name, blurb])
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            self.list.addTopLevelItem(item)
        self.list.setMaximumHeight(120)
        self.note = QLabel(LATER_NOTE)
        self.note.setObjectName("registries-note")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        layout.addStretch(1)

    def registry_names(self) -> list[str]:
        return [self.list.topLevelItem(i).text(0) for i in range(self.list.topLevelItemCount())]
