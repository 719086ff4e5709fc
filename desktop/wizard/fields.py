"""Small field helpers shared by the wizard pages: inline messages and text → value parsing."""
from __future__ import annotations

import re

from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget, QWizardPage

from desktop.alert_spec import parse_threshold
from desktop.engine.regex import compile_regex
from desktop.page_helpers import keep_room

ERROR_STYLE = "color: #c62828;"
WARN_STYLE = "color: #9a6700;"


def message_label(object_name: str, style: str = ERROR_STYLE, parent: QWidget | None = None) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(object_name)
    label.setStyleSheet(style)
    label.setWordWrap(True)
    keep_room(label)
    label.hide()
    return label


def show_problem(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


def line_edit(object_name: str, text: str = "", placeholder: str = "") -> QLineEdit:
    edit = QLineEdit(text)
    edit.setObjectName(object_name)
    edit.setPlaceholderText(placeholder)
    return edit


def combo(object_name: str, items: list[tuple[str, object]]) -> QComboBox:
    """A combo of (label, data) items."""
    box = QComboBox()
    box.setObjectName(object_name)
    for label, data in items:
        box.addItem(label, data)
    return box


def select_data(box: QComboBox, data: object) -> bool:
    index = box.findData(data)
    if index >= 0:
        box.setCurrentIndex(index)
    return index >= 0


def parse_count(text: str, what: str) -> int:
    """A window size as typed: a whole number ≥ 1."""
    text = text.strip()
    if not text:
        raise ValueError(f"enter the {what} (a number of values)")
    if not re.fullmatch(r"[+-]?[0-9]+", text):  # \d would take any script's digits
        raise ValueError(f"the {what} must be a whole number of values")
    if len(text.lstrip("+-")) > 18:
        raise ValueError(f"the {what} is far too large")
    value = int(text)
    if value <= 0:
        raise ValueError(f"the {what} must hold at least 1 value (got {value})")
    return value


def parse_number(text: str, what: str) -> int | float:
    """A finite number as typed, with the message naming the field."""
    return parse_threshold(text, what)


def check_regex(pattern: str, what: str) -> str:
    compile_regex(pattern, what)
    return pattern


def number_text(value: object) -> str:
    """A stored number back into an edit box (text kept as is, e.g. the bell's unfinished threshold)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value)


class BuildPage(QWizardPage):
    """A page that is complete when `build()` raises no ValueError (the message is its problem)."""

    def build(self) -> Any:
        raise NotImplementedError

    def problem(self) -> str | None:
        try:
            self.build()
        except ValueError as exc:
            return str(exc)
        return None

    def isComplete(self) -> bool:  # noqa: N802 (Qt override)
        return self.problem() is None
