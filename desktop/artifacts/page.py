"""Project → Artifacts: collections → versions (version, aliases, tags, created, source run,
metadata), alias and tag changes (moving `production` asks first), "Link to registry…", and a
"Would fire" pane listing the enabled automations each operation on the selected version would fire.

Every store call runs through the TaskRunner.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QLabel,
    QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
    QWidget,
)

from desktop.context import AppContext
from desktop.engine import artifact_events as rules
from desktop.guard import alive
from desktop.page_helpers import Reloader, change_then_reload, confirm, error_label, local_time, show_message, user_message
from desktop.registries.detail import Labels
from desktop.registries.versions_model import HEADERS, metadata_summary
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import artifact_entities as ae
from store import artifact_events, artifacts, registries, registry_links, runs
from store import entities as e
from store.errors import NotFound

CONFIRM_MOVE = {"production"}
OPERATIONS = (rules.CREATE_ARTIFACT, rules.ADD_ARTIFACT_ALIAS, rules.ADD_ARTIFACT_TAG, rules.REMOVE_ARTIFACT_TAG)


@dataclass
class _Snapshot:
    collections: list[ae.Artifact]
    collection_id: int | None = None
    versions: list[ae.ArtifactVersion] = field(default_factory=list)
    run_names: dict[str, str] = field(default_factory=dict)
    registries: list[ae.Registry] = field(default_factory=list)


VIEWER_TOOLTIP = "Viewers of this team cannot change aliases or tags, or link versions"


def would_fire(db, version: ae.ArtifactVersion, alias: str = "", tag: str = "") -> list[tuple[str, str]]:
    """What each operation on a project version would fire."""
    base = {"scope": "project", "project_id": version.project_id, "collection_id": version.artifact_id}
    return rules.would_fire(db, base, OPERATIONS, alias=alias, tag=tag)


class LinkDialog(QDialog):
    """Registry + collection name. Object names: "link-registry", "link-collection"."""

    def __init__(self, names: list[tuple[str, int]], default: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Link to registry")
        self.registry = QComboBox()
        self.registry.setObjectName("link-registry")
        for name, registry_id in names:
            self.registry.addItem(name, registry_id)
        self.collection = QLineEdit(default)
        self.collection.setObjectName("link-collection")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Registry", self.registry)
        form.addRow("Collection", self.collection)
        form.addRow(buttons)


class ArtifactsPage(QWidget):
    """Object names: "artifacts-page", "artifact-collections", "artifact-versions", "artifact-detail",
    "alias-*", "tag-*", "link-to-registry", "would-fire", "artifacts-message"."""

    def __init__(self, ctx: AppContext, tasks: TaskRunner, watcher: StoreWatcher | None, project_id: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("artifacts-page")
        self._ctx, self._tasks, self._project_id = ctx, tasks, project_id
        self._want_collection: int | None = None
        self._snap = _Snapshot([])
        self.message = error_label("artifacts-message")
        self.collections = QListWidget()
        self.collections.setObjectName("artifact-collections")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("artifact-versions")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel()
        self.summary.setObjectName("artifact-detail")
        self.summary.setWordWrap(True)
        self.aliases, self.tags = Labels("alias"), Labels("tag")
        self.link_button = QPushButton("Link to registry…")
        self.link_button.setObjectName("link-to-registry")
        self.fire = QLabel()
        self.fire.setObjectName("would-fire")
        self.fire.setWordWrap(True)
        self._layout()
        self.reloader = Reloader(tasks, self._fetch, self._apply, self._failed, parent=self)
        self.collections.currentItemChanged.connect(self._collection_chosen)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.aliases.add.clicked.connect(lambda: self.add_alias(self.aliases.input.text().strip()))
        self.aliases.remove.clicked.connect(lambda: self._change_label(artifacts.remove_alias, self.aliases))
        self.tags.add.clicked.connect(lambda: self._change_label(artifacts.add_tag, self.tags, typed=True))
        self.tags.remove.clicked.connect(lambda: self._change_label(artifacts.remove_tag, self.tags))
        self.aliases.input.textChanged.connect(self._refresh_fire)
        self.tags.input.textChanged.connect(self._refresh_fire)
        self.link_button.clicked.connect(self.open_link_dialog)
        if watcher is not None:
            watcher.events_arrived.connect(self._on_events)
        self.reloader.request(immediate=True)

    def _layout(self) -> None:
        right = QWidget()
        side = QVBoxLayout(right)
        side.addWidget(self.summary)
        side.addWidget(self.aliases)
        side.addWidget(self.tags)
        side.addWidget(self.link_button, 0, Qt.AlignmentFlag.AlignLeft)
        side.addWidget(QLabel("<b>Would fire</b>"))
        side.addWidget(self.fire)
        side.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.collections, self.table, right):
            splitter.addWidget(widget)
        splitter.setSizes([170, 560, 330])
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # -- loading ------------------------------------------------------------------------------

    def _fetch(self) -> _Snapshot:
        db = self._ctx.db
        snap = _Snapshot(artifacts.list_artifacts(db, self._project_id))
        ids = [c.id for c in snap.collections]
        snap.collection_id = self._want_collection if self._want_collection in ids else (ids[0] if ids else None)
        if snap.collection_id is not None:
            snap.versions = artifacts.list_versions(db, snap.collection_id)
        for run_id in {v.run_id for v in snap.versions if v.run_id}:
            try:
                snap.run_names[run_id] = runs.get_run(db, run_id).name
            except NotFound:
                pass
        username = self._ctx.user.username  # only the registries this user may link into
        snap.registries = [r for r in registries.list_registries(db, self._ctx.team.id)
                           if registries.can_write(db, r.id, username)]
        return snap

    def _apply(self, snap: _Snapshot) -> None:
        keep = self.selected_version()
        self._snap, self._want_collection = snap, snap.collection_id
        self.collections.blockSignals(True)
        self.collections.clear()
        for c in snap.collections:
            item = QListWidgetItem(f"{c.name}  ({c.version_count})")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            self.collections.addItem(item)
            if c.id == snap.collection_id:
                self.collections.setCurrentItem(item)
        self.collections.blockSignals(False)
        self.table.setRowCount(len(snap.versions))
        for row, v in enumerate(snap.versions):
            cells = (v.version, ", ".join(v.aliases), ", ".join(v.tags), local_time(v.created_at),
                     snap.run_names.get(v.run_id or "", v.run_id or ""), metadata_summary(v.metadata))
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        ids = [v.id for v in snap.versions]
        row = ids.index(keep.id) if keep is not None and keep.id in ids else (0 if ids else -1)
        if row >= 0:
            self.table.selectRow(row)
        self._show_selected()

    def _failed(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the artifacts: {user_message(exc)}")

    def _on_events(self, batch: list[e.Event]) -> None:
        if any(x.type in artifact_events.ARTIFACT_EVENT_TYPES for x in batch):
            self.reloader.request()

    def _collection_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(Qt.ItemDataRole.UserRole) != self._want_collection:
            self._want_collection = item.data(Qt.ItemDataRole.UserRole)
            self.reloader.request(immediate=True)

    def selected_version(self) -> ae.ArtifactVersion | None:
        rows = self.table.selectionModel().selectedRows()
        return self._snap.versions[rows[0].row()] if rows and rows[0].row() < len(self._snap.versions) else None

    def _show_selected(self) -> None:
        v = self.selected_version()
        for widget in (self.aliases, self.tags, self.link_button):
            widget.setEnabled(v is not None and self._ctx.can_edit)
            widget.setToolTip("" if self._ctx.can_edit else VIEWER_TOOLTIP)
        if self._ctx.can_edit and not self._snap.registries:
            self.link_button.setEnabled(False)
            self.link_button.setToolTip("You can link only into registries where you are a member or admin")
        if v is None:
            self.summary.setText("<i>Select a version.</i>")
            self.aliases.set_items(())
            self.tags.set_items(())
            self.fire.setText("")
            return
        self.summary.setText(
            f"<h3>{escape(v.artifact_name)}:{v.version}</h3><b>Type</b>: {escape(v.artifact_type)}<br>"
            f"<b>Created</b>: {local_time(v.created_at)} by {escape(v.created_by or '—')}<br>"
            f"<b>Source run</b>: {escape(self._snap.run_names.get(v.run_id or '', v.run_id or '—'))}<br>"
            f"<b>Metadata</b>: <tt>{escape(metadata_summary(v.metadata, 200))}</tt>")
        self.aliases.set_items(v.aliases, fixed=(ae.LATEST,))
        self.tags.set_items(v.tags)
        self._refresh_fire()

    def _refresh_fire(self) -> None:
        v = self.selected_version()
        if v is None:
            return
        db, alias, tag = self._ctx.db, self.aliases.input.text().strip(), self.tags.input.text().strip()
        self._tasks.run(lambda: would_fire(db, v, alias, tag), self._show_fire,
                        lambda exc: self.fire.setText(f"Could not check: {escape(user_message(exc))}"))

    def _show_fire(self, lines: list[tuple[str, str]]) -> None:
        self.fire.setText("<br>".join(f"When {escape(op)}: <b>{escape(name)}</b>" for op, name in lines)
                          or "<i>No enabled automation of this project would fire.</i>")

    # -- changes ------------------------------------------------------------------------------

    def _change(self, change: Callable[[], object], failure: str) -> None:
        show_message(self.message, "")
        change_then_reload(self, self._tasks, change, self.reloader, self.message, failure)

    def add_alias(self, alias: str) -> None:
        v = self.selected_version()
        if v is None or not alias or not self._ctx.can_edit:
            return
        db, username = self._ctx.db, self._ctx.user.username

        def apply() -> None:
            self.aliases.input.clear()
            self._change(lambda: artifacts.add_alias(db, v.id, alias, username=username),
                         f"Could not add alias {alias!r}")

        holder = next((x for x in self._snap.versions if alias in x.aliases and x.id != v.id), None)
        if holder is not None and alias in CONFIRM_MOVE:
            confirm(self, object_name="confirm-move-alias", title=f"Move {alias}?",
                    text=f"Move '{alias}' from {v.artifact_name}:{holder.version} to {v.version}?",
                    details=f"{holder.version} stops being '{alias}'. Automations on alias changes will fire.",
                    confirm_text=f"Move {alias}", on_confirm=apply)
        else:
            apply()

    def _change_label(self, store_call: Callable[..., object], labels: Labels, typed: bool = False) -> None:
        v = self.selected_version()
        text = labels.input.text().strip() if typed else (labels.selected() or "")
        if v is None or not text or not self._ctx.can_edit:
            return
        db, username = self._ctx.db, self._ctx.user.username

        def done(_: object) -> None:  # what was typed stays until it is stored: a refusal loses nothing
            if typed:
                labels.input.clear()
            self.reloader.request(immediate=True)

        show_message(self.message, "")
        self._tasks.run(lambda: store_call(db, v.id, text, username=username), alive(self, done),
                        alive(self, lambda exc: show_message(self.message, f"Could not change {text!r}: "
                                                                           f"{user_message(exc)}")))

    def open_link_dialog(self) -> LinkDialog | None:
        v = self.selected_version()
        if v is None or not self._ctx.can_edit:
            return None
        dialog = LinkDialog([(r.name, r.id) for r in self._snap.registries], v.artifact_name, self)
        dialog.accepted.connect(lambda: self.link(v, dialog.registry.currentData(), dialog.collection.text().strip()))
        dialog.open()
        return dialog

    def link(self, v: ae.ArtifactVersion, registry_id: int, collection: str) -> None:
        db, username = self._ctx.db, self._ctx.user.username
        self._change(lambda: registry_links.link_version(db, v.id, registry_id, collection, username=username),
                     "Could not link the version")
