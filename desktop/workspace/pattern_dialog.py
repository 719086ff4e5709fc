"""Asks for the regular expression of a panel's metrics, checking it as it is typed.

An invalid pattern says why and cannot be accepted; a valid one lists the metrics it matches.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop.engine.regex import compile_regex

SHOWN_MATCHES = 6


def pattern_error(pattern: str) -> str:
    """Why `pattern` cannot select metrics, or "" when it can."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "Enter a regular expression, e.g. ^train/ or loss$"
    try:
        compile_regex(pattern)
    except ValueError as exc:
        return f"Not a valid regular expression: {str(exc).rsplit(': ', 1)[-1]}"
    return ""


class PatternDialog(QDialog):
    def __init__(self, title: str, metrics: Sequence[str], initial: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pattern-dialog")
        self.setWindowTitle(title)
        self._metrics = list(metrics)
        self.edit = QLineEdit(initial, self)
        self.edit.setObjectName("pattern-edit")
        self.edit.setPlaceholderText("^train/")
        self.status = QLabel(self)
        self.status.setObjectName("pattern-status")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(3 * self.status.fontMetrics().lineSpacing())  # room for an error
        self.setMinimumWidth(460)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Metrics matching (regular expression):", self))
        layout.addWidget(self.edit)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)
        self._check(initial)

    @property
    def pattern(self) -> str:
        return self.edit.text()

    def _check(self, text: str) -> None:
        error = pattern_error(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not error)
        if error:
            self.status.setText(error)
            return
        found = [m for m in self._metrics if re.search(text, m)]
        shown = ", ".join(found[:SHOWN_MATCHES]) + (f" and {len(found) - SHOWN_MATCHES} more"
                                                     if len(found) > SHOWN_MATCHES else "")
        self.status.setText(f"Matches {len(found)} metric{'s' if len(found) != 1 else ''}"
                            + (f": {shown}" if found else " yet: new metrics that match will appear"))

    def accept(self) -> None:
        if not pattern_error(self.pattern):  # Enter in the line edit comes here too
            super().accept()
