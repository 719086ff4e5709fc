"""The Registries tab: registries → collections → linked versions table and a version's detail, plus
the registry's Automations and History tabs.

All store calls run through the TaskRunner; the page reloads when artifact or registry events arrive.
Registry viewers see everything with the changing controls disabled (the store refuses anyway).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem, QPushButton, QScrollArea,
    QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from desktop.context import AppContext
from desktop.engine import artifact_events as rules
from desktop.guard import alive
from desktop.page_helpers import Reloader, change_then_reload, confirm, error_label, show_message, user_message
from desktop.registries.automations_tab import RegistryAutomationsTab, RegistryHistoryTab
from desktop.registries.detail import VIEWER_REGISTRY_TOOLTIP, VersionDetail
from desktop.registries.manage import RegistryButtons, RegistryNameDialog
from desktop.registries.versions_model import LinkedVersionsModel
from desktop.store_watcher import StoreWatcher
from desktop.tasks import TaskRunner
from store import artifact_entities as ae
from store import artifact_events, events, registries, registry_links, runs
from store import entities as e
from store.errors import NotFound

ID_ROLE = Qt.ItemDataRole.UserRole + 1
CONFIRM_MOVE = {"production"}  # moving these off another version asks first
SUB_TABS = ("versions", "automations", "history")


@dataclass
class _Snapshot:
    registries: list[ae.Registry]
    registry_id: int | None = None
    role: str = "viewer"
    collections: list[ae.RegistryCollection] = field(default_factory=list)
    collection_id: int | None = None
    links: list[ae.LinkedVersion] = field(default_factory=list)
    run_names: dict[str, str] = field(default_factory=dict)
    asked: tuple[int | None, int | None] = (None, None)  # the wanted registry/collection it was fetched for


class RegistriesPage(QWidget):
    """Object names: "registries-page", "registries-list", "collections-list", "versions-table",
    "registry-role", "registries-message", "registry-tabs" (Versions / Automations / History),
    "registry-automation-new" (opens the automation wizard for the registry), the detail pane's (see `VersionDetail`) and the tabs' (see
    `desktop.registries.automations_tab`).

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
        self.detail.aliases.input.textChanged.connect(self._refresh_would_fire)
        self.automations_tab = RegistryAutomationsTab(ctx, self._tasks, self)
        self.history_tab = RegistryHistoryTab(ctx, self._tasks, self)
        self.new_automation = QPushButton("New automation…")
        self.new_automation.setObjectName("registry-automation-new")
        self.new_automation.clicked.connect(lambda: self.open_wizard())
        self.last_wizard: QWidget | None = None
        self.tabs = QTabWidget()
        self.tabs.setObjectName("registry-tabs")
        self.tabs.setDocumentMode(True)
        self.registry_buttons = RegistryButtons(self.new_registry, self.rename_registry, self.delete_registry)
        self._registries: list[ae.Registry] = []
        self.last_dialog: QWidget | None = None
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
        self.automations_tab.edit_requested.connect(self.open_wizard)
        self.automations_tab.reloader.loaded.connect(
            lambda: self.history_tab.set_automations(self.automations_tab.automation_ids()))
        if watcher is not None:
            watcher.events_arrived.connect(self._on_events)
        self.reloader.request(immediate=True)

    def _build_layout(self, title: QLabel) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Registries</b>"))
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.registry_buttons)
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
        versions = QSplitter(Qt.Orientation.Horizontal)
        versions.addWidget(middle)
        versions.addWidget(scroll)
        versions.setStretchFactor(0, 2)
        versions.setStretchFactor(1, 1)
        versions.setSizes([520, 320])
        for widget, label in ((versions, "Versions"), (self.automations_tab, "Automations"),
                              (self.history_tab, "History")):
            self.tabs.addTab(widget, label)
        self.tabs.setCornerWidget(self.new_automation)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([180, 840])
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
        snap.asked = (self._want_registry, self._want_collection)
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
        if snap.asked != (self._want_registry, self._want_collection):
            return  # the user navigated while it loaded; the reload already queued shows the new place
        self._want_registry, self._want_collection = snap.registry_id, snap.collection_id
        self._role = snap.role
        self._registries = snap.registries
        self.registry_buttons.update_for(self.current_registry(), snap.role, self._ctx.can_edit)
        _fill(self.list, [(r.name, r.id, r.description) for r in snap.registries], snap.registry_id)
        _fill(self.collections, [(f"{c.name}  ({c.version_count})", c.id, c.type) for c in snap.collections],
              snap.collection_id)
        self.model.set_links(snap.links, snap.run_names)
        name = next((r.name for r in snap.registries if r.id == snap.registry_id), "")
        self.role_label.setText(f"Your role in <b>{escape(name)}</b>: {snap.role}")
        self.empty.setText("" if snap.links else
                           "No linked versions yet. Link one from a training script with "
                           f"<tt>run.link_artifact(version, registry=\"{escape(name or 'Model')}\", "
                           "collection=\"…\")</tt>.")
        self.empty.setVisible(not snap.links)
        row = self.model.row_of(self._want_link) if self._want_link is not None else -1
        if row < 0 and snap.links:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._show_selected()
        self.detail.set_writable(snap.role != "viewer")
        self.automations_tab.set_registry(snap.registry_id, snap.role != "viewer")
        writable = snap.registry_id is not None and snap.role != "viewer"
        self.new_automation.setEnabled(writable)
        self.new_automation.setToolTip("Have an alias or a link in this registry call a webhook or post to Slack"
                                       if writable else VIEWER_REGISTRY_TOOLTIP)

    def _failed(self, exc: Exception) -> None:
        show_message(self.message, f"Could not load the registries: {user_message(exc)}")

    def _on_events(self, batch: list[e.Event]) -> None:
        if any(x.type in artifact_events.ARTIFACT_EVENT_TYPES for x in batch):
            self.reloader.request()
        if any(x.type in (events.AUTOMATION_CHANGED, events.EXECUTION_CHANGED) for x in batch):
            self.automations_tab.reloader.request()  # the history follows its ids
        if any(x.type == events.EXECUTION_CHANGED for x in batch):
            self.history_tab.reloader.request()

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
        self._refresh_would_fire()

    def _refresh_would_fire(self) -> None:
        link = self.detail.link
        if link is None:
            self.detail.would_fire.setText("")
            return
        db, alias = self._ctx.db, self.detail.aliases.input.text().strip()
        base = {"scope": "registry", "registry_id": link.registry_id, "collection_id": link.collection_id}
        operations = (rules.ADD_ARTIFACT_ALIAS, rules.UNLINK_ARTIFACT)
        self._tasks.run(lambda: rules.would_fire(db, base, operations, alias=alias),
                        alive(self, self.detail.show_would_fire),
                        alive(self, lambda exc: self.detail.would_fire.setText(f"Could not check: {exc}")))

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

    def show_tab(self, name: str) -> None:
        """"versions", "automations" or "history"."""
        self.tabs.setCurrentIndex(SUB_TABS.index(name))

    def show_registry(self, registry_id: int | None, collection_id: int | None = None,
                      link_id: int | None = None, tab: str = "versions") -> None:
        """Navigate to a registry (and a collection and linked version in it), e.g. from a notification."""
        if registry_id is not None:
            self._want_registry, self._want_collection, self._want_link = registry_id, collection_id, link_id
        self.show_tab(tab)
        self.reloader.request(immediate=True)

    def open_wizard(self, automation: e.Automation | None = None) -> QWidget | None:
        """The automation wizard for the selected registry, creating or editing (None for viewers)."""
        from desktop.wizard.wizard import AutomationWizard

        if self._want_registry is None or self._role == "viewer":
            return None
        wizard = AutomationWizard(self._ctx, self._tasks, None, registry_id=self._want_registry,
                                  automation=automation, parent=self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.saved.connect(lambda _saved: (self.automations_tab.reloader.request(immediate=True),
                                             self.show_tab("automations")))
        self.last_wizard = wizard
        wizard.open()
        return wizard

    def current_registry(self) -> ae.Registry | None:
        return next((r for r in self._registries if r.id == self._want_registry), None)

    # -- creating, renaming, deleting registries -----------------------------------------------

    def new_registry(self) -> RegistryNameDialog:
        dialog = RegistryNameDialog("New registry", self.registry_names(), with_description=True, parent=self)
        dialog.accepted.connect(lambda: self._create(dialog.name.text().strip(), dialog.description.text().strip()))
        return self._open(dialog)

    def rename_registry(self) -> RegistryNameDialog | None:
        registry = self.current_registry()
        if registry is None:
            return None
        dialog = RegistryNameDialog("Rename registry", self.registry_names(), current=registry.name, parent=self)
        db, username = self._ctx.db, self._ctx.user.username

        def rename() -> None:
            name = dialog.name.text().strip()  # read here, on the UI thread, before the dialog goes
            self._change(lambda: registries.rename_registry(db, registry.id, name, username=username),
                         "Could not rename the registry")

        dialog.accepted.connect(rename)
        return self._open(dialog)

    def delete_registry(self) -> QWidget | None:
        registry = self.current_registry()
        if registry is None:
            return None
        db, username = self._ctx.db, self._ctx.user.username

        def delete() -> None:
            self._want_registry = self._want_collection = self._want_link = None
            self._change(lambda: registries.delete_registry(db, registry.id, username=username),
                         "Could not delete the registry")

        self.last_dialog = confirm(
            self, object_name="registry-delete-confirm", title="Delete registry",
            text=f"Delete the registry “{registry.name}” with its collections and links?",
            details="The artifact versions in projects stay; only their links into this registry go.",
            confirm_text="Delete", on_confirm=delete)
        return self.last_dialog

    def _create(self, name: str, description: str) -> None:
        db, team_id, username = self._ctx.db, self._ctx.team.id, self._ctx.user.username

        def created(registry: ae.Registry) -> None:
            self._want_registry, self._want_collection, self._want_link = registry.id, None, None
            self.reloader.request(immediate=True)

        show_message(self.message, "")
        self._tasks.run(
            lambda: registries.create_registry(db, team_id, name, username=username, description=description),
            alive(self, created),
            alive(self, lambda exc: show_message(self.message, f"Could not create the registry: {user_message(exc)}")))

    def _open(self, dialog: QWidget) -> QWidget:
        dialog.finished.connect(dialog.deleteLater)
        self.last_dialog = dialog
        dialog.open()
        return dialog

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
