"""The webhook payload editor: `${variable}` completion and the payload rendered with a sample event.

Object names: "wizard-payload" (the editor), "wizard-payload-completer" (its popup list).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QFontDatabase, QKeyEvent, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QWidget

from desktop.engine import templating

_OPEN_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_.\-]*)$")
_SAMPLES: dict[str, Any] = {
    "event_author": "alice", "entity_name": "acme", "project_name": "digits",
    "automation_name": "val/acc above 0.9", "run_name": "brisk-sun-12", "run_id": "0ro45k91",
    "metric_name": "val/acc", "metric_value": 0.93, "metric_values": [0.91, 0.92, 0.93, 0.94, 0.95],
    "metric_filter": "AVERAGE(val/acc) over 5 > 0.9", "metric_filter_short": "AVERAGE(val/acc) > 0.9",
    "metric_current_status": True, "comparison_op": ">", "threshold": 0.9, "step": 1200,
    "prior_value": 0.8, "change": 0.1625, "zscore": 3.4, "mean": 0.71, "std": 0.065, "run_status": "failed",
    "stalled_minutes": 30, "artifact_collection_name": "digits-model",
    "artifact_version": "runbell-artifact://acme/digits/digits-model:v3",
    "artifact_version_string": "acme/digits/digits-model:v3", "artifact_version_index": 3,
    "alias": "production", "tag": "candidate", "artifact_metadata.accuracy": 0.95,
}


def sample_variables(event_type: str, secret_names: Iterable[str] = ()) -> dict[str, Any]:
    """Variables of a made-up event of this type; secrets appear masked."""
    names = templating.VARIABLES_BY_EVENT.get(event_type, templating.RUN_METRIC_VARIABLES)
    out: dict[str, Any] = {n: _SAMPLES.get(n, "") for n in names if not n.endswith(".*")}
    out["event_type"] = event_type
    if "run_url" in names:
        out["run_url"] = templating.run_url(out.get("project_name", ""), out.get("run_id", ""))
    if "artifact_metadata.*" in names:
        out["artifact_metadata.accuracy"] = _SAMPLES["artifact_metadata.accuracy"]
    out.update(templating.masked([templating.ACCESS_TOKEN, *secret_names]))
    return out


def render_sample(template: str, event_type: str, secret_names: Iterable[str] = ()) -> tuple[str, str | None]:
    """(the rendered payload, pretty-printed when valid; the JSON problem or None)."""
    rendered = templating.render_json(template, sample_variables(event_type, secret_names))
    try:
        return json.dumps(templating.loads_strict(rendered), indent=2, ensure_ascii=False), None
    except json.JSONDecodeError as exc:
        return rendered, f"not valid JSON after rendering: {exc.msg} (line {exc.lineno}, column {exc.colno})"


class PayloadEdit(QPlainTextEdit):
    """A monospace editor that offers the event's variable names after `${`."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("wizard-payload")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._model = QStringListModel(self)
        self.completer = QCompleter(self._model, self)
        self.completer.setWidget(self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.popup().setObjectName("wizard-payload-completer")
        self.completer.activated.connect(self._insert)

    def set_variables(self, names: Iterable[str]) -> None:
        self._model.setStringList(list(names))

    def variables(self) -> list[str]:
        return self._model.stringList()

    def _open_prefix(self) -> str | None:
        """The partial name after an unclosed `${` just before the cursor, else None."""
        cursor = self.textCursor()
        line = cursor.block().text()[: cursor.positionInBlock()]
        match = _OPEN_VARIABLE.search(line)
        return match.group(1) if match else None

    def _insert(self, name: str) -> None:
        prefix = self._open_prefix()
        cursor = self.textCursor()
        if prefix is None:
            return
        closed = self._closed_after()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix))
        cursor.insertText(name + ("" if closed else "}"))
        if closed:
            cursor.movePosition(QTextCursor.MoveOperation.Right)
        self.setTextCursor(cursor)

    def _closed_after(self) -> bool:
        cursor = self.textCursor()
        rest = cursor.block().text()[cursor.positionInBlock():]
        return rest.startswith("}")

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        popup = self.completer.popup()
        if popup.isVisible() and event.key() in (Qt.Key.Key_Enter, Qt.Key.Key_Return, Qt.Key.Key_Escape,
                                                 Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            event.ignore()  # the completer takes these
            return
        super().keyPressEvent(event)
        self.update_completion()

    def update_completion(self) -> None:
        """Show, narrow or hide the completion list for the text before the cursor."""
        prefix = self._open_prefix()
        popup = self.completer.popup()
        if prefix is None or not self.variables():
            popup.hide()
            return
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 12)
        self.completer.complete(rect)
