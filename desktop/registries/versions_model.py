"""Table model over the linked versions of one registry collection, newest first."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from desktop.automations.entity_table import EntityTableModel
from desktop.page_helpers import local_time
from store import artifact_entities as ae

VERSION, ALIASES, TAGS, CREATED, SOURCE_RUN, METADATA = range(6)
HEADERS = ("Version", "Aliases", "Tags", "Created", "Source run", "Metadata")
LINK_ROLE = Qt.ItemDataRole.UserRole + 1


def metadata_summary(metadata: Mapping[str, Any], limit: int = 80) -> str:
    text = ", ".join(f"{k}={json.dumps(v)}" for k, v in metadata.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LinkedVersionsModel(EntityTableModel):
    headers = HEADERS
    entity_role = LINK_ROLE

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._run_names: Mapping[str, str] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_links(self, links: Sequence[ae.LinkedVersion], run_names: Mapping[str, str]) -> None:
        self.beginResetModel()
        self._rows = list(links)
        self._run_names = dict(run_names)
        self.endResetModel()

    def link(self, row: int) -> ae.LinkedVersion:
        return self._rows[row]

    def links(self) -> list[ae.LinkedVersion]:
        return list(self._rows)

    def run_name(self, run_id: str | None) -> str:
        if not run_id:
            return ""
        return self._run_names.get(run_id, run_id)

    def _display(self, x: ae.LinkedVersion, row: int, col: int) -> str:
        if col == VERSION:
            return x.version
        if col == ALIASES:
            return ", ".join(x.aliases)
        if col == TAGS:
            return ", ".join(x.tags)
        if col == CREATED:
            return local_time(x.source.created_at)
        if col == SOURCE_RUN:
            return self.run_name(x.source.run_id)
        if col == METADATA:
            return metadata_summary(x.source.metadata)
        return ""

    def _role_data(self, x: ae.LinkedVersion, row: int, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole and col == ALIASES and "production" in x.aliases:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == METADATA:
                return json.dumps(x.source.metadata, indent=2)
            if col == VERSION:
                return f"linked from {x.source.qualified_name} by {x.linked_by or 'unknown'}"
        return None
