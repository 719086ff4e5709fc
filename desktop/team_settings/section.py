"""A titled Team Settings section: a read-only table, a button row and an inline message."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from desktop.page_helpers import error_label

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class Section(QGroupBox):
    def __init__(self, title: str, table_name: str, headers: Sequence[str], hint: str = "",
                 empty_text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.table = QTableWidget(0, len(headers))
        self.table.setObjectName(table_name)
        self.table.setHorizontalHeaderLabels(list(headers))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(120)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.empty = QLabel(empty_text)
        self.empty.setObjectName(f"{table_name}-empty")
        self.empty.setStyleSheet("color: #7f8790; font-style: italic;")
        self.empty.setVisible(bool(empty_text))
        self.message = error_label(f"{table_name}-message")
        self._empty_text = empty_text
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        if hint:
            note = QLabel(hint)
            note.setWordWrap(True)
            note.setStyleSheet("color: #7f8790;")
            layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        layout.addWidget(self.message)
        layout.addLayout(self.buttons)
        self._fit_height()

    def add_button(self, text: str, object_name: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(object_name)
        self.buttons.addWidget(button)
        return button

    def set_rows(self, rows: Sequence[tuple[object, Sequence[str]]]) -> None:
        """Rows of (key, cells); the selection survives when its key is still there."""
        kept = self.selected_key()
        self.table.setRowCount(len(rows))
        for r, (key, cells) in enumerate(rows):
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(ID_ROLE, key)
                self.table.setItem(r, c, item)
        self.table.clearSelection()
        for r, (key, _cells) in enumerate(rows):
            if key == kept:
                self.table.selectRow(r)
        self.empty.setVisible(not rows and bool(self._empty_text))
        self._fit_height()

    def _fit_height(self) -> None:
        """As tall as its rows (between 2 and 10 of them); the page scrolls, not each table."""
        shown = min(max(self.table.rowCount(), 2), 10)
        row = self.table.verticalHeader().defaultSectionSize()
        frame = 2 * self.table.frameWidth()
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + shown * row + frame)

    def selected_key(self) -> object | None:
        items = self.table.selectedItems()
        return items[0].data(ID_ROLE) if items else None

    def select_key(self, key: object) -> bool:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(ID_ROLE) == key:
                self.table.selectRow(r)
                return True
        return False
