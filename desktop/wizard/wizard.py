"""`AutomationWizard`: one QWizard that creates an automation or edits one (Event → Action → Details).

Editing sends only the fields the user changed: a page whose built value equals what it showed when
it opened leaves the stored field untouched, byte for byte (case C1).

Object name "automation-wizard". Signals: ready() once integrations, names and metrics are loaded;
saved(store.entities.Automation) after the store call succeeded (the wizard then closes).

Opened for a project (`project_id`) it offers every scope; opened for a registry (`project_id=None,
registry_id=...`) it offers the registry and its collections only. Registry and collection
automations are stored with `project_id` None.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from desktop.context import AppContext
from desktop.engine import artifact_events, run_events
from desktop.engine.settings import load_settings
from desktop.guard import alive
from desktop.tasks import TaskRunner
from desktop.wizard.action_page import ActionPage
from desktop.wizard.details_page import DetailsPage
from desktop.wizard.event_page import EventPage
from desktop.wizard.scope_picker import PROJECT, REGISTRY
from store import artifact_entities as ae
from store import automations, integrations, registries, registry_automations, registry_links, runs, secrets, teams
from store import entities as e
from store.errors import StoreError

log = logging.getLogger("runbell.wizard")


@dataclass(frozen=True)
class _Choices:
    project_name: str
    metrics: list[str]
    slack: list[e.Integration]
    webhooks: list[e.Integration]
    names: set[str]
    registries: list[ae.Registry]
    collections: dict[int, list[ae.RegistryCollection]]
    secret_names: list[str]


def _load(ctx: AppContext, project_id: int | None) -> _Choices:
    db, team_id = ctx.db, ctx.team.id
    project = next((p for p in teams.list_projects(db, team_id) if p.id == project_id), None)
    found = registries.list_registries(db, team_id)
    return _Choices(
        project_name=project.name if project else f"#{project_id}",
        metrics=sorted(runs.metric_keys(db, project_id)) if project_id is not None else [],
        slack=integrations.list_integrations(db, team_id, "slack"),
        webhooks=integrations.list_integrations(db, team_id, "webhook"),
        names={a.name for a in automations.list_automations(db, team_id=team_id)},
        registries=found,
        collections={r.id: registry_links.list_collections(db, r.id) for r in found},
        secret_names=[x.name for x in secrets.list_secrets(db, team_id)],
    )


class AutomationWizard(QWizard):
    ready = Signal()
    saved = Signal(object)

    def __init__(
        self, ctx: AppContext, tasks: TaskRunner, project_id: int | None = None, *, registry_id: int | None = None,
        automation: e.Automation | None = None, initial: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("automation-wizard")
        self.setWindowTitle(f"Edit automation “{automation.name}”" if automation else "New automation")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Save" if automation else "Create")
        self._ctx, self._tasks, self._project_id = ctx, tasks, project_id
        self.automation = automation
        self._saving = False
        self._loaded = False
        self.event_page = EventPage("(loading…)" if project_id is not None else None)
        self.action_page = ActionPage(self.event_page.current_type)
        self.details_page = DetailsPage(self._suggest_name, ctx.can_edit)
        for page in (self.event_page, self.action_page, self.details_page):
            self.addPage(page)
        self.resize(680, 760)
        source: Mapping[str, Any] = _fields(automation) if automation else dict(initial or {})
        if registry_id is not None and not source.get("scope_type"):
            self.event_page.scope_picker.load(REGISTRY, {"registry_id": registry_id})
        if source.get("event_type"):
            self.event_page.load(source["event_type"], source.get("event_filter") or {}, source.get("scope_type"))
        if source.get("action_type"):
            self.action_page.load(source["action_type"], source.get("action_config") or {})
        self.details_page.name.setText(str(source.get("name") or ""))
        self.details_page.description.setPlainText(str(source.get("description") or ""))
        self.details_page.enabled.setChecked(bool(source.get("enabled", True)))
        cooldown = source["cooldown_seconds"] if "cooldown_seconds" in source else load_settings().default_cooldown_seconds
        self.details_page.cooldown.setValue(int(cooldown) // 60)
        self._event_baseline: Any = None
        self._action_baseline: Any = None
        self._cooldown_baseline = self.details_page.cooldown.value()
        if project_id is not None:
            self.event_page.attach_preview(tasks, ctx.db, project_id, lambda: self.details_page.cooldown.value() * 60)
            self.details_page.cooldown.valueChanged.connect(self.event_page.refresh_preview)
        tasks.run(lambda: _load(ctx, project_id), alive(self, self._on_loaded), alive(self, self._on_load_failed))

    # -- loading ----------------------------------------------------------------------------------
    @staticmethod
    def _try(build: Any) -> Any:
        try:
            return build()
        except ValueError:
            return None

    def _on_loaded(self, choices: _Choices) -> None:
        self.event_page.scope_picker.set_project_label(choices.project_name)
        self.event_page.scope_picker.set_registries(choices.registries, choices.collections)
        self.event_page.set_metrics(choices.metrics)
        self.action_page.set_team_secrets(choices.secret_names)
        self.action_page.set_integrations(choices.slack, choices.webhooks)
        own = self.automation.name if self.automation else None
        self.details_page.set_taken({n for n in choices.names if n != own})
        self._finish_loading()

    def _on_load_failed(self, exc: Exception) -> None:
        self.details_page.show_save_error(f"Could not load the team's integrations: {exc}")
        self._finish_loading()

    def _finish_loading(self) -> None:
        self._event_baseline = self._try(self._event)
        self._action_baseline = self._try(self.action_page.build)
        self._loaded = True
        self.ready.emit()

    def _suggest_name(self) -> str:
        try:
            event_type, event_filter = self.event_page.build()
        except ValueError:
            return ""
        if event_type in run_events.RUN_EVENTS:
            return run_events.describe_condition(event_type, event_filter)
        return artifact_events.LABELS.get(event_type, event_type).capitalize()

    # -- saving -----------------------------------------------------------------------------------
    def _event(self) -> tuple[str, dict[str, Any], str]:
        event_type, event_filter = self.event_page.build()
        return event_type, event_filter, self.event_page.scope_type()

    def changes(self) -> dict[str, Any]:
        """The fields to store: all of them for a new automation, the changed ones for an edit."""
        event_type, event_filter, scope_type = self._event()
        action_type, action_config = self.action_page.build()
        details = {
            "name": self.details_page.name.text().strip(),
            "description": self.details_page.description.toPlainText(),
            "enabled": self.details_page.enabled.isChecked(),
        }
        cooldown = self.details_page.cooldown.value()
        if self.automation is None:
            return {"event_type": event_type, "event_filter": event_filter, "scope_type": scope_type,
                    "action_type": action_type, "action_config": action_config,
                    "cooldown_seconds": cooldown * 60, **details}
        old = self.automation
        fields: dict[str, Any] = {}
        if (event_type, event_filter, scope_type) != self._event_baseline:
            fields.update(event_type=event_type, event_filter=event_filter)
            if scope_type != old.scope_type:
                fields["scope_type"] = scope_type
        if (action_type, action_config) != self._action_baseline:
            fields.update(action_type=action_type, action_config=action_config)
        fields.update({k: v for k, v in details.items() if getattr(old, k) != v})
        if cooldown != self._cooldown_baseline:
            fields["cooldown_seconds"] = cooldown * 60
        return fields

    def accept(self) -> None:
        if self._saving or not self._loaded:
            return
        if any(page.problem() for page in (self.event_page, self.action_page, self.details_page)):
            return
        fields = self.changes()
        ctx, project_id, automation = self._ctx, self._project_id, self.automation
        if automation is not None and not fields:
            self.saved.emit(automation)
            super().accept()
            return

        def save() -> e.Automation:
            # registry automations need write access to the registry (the store refuses viewers)
            if automation is not None:
                registry_automations.require_access(ctx.db, automation.event_filter, ctx.user.username)
            registry_automations.require_access(ctx.db, fields.get("event_filter"), ctx.user.username)
            if automation is not None:
                return automations.update_automation(ctx.db, automation.id, **fields)
            owner = project_id if fields["scope_type"] == PROJECT else None  # registry automations have no project
            return automations.create_automation(ctx.db, team_id=ctx.team.id, project_id=owner,
                                                 created_by=ctx.user.username, **fields)

        self._set_saving(True)
        self._tasks.run(save, alive(self, self._on_saved), alive(self, self._on_save_failed))

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.button(QWizard.WizardButton.FinishButton).setEnabled(not saving and self.details_page.isComplete())
        if saving:
            self.details_page.error.setStyleSheet("")
            self.details_page.show_save_error("Saving…")

    def _on_saved(self, saved: e.Automation) -> None:
        self._set_saving(False)
        self.saved.emit(saved)
        super().accept()

    def _on_save_failed(self, exc: Exception) -> None:
        self._set_saving(False)
        self.details_page.error.setStyleSheet("color: #c62828;")
        if not isinstance(exc, StoreError):
            log.error("saving the automation failed", exc_info=exc)
        self.details_page.show_save_error(f"Not saved: {exc}")


def _fields(automation: e.Automation) -> dict[str, Any]:
    return {"name": automation.name, "description": automation.description, "enabled": automation.enabled,
            "scope_type": automation.scope_type or PROJECT, "event_type": automation.event_type, "event_filter": automation.event_filter,
            "action_type": automation.action_type, "action_config": automation.action_config,
            "cooldown_seconds": automation.cooldown_seconds}
