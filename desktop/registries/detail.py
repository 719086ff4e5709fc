"""The detail pane of one linked version: what it is, and its aliases, tags and unlink controls."""
from __future__ import annotations

import json
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget,
)

from desktop.page_helpers import local_time
from store import artifact_entities as ae

VIEWER_REGISTRY_TOOLTIP = "Viewers of this registry cannot change it. Ask a registry admin for the member role."


class Labels(QGroupBox):
    """A list of aliases or tags with an input to add one and a button to remove the selected one."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(f"{kind.capitalize()}es" if kind == "alias" else f"{kind.capitalize()}s", parent)
        self.list = QListWidget()
        self.list.setObjectName(f"{kind}-list")
        self.list.setMaximumHeight(90)
        self.input = QLineEdit()
        self.input.setObjectName(f"{kind}-input")
        self.input.setPlaceholderText("production" if kind == "alias" else "europe")
        self.add = QPushButton(f"Add {kind}")
        self.add.setObjectName(f"{kind}-add")
        self.remove = QPushButton(f"Remove {kind}")
        self.remove.setObjectName(f"{kind}-remove")
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.add)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignLeft)
        self.input.returnPressed.connect(self.add.click)

    def set_items(self, items: tuple[str, ...], fixed: tuple[str, ...] = ()) -> None:
        self.list.clear()
        for text in items:
            self.list.addItem(text)
            if text in fixed:
                item = self.list.item(self.list.count() - 1)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                item.setToolTip("Maintained automatically: names the newest version")

    def selected(self) -> str | None:
        items = self.list.selectedItems()
        return items[0].text() if items else None


class VersionDetail(QWidget):
    """Object names: "version-detail", "version-summary", "alias-*", "tag-*", "unlink-version".

    Signals:
        add_alias(str), remove_alias(str), add_tag(str), remove_tag(str): the user asks for it.
        unlink(): the user asks to unlink the shown version.
    """

    add_alias = Signal(str)
    remove_alias = Signal(str)
    add_tag = Signal(str)
    remove_tag = Signal(str)
    unlink = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("version-detail")
        self._link: ae.LinkedVersion | None = None
        self._writable = False
        self.summary = QLabel()
        self.summary.setObjectName("version-summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.aliases = Labels("alias")
        self.tags = Labels("tag")
        self.unlink_button = QPushButton("Unlink from collection…")
        self.unlink_button.setObjectName("unlink-version")
        self.would_fire = QLabel()
        self.would_fire.setObjectName("registry-would-fire")
        self.would_fire.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.summary)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.aliases)
        layout.addWidget(self.tags)
        layout.addWidget(self.unlink_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(QLabel("<b>Would fire</b>"))
        layout.addWidget(self.would_fire)
        layout.addStretch(1)
        self.aliases.add.clicked.connect(lambda: self._emit_input(self.aliases, self.add_alias))
        self.tags.add.clicked.connect(lambda: self._emit_input(self.tags, self.add_tag))
        self.aliases.remove.clicked.connect(lambda: self._emit_selected(self.aliases, self.remove_alias))
        self.tags.remove.clicked.connect(lambda: self._emit_selected(self.tags, self.remove_tag))
        self.aliases.list.itemSelectionChanged.connect(self._update_enabled)
        self.tags.list.itemSelectionChanged.connect(self._update_enabled)
        self.unlink_button.clicked.connect(self.unlink)
        self.set_link(None, "")

    @property
    def link(self) -> ae.LinkedVersion | None:
        return self._link

    def set_link(self, link: ae.LinkedVersion | None, run_name: str) -> None:
        self._link = link
        if link is None:
            self.summary.setText("<i>Select a version to see its details.</i>")
            self.aliases.set_items(())
            self.tags.set_items(())
        else:
            source = link.source
            metadata = "<br>".join(f"&nbsp;&nbsp;{escape(str(k))} = <tt>{escape(json.dumps(v))}</tt>"
                                   for k, v in sorted(source.metadata.items())) or "&nbsp;&nbsp;(none)"
            files = "<br>".join(f"&nbsp;&nbsp;{escape(f.path)} ({f.size:,} bytes)" for f in source.files[:8])
            self.summary.setText(
                f"<h3>{escape(link.collection_name)}:{link.version}</h3>"
                f"<b>Source</b>: {escape(source.qualified_name)} ({escape(source.artifact_type)})<br>"
                f"<b>Source run</b>: {escape(run_name or '—')}<br>"
                f"<b>Created</b>: {local_time(source.created_at)} by {escape(source.created_by or '—')}<br>"
                f"<b>Linked</b>: {local_time(link.linked_at)} by {escape(link.linked_by or '—')}<br>"
                f"<b>Digest</b>: <tt>{source.digest[:16]}…</tt> · {source.size:,} bytes<br>"
                f"<b>Files</b>:<br>{files}<br><b>Metadata</b>:<br>{metadata}"
            )
            self.aliases.set_items(link.aliases, fixed=(ae.LATEST,))
            self.tags.set_items(link.tags)
        self._update_enabled()

    def show_would_fire(self, lines: list[tuple[str, str]]) -> None:
        """The registry automations each operation on this version would fire."""
        self.would_fire.setText("<br>".join(f"When {escape(op)}: <b>{escape(name)}</b>" for op, name in lines)
                                or "<i>No enabled automation of this registry would fire.</i>")

    def set_writable(self, writable: bool) -> None:
        self._writable = writable
        self._update_enabled()

    def _update_enabled(self) -> None:
        shown = self._link is not None
        tip = "" if self._writable else VIEWER_REGISTRY_TOOLTIP
        controls = {
            self.aliases.add: shown, self.aliases.input: shown, self.tags.add: shown, self.tags.input: shown,
            self.aliases.remove: shown and self.aliases.selected() is not None,
            self.tags.remove: shown and self.tags.selected() is not None,
            self.unlink_button: shown,
        }
        for widget, usable in controls.items():
            widget.setEnabled(usable and self._writable)
            widget.setToolTip(tip)

    def _emit_input(self, labels: Labels, signal: Signal) -> None:
        text = labels.input.text().strip()
        if text and self._link is not None and self._writable:
            signal.emit(text)
            labels.input.clear()

    def _emit_selected(self, labels: Labels, signal: Signal) -> None:
        text = labels.selected()
        if text and self._link is not None and self._writable:
            signal.emit(text)
