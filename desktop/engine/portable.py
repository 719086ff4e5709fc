"""Automations as JSON, to move them between databases or keep them in version control.

The file keeps the original's stored shapes: each automation has the field names of the
original's `createFilterTrigger` input (`name`, `description`, `enabled`, `scopeType`,
`triggeringEventType`, `eventFilter`, `triggeredActionType`, `triggeredActionConfig`), the event
filter exactly as stored (run filters as JSON strings, artifact filters wrapped in
`{"filter": ...}`), and the action config exactly as stored. Local ids do not travel: the project
is named (`scope.projectName`) and the integration an action uses is named by kind and name
(`integration`), and both are looked up again on import.

    {"format": "runbell-automations", "version": 1, "automations": [{
        "name": "acc high", "description": "", "enabled": true, "scopeType": "PROJECT",
        "scope": {"projectName": "digits"}, "triggeringEventType": "RUN_METRIC",
        "eventFilter": {"run_filter": "{\\"$and\\": []}", "run_metric_filter": {...}},
        "triggeredActionType": "GENERIC_WEBHOOK",
        "triggeredActionConfig": {"integration_id": 3, "request_payload": "{...}"},
        "integration": {"kind": "webhook", "name": "ci"},
        "cooldownSeconds": 86400, "createdBy": "alice"}]}
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from store import automations, integrations, teams
from store import entities as e
from store.db import Database
from store.errors import NotFound, ValidationError

from desktop.engine import run_events, sdk
from desktop.engine.regex import compile_regex

FORMAT = "runbell-automations"
VERSION = 1
ON_CONFLICT = ("error", "rename", "skip")
ARTIFACT_EVENTS = ("ADD_ARTIFACT_ALIAS", "ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG", "CREATE_ARTIFACT",
                   "LINK_ARTIFACT", "UNLINK_ARTIFACT", "ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG")
MAX_COOLDOWN = 10 * 365 * 24 * 3600
_FIELDS = {"name", "description", "enabled", "scopeType", "scope", "triggeringEventType", "eventFilter",
           "triggeredActionType", "triggeredActionConfig", "integration", "cooldownSeconds", "createdBy"}


def _project_names(db: Database, team_id: int) -> dict[int, str]:
    return {p.id: p.name for p in teams.list_projects(db, team_id)}


def _export_one(db: Database, automation: e.Automation, projects: Mapping[int, str]) -> dict[str, Any]:
    integration = None
    integration_id = automation.action_config.get("integration_id")
    if integration_id is not None:
        try:
            found = integrations.get_integration(db, int(integration_id))
            integration = {"kind": found.kind, "name": found.name}
        except (NotFound, TypeError, ValueError):
            integration = None  # exported as is; the import will say it is missing
    return {
        "name": automation.name, "description": automation.description, "enabled": automation.enabled,
        "scopeType": "PROJECT" if automation.project_id is not None else "TEAM",
        "scope": {"projectName": projects.get(automation.project_id)} if automation.project_id is not None else {},
        "triggeringEventType": automation.event_type, "eventFilter": automation.event_filter,
        "triggeredActionType": automation.action_type, "triggeredActionConfig": automation.action_config,
        "integration": integration, "cooldownSeconds": automation.cooldown_seconds,
        "createdBy": automation.created_by,
    }


def export_automations(db: Database, team_id: int, project_id: int | None = None) -> str:
    """The team's automations (or one project's) as JSON text, sorted by name."""
    projects = _project_names(db, team_id)
    found = automations.list_automations(db, team_id=team_id, project_id=project_id)
    document = {"format": FORMAT, "version": VERSION,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "automations": [_export_one(db, a, projects) for a in found]}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


# --- import ------------------------------------------------------------------------------------

def _problem(index: int, item: Mapping[str, Any], text: str) -> ValidationError:
    label = item.get("name") if isinstance(item.get("name"), str) else f"#{index + 1}"
    return ValidationError(f"automation {label!r}: {text}")


def validate_event(event_type: str, event_filter: Any) -> None:
    """The event filter is one Runbell can evaluate (ValueError says why not)."""
    if not isinstance(event_filter, Mapping):
        raise ValueError("eventFilter must be an object")
    if event_type in run_events.RUN_EVENTS:
        run_events.parse_event(event_type, event_filter)
    elif event_type in ARTIFACT_EVENTS:
        inner = event_filter.get("filter", event_filter)
        if not isinstance(inner, Mapping):
            raise ValueError("the artifact event filter must be an object")
        for pattern in re.findall(r'"\$regex":\s*("(?:[^"\\]|\\.)*")', json.dumps(inner)):
            compile_regex(json.loads(pattern), "regular expression")
    else:
        raise ValueError(f"unknown event type {event_type!r}")


def _resolve_integration(db: Database, team_id: int, item: Mapping[str, Any], config: dict[str, Any],
                         integration_map: Mapping[str, int]) -> None:
    ref = item.get("integration")
    if "integration_id" not in config:
        return
    if isinstance(ref, Mapping):
        name = str(ref.get("name", ""))
        if name in integration_map:
            config["integration_id"] = integration_map[name]
            return
        matches = [i for i in integrations.list_integrations(db, team_id, kind=str(ref.get("kind", "")))
                   if i.name == name]
        if not matches:
            raise ValueError(f"there is no {ref.get('kind')} integration named {name!r} in this team; "
                             "create it in Team Settings first (or pass integration_map)")
        config["integration_id"] = matches[0].id


def _prepare(db: Database, team_id: int, index: int, item: Any, project_map: Mapping[str, Any],
             integration_map: Mapping[str, int]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ValidationError(f"automation #{index + 1} is not an object")
    unknown = set(item) - _FIELDS
    if unknown:
        raise _problem(index, item, f"unknown fields {', '.join(sorted(unknown))}")
    for required in ("name", "triggeringEventType", "eventFilter", "triggeredActionType"):
        if required not in item:
            raise _problem(index, item, f"{required} is missing")
    try:
        _check_types(item)
    except ValueError as exc:
        raise _problem(index, item, str(exc)) from None
    event_type, action_type = item["triggeringEventType"], item["triggeredActionType"]
    event_filter = item["eventFilter"]
    if isinstance(event_filter, str):  # GraphQL sends it as a JSON string
        try:
            event_filter = json.loads(event_filter)
        except json.JSONDecodeError as exc:
            raise _problem(index, item, f"eventFilter is not valid JSON: {exc.msg}") from None
    config = dict(item.get("triggeredActionConfig") or {})
    try:
        validate_event(event_type, event_filter)
        _resolve_integration(db, team_id, item, config, integration_map)
        sdk.check_action(db, team_id, action_type, config)
    except ValueError as exc:
        raise _problem(index, item, str(exc)) from None
    project_id = None
    if item.get("scopeType", "PROJECT") == "TEAM" and event_type in run_events.RUN_EVENTS:
        raise _problem(index, item, "run events exist only at project scope (scopeType PROJECT)")
    if item.get("scopeType", "PROJECT") == "PROJECT":
        name = (item.get("scope") or {}).get("projectName")
        target = project_map.get(name, name) if name is not None else None
        if target is None:
            raise _problem(index, item, "scope.projectName is missing for a PROJECT automation")
        project_id = target if isinstance(target, int) else teams.get_or_create_project(db, team_id, str(target)).id
    cooldown = item.get("cooldownSeconds", automations.DEFAULT_COOLDOWN_SECONDS)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= MAX_COOLDOWN:
        raise _problem(index, item, f"cooldownSeconds must be a whole number of seconds from 0 to {MAX_COOLDOWN}")
    return dict(team_id=team_id, project_id=project_id, name=item["name"].strip(),
                description=item.get("description") or "", enabled=item.get("enabled", True),
                created_by=str(item.get("createdBy") or ""), event_type=event_type, event_filter=event_filter,
                action_type=action_type, action_config=config, cooldown_seconds=cooldown)


_TYPES: dict[str, tuple[type, ...]] = {  # a field's JSON type when present (null allowed where listed)
    "name": (str,), "description": (str, type(None)), "enabled": (bool,), "scopeType": (str,),
    "scope": (dict, type(None)), "triggeringEventType": (str,), "eventFilter": (dict, str),
    "triggeredActionType": (str,), "triggeredActionConfig": (dict, type(None)),
    "integration": (dict, type(None)), "createdBy": (str, type(None)),
}
_JSON_NAMES = {str: "text", bool: "true or false", dict: "an object", type(None): "null"}


def _check_types(item: Mapping[str, Any]) -> None:
    """Every field has its JSON type: "false" (text) must not turn into an enabled automation."""
    for field, allowed in _TYPES.items():
        if field in item and not isinstance(item[field], allowed):
            wanted = " or ".join(_JSON_NAMES[t] for t in allowed)
            raise ValueError(f"{field} must be {wanted}, not {json.dumps(item[field])[:40]}")
    if not item["name"].strip():
        raise ValueError("name is empty")
    if item.get("scopeType", "PROJECT") not in ("PROJECT", "TEAM"):
        raise ValueError(f"scopeType must be PROJECT or TEAM, not {item['scopeType']!r}")
    name = (item.get("scope") or {}).get("projectName")
    if name is not None and not isinstance(name, str):
        raise ValueError("scope.projectName must be text")


def _free_name(name: str, taken: set[str]) -> str:
    for n in range(2, 10_000):
        suffix = f" ({n})"
        candidate = name[: sdk.MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise ValidationError(f"no free name for {name!r}")


def import_automations(
    db: Database, team_id: int, text: str, *, project_map: Mapping[str, str | int] | None = None,
    integration_map: Mapping[str, int] | None = None, on_conflict: str = "error",
) -> list[e.Automation]:
    """Create the automations of an export. Everything is validated before anything is written.

    `project_map` sends an exported project name to another project (name or id); a named project
    that does not exist is created. `integration_map` maps an exported integration name to a
    local integration id. `on_conflict` says what to do with a name that already exists:
    "error" (nothing is imported), "rename" ("name (2)") or "skip".
    """
    if on_conflict not in ON_CONFLICT:
        raise ValidationError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"not a Runbell automations file: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise ValidationError(f"not a Runbell automations file (expected \"format\": \"{FORMAT}\")")
    if document.get("version") != VERSION:
        raise ValidationError(f"automations file version {document.get('version')!r} is not supported "
                              f"(this Runbell reads version {VERSION})")
    items = document.get("automations")
    if not isinstance(items, list):
        raise ValidationError("the file has no \"automations\" list")
    prepared = [_prepare(db, team_id, i, item, project_map or {}, integration_map or {})
                for i, item in enumerate(items)]
    taken = {a.name for a in automations.list_automations(db, team_id=team_id)}
    seen: set[str] = set()
    plan = []
    for fields in prepared:
        if fields["name"] in seen:
            raise ValidationError(f"the file has two automations named {fields['name']!r}")
        seen.add(fields["name"])
        if fields["name"] in taken:
            if on_conflict == "error":
                raise ValidationError(f"an automation named {fields['name']!r} already exists; import with "
                                      "on_conflict=\"rename\" or \"skip\"")
            if on_conflict == "skip":
                continue
            fields["name"] = _free_name(fields["name"], taken | seen)
        if not fields["name"] or len(fields["name"]) > sdk.MAX_NAME:
            raise ValidationError(f"automation name {fields['name'][:40]!r}… must have 1–{sdk.MAX_NAME} characters")
        taken.add(fields["name"])
        plan.append(fields)
    created: list[e.Automation] = []
    try:
        for fields in plan:
            created.append(automations.create_automation(db, **fields))
    except Exception:
        for automation in created:  # all or nothing
            automations.delete_automation(db, automation.id)
        raise
    return created

