"""Which runs are drawn: one object shared by the workspace and the runs table."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class RunVisibility(QObject):
    """Signals:
        changed(str, bool): run id, now visible.
    """

    changed = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._hidden: set[str] = set()

    def is_visible(self, run_id: str) -> bool:
        return run_id not in self._hidden

    def set_visible(self, run_id: str, visible: bool) -> None:
        if visible == self.is_visible(run_id):
            return
        if visible:
            self._hidden.discard(run_id)
        else:
            self._hidden.add(run_id)
        self.changed.emit(run_id, visible)

    @property
    def hidden(self) -> frozenset[str]:
        return frozenset(self._hidden)
