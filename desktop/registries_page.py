"""The Registries tab: registries → collections → linked versions table, and a version's detail.

All store calls run through the TaskRunner; the page reloads when artifact or registry events arrive.
Registry viewers see everything with the changing controls disabled (the store refuses anyway).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem, QScrollArea,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.page_helpers import Reloader, change_then_reload, confirm, error_label, show_message, user_message
from desktop.registries.detail import VersionDetail
from desktop.registries.versions_model import LinkedVersionsModel
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import artifact_entities as ae
from store import artifact_events, registries, registry_links, runs
from store import entities as e
from store.errors import NotFound

ID_ROLE = Qt.ItemDataRole.UserRole + 1
CONFIRM_MOVE = {"production"}  # moving these off another version asks first


@dataclass
class _Snapshot:
    registries: list[ae.Registry]
    registry_id: int | None = None
    role: str = "viewer"
    collections: list[ae.RegistryCollection] = field(default_factory=list)
    collection_id: int | None = None
    links: list[ae.LinkedVersion] = field(default_factory=list)
    run_names: dict[str, str] = field(default_factory=dict)


class RegistriesPage(QWidget):
    """Object names: "registries-page", "registries-list", "collections-list", "versions-table",
    "registry-role", "registries-message", and the detail pane's (see `VersionDetail`).

    Signals: none; `reloader.loaded` fires after each refresh.
    """

    def __init__(self, ctx: AppContext, parent: QWidget | None = None, *,
                 tasks: TaskRunner | None = None, watcher: StoreWatcher | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("registries-page")
        self._ctx = ctx
        self._tasks = tasks if tasks is not None else TaskRunner(self)
        self._want_registry: int | None = None
        self._want_collection: int | None = None
        self._want_link: int | None = None
        self._role = "viewer"

        title = QLabel(f"<h3>Registries of team {escape(ctx.team.name)}</h3>")
        self.role_label = QLabel()
        self.role_label.setObjectName("registry-role")
        self.message = error_label("registries-message")
        self.list = QListWidget()
        self.list.setObjectName("registries-list")
        self.collections = QListWidget()
        self.collections.setObjectName("collections-list")
        self.model = LinkedVersionsModel(self)
        self.table = QTableView()
        self.table.setObjectName("versions-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.empty = QLabel()
        self.empty.setObjectName("versions-empty")
        self.empty.setWordWrap(True)
        self.detail = VersionDetail()
        self._build_layout(title)

        self.reloader = Reloader(self._tasks, self._fetch, self._apply, self._failed, parent=self)
        self.list.currentItemChanged.connect(self._registry_chosen)
        self.collections.currentItemChanged.connect(self._collection_chosen)
        self.table.selectionModel().selectionChanged.connect(self._version_chosen)
        self.detail.add_alias.connect(self.add_alias)
        self.detail.remove_alias.connect(self.remove_alias)
        self.detail.add_tag.connect(self.add_tag)
        self.detail.remove_tag.connect(self.remove_tag)
        self.detail.unlink.connect(self.unlink_selected)
        if watcher is not None:
            watcher.events_arrived.connect(self._on_events)
        self.reloader.request(immediate=True)

    def _build_layout(self, title: QLabel) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Registries</b>"))
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(QLabel("<b>Collections</b>"))
        left_layout.addWidget(self.collections, 2)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(QLabel("<b>Linked versions</b>"))
        middle_layout.addWidget(self.table, 1)
        middle_layout.addWidget(self.empty)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.detail)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget, stretch in ((left, 0), (middle, 2), (scroll, 1)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([180, 520, 320])
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.role_label)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

    # -- loading ------------------------------------------------------------------------------

    def _fetch(self) -> _Snapshot:
        db, username = self._ctx.db, self._ctx.user.username
        snap = _Snapshot(registries.list_registries(db, self._ctx.team.id))
        ids = [r.id for r in snap.registries]
        snap.registry_id = self._want_registry if self._want_registry in ids else (ids[0] if ids else None)
        if snap.registry_id is None:
            return snap
        snap.role = registries.registry_role(db, snap.registry_id, username)
        snap.collections = registry_links.list_collections(db, snap.registry_id)
        ids = [c.id for c in snap.collections]
        snap.collection_id = self._want_collection if self._want_collection in ids else (ids[0] if ids else None)
        if snap.collection_id is not None:
            snap.links = registry_links.list_linked_versions(db, snap.collection_id)
        for run_id in {x.source.run_id for x in snap.links if x.source.run_id}:
            try:
                snap.run_names[run_id] = runs.get_run(db, run_id).name
            except NotFound:
                pass
        return snap

    def _apply(self, snap: _Snapshot) -> None:
        self._want_registry, self._want_collection = snap.registry_id, snap.collection_id
        self._role = snap.role
        _fill(self.list, [(r.name, r.id, r.description) for r in snap.registries], snap.registry_id)
        _fill(self.collections, [(f"{c.name}  ({c.version_count})", c.id, c.type) for c in snap.collections],
              snap.collection_id)
        self.model.set_links(snap.links, snap.run_names)
        name = next((r.name for r in snap.registries if r.id == snap.registry_id), "")
        self.role_label.setText(f"Your role in <b>{escape(name)}</b>: {snap.role}")
        self.empty.setText("" if snap.links else
                           "No linked versions yet. Link one from a training script with "
                           "<tt>run.link_artifact(version, registry=\"Model\", collection=\"…\")</tt>.")
        self.empty.setVisible(not snap.links)
        row = self.model.row_of(self._want_link) if self._want_link is not None else -1
        if row < 0 and snap.links:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._show_selected()
        self.detail.set_writable(snap.role != "viewer")

    def _failed(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the registries: {user_message(exc)}")

    def _on_events(self, batch: list[e.Event]) -> None:
        if any(x.type in artifact_events.ARTIFACT_EVENT_TYPES for x in batch):
            self.reloader.request()

    def _registry_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(ID_ROLE) != self._want_registry:
            self._want_registry, self._want_collection, self._want_link = item.data(ID_ROLE), None, None
            self.reloader.request(immediate=True)

    def _collection_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(ID_ROLE) != self._want_collection:
            self._want_collection, self._want_link = item.data(ID_ROLE), None
            self.reloader.request(immediate=True)

    def _version_chosen(self, *_: object) -> None:
        link = self.selected_link()
        if link is not None:
            self._want_link = link.id
        self._show_selected()

    def _show_selected(self) -> None:
        link = self.selected_link()
        self.detail.set_link(link, self.model.run_name(link.source.run_id) if link else "")

    # -- queries used by tests and actions ----------------------------------------------------

    def selected_link(self) -> ae.LinkedVersion | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.link(rows[0].row()) if rows else None

    def registry_names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def select_registry(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                self.list.setCurrentRow(i)

    # -- changes ------------------------------------------------------------------------------

    def _change(self, change: Callable[[], object], failure: str) -> None:
        show_message(self.message, "")
        change_then_reload(self, self._tasks, change, self.reloader, self.message, failure)

    def add_alias(self, alias: str) -> None:
        link = self.selected_link()
        if link is None or self._role == "viewer":
            return
        db, username = self._ctx.db, self._ctx.user.username

        def apply() -> None:
            self._change(lambda: registry_links.add_alias(db, link.id, alias, username=username),
                         f"Could not add alias {alias!r}")

        holder = next((x for x in self.model.links() if alias in x.aliases and x.id != link.id), None)
        if holder is not None and alias in CONFIRM_MOVE:
            confirm(self, object_name="confirm-move-alias", title=f"Move {alias}?",
                    text=f"Move '{alias}' from {link.collection_name}:{holder.version} to {link.version}?",
                    details=f"{holder.version} stops being '{alias}'. Automations on alias changes will fire.",
                    confirm_text=f"Move {alias}", on_confirm=apply)
        else:
            apply()

    def remove_alias(self, alias: str) -> None:
        self._change_selected(registry_links.remove_alias, alias, f"Could not remove alias {alias!r}")

    def add_tag(self, tag: str) -> None:
        self._change_selected(registry_links.add_tag, tag, f"Could not add tag {tag!r}")

    def remove_tag(self, tag: str) -> None:
        self._change_selected(registry_links.remove_tag, tag, f"Could not remove tag {tag!r}")

    def _change_selected(self, store_call: Callable[..., object], label: str, failure: str) -> None:
        """`store_call(db, link_id, label, username=...)` on the selected version, unless a viewer."""
        link = self.selected_link()
        if link is not None and self._role != "viewer":
            db, username = self._ctx.db, self._ctx.user.username
            self._change(lambda: store_call(db, link.id, label, username=username), failure)

    def unlink_selected(self) -> None:
        link = self.selected_link()
        if link is None or self._role == "viewer":
            return
        db, username = self._ctx.db, self._ctx.user.username
        confirm(self, object_name="confirm-unlink", title="Unlink version?",
                text=f"Unlink {link.collection_name}:{link.version} ({link.source.qualified_name})?",
                details="The project version stays; only its place in this collection goes.",
                confirm_text="Unlink",
                on_confirm=lambda: self._change(lambda: registry_links.unlink(db, link.id, username=username),
                                                "Could not unlink the version"))


def _fill(widget: QListWidget, rows: list[tuple[str, int, str]], current: int | None) -> None:
    """Replace the items keeping signals quiet, then select the item with id `current`."""
    widget.blockSignals(True)
    try:
        widget.clear()
        for text, item_id, tip in rows:
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, item_id)
            item.setToolTip(tip)
            widget.addItem(item)
            if item_id == current:
                widget.setCurrentItem(item)
    finally:
        widget.blockSignals(False)
