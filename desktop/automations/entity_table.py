"""Base of the Automations page's table models: a list of store entities (each with an `id`)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

#: What Qt passes as a model index.
Index = QModelIndex | QPersistentModelIndex


class EntityTableModel(QAbstractTableModel):
    """One row per entity in `_rows`, one column per name in `headers` (set by the subclass).

    `data` answers `entity_role` with the entity itself and the display role with `_display`;
    a subclass answers the other roles in `_role_data`.
    """

    headers: tuple[str, ...] = ()
    entity_role: int = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def row_of(self, entity_id: int) -> int:
        """The row showing the entity with this id, or -1."""
        return next((i for i, x in enumerate(self._rows) if x.id == entity_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entity = self._rows[index.row()]
        if role == self.entity_role:
            return entity
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(entity, index.row(), index.column())
        return self._role_data(entity, index.row(), index.column(), role)

    def _display(self, entity: Any, row: int, col: int) -> str | None:
        raise NotImplementedError

    def _role_data(self, entity: Any, row: int, col: int, role: int) -> Any:
        return None
