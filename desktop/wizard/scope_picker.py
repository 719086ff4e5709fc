"""The Event page's scope: the project, a registry, or one collection of a registry.

Which events each scope allows follows the engine (artifact_events.SCOPES): run events and the
project's artifact events at project scope; alias, link and unlink events for a registry or one of
its collections. Registry and collection ids are stored in `event_filter["scope"]`.

Object names: "wizard-scope", "wizard-registry", "wizard-collection".
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFormLayout, QLabel

from desktop.engine import artifact_events as art
from desktop.engine import run_events
from desktop.wizard.fields import combo, select_data
from store import artifact_entities as ae

PROJECT, REGISTRY, COLLECTION = "project", "registry", "collection"
SCOPE_LABELS = {PROJECT: "Project", REGISTRY: "Registry", COLLECTION: "Registry collection"}
PROJECT_ARTIFACT_EVENTS = (art.CREATE_ARTIFACT, art.ADD_ARTIFACT_ALIAS, art.ADD_ARTIFACT_TAG, art.REMOVE_ARTIFACT_TAG)
REGISTRY_EVENTS = (art.ADD_ARTIFACT_ALIAS, art.LINK_ARTIFACT, art.UNLINK_ARTIFACT)
EVENTS_BY_SCOPE = {PROJECT: (*run_events.RUN_EVENTS, *PROJECT_ARTIFACT_EVENTS),
                   REGISTRY: REGISTRY_EVENTS, COLLECTION: REGISTRY_EVENTS}


class ScopePicker(QObject):
    """The scope fields, shown as rows of the Event page's form (`add_rows`); `changed` on any choice."""

    changed = Signal()

    def __init__(self, project_label: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        scopes = [(SCOPE_LABELS[s], s) for s in (PROJECT, REGISTRY, COLLECTION) if s != PROJECT or project_label]
        self.scope = combo("wizard-scope", scopes)
        self.project_label = QLabel(project_label or "")
        self.project_label.setObjectName("wizard-scope-project")
        self.registry = combo("wizard-registry", [])
        self.collection = combo("wizard-collection", [])
        self._collections: dict[int, list[ae.RegistryCollection]] = {}
        self._wanted: dict[str, Any] = {}
        self._form: QFormLayout | None = None
        self.scope.currentIndexChanged.connect(self._on_scope)
        self.registry.currentIndexChanged.connect(self._on_registry)
        self.collection.currentIndexChanged.connect(self.changed)
        self._on_scope()

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow("Scope", self.scope)
        form.addRow("Project", self.project_label)
        form.addRow("Registry", self.registry)
        form.addRow("Collection", self.collection)
        self._form = form
        self._on_scope()

    # -- state ------------------------------------------------------------------------------------
    def scope_type(self) -> str:
        return self.scope.currentData()

    def allowed_events(self) -> tuple[str, ...]:
        return EVENTS_BY_SCOPE[self.scope_type()]

    def set_project_label(self, text: str) -> None:
        self.project_label.setText(text)

    def set_registries(self, registries: list[ae.Registry], collections: Mapping[int, list[ae.RegistryCollection]]) -> None:
        self._collections = {k: list(v) for k, v in collections.items()}
        self.registry.blockSignals(True)
        self.registry.clear()
        for registry in registries:
            self.registry.addItem(registry.name, registry.id)
        self.registry.blockSignals(False)
        wanted = self._wanted.get("registry_id")
        if wanted is not None and not select_data(self.registry, wanted):
            self.registry.addItem(f"registry #{wanted} (missing)", wanted)
            select_data(self.registry, wanted)
        self._on_registry()

    def load(self, scope_type: str | None, scope: Mapping[str, Any] | None) -> None:
        """Show a stored scope (the registry lists may arrive later)."""
        self._wanted = dict(scope or {}) if isinstance(scope, Mapping) else {}
        select_data(self.scope, scope_type or PROJECT)
        if self._wanted.get("registry_id") is not None:
            select_data(self.registry, self._wanted["registry_id"])
        if self._wanted.get("collection_id") is not None:
            select_data(self.collection, self._wanted["collection_id"])

    def scope_ids(self) -> dict[str, int]:
        """The stored `scope` object; ValueError while a registry or collection is missing."""
        kind = self.scope_type()
        if kind == PROJECT:
            return {}
        registry_id = self.registry.currentData()
        if registry_id is None:
            raise ValueError("choose a registry (create one on the Registries page)")
        if kind == REGISTRY:
            return {"registry_id": registry_id}
        collection_id = self.collection.currentData()
        if collection_id is None:
            raise ValueError("choose a collection of the registry (this registry has none yet)")
        return {"registry_id": registry_id, "collection_id": collection_id}

    # -- reactions --------------------------------------------------------------------------------
    def _on_scope(self) -> None:
        kind = self.scope_type()
        if self._form is not None:
            self._form.setRowVisible(self.project_label, kind == PROJECT)
            self._form.setRowVisible(self.registry, kind != PROJECT)
            self._form.setRowVisible(self.collection, kind == COLLECTION)
        self.changed.emit()

    def _on_registry(self) -> None:
        self.collection.blockSignals(True)
        self.collection.clear()
        for collection in self._collections.get(self.registry.currentData(), []):
            self.collection.addItem(collection.name, collection.id)
        wanted = self._wanted.get("collection_id")
        if wanted is not None and self._wanted.get("registry_id") == self.registry.currentData():
            if not select_data(self.collection, wanted):
                self.collection.addItem(f"collection #{wanted} (missing)", wanted)
                select_data(self.collection, wanted)
        self.collection.blockSignals(False)
        self.changed.emit()
