"""Artifact and registry automations (reference §2.1–2.2): version created, alias added, tag added or
removed, version linked or unlinked.

Scopes (`Automation.scope_type`; ids of registry and collection scopes live in
`event_filter["scope"]`):
- "project": the versions of the automation's project (`project_id` on the row). An optional
  `scope.collection_id` (a project artifact id) narrows it to one artifact.
- "registry": the linked versions of `scope.registry_id`.
- "collection": `scope.collection_id` of `scope.registry_id` (linked versions); without a
  registry id, the project artifact `collection_id` of the automation's project.
Project automations see project versions only and registry automations linked versions only: a
project event never reaches a registry automation, and the reverse.

Allowed: CREATE_ARTIFACT at project/collection(project) scope; ADD_ARTIFACT_ALIAS anywhere;
tag events at project or collection scope; LINK/UNLINK_ARTIFACT at registry or collection(registry)
scope. Anything else makes the automation invalid (reported once, never fires).

Filter: `{"filter": {"$or": [{"$and": [{"alias": {"$regex": "^prod"}}]}]}}` (the unwrapped
`{"$or": ...}` is read too; empty means match all). Conditions: `{"alias"|"tag": {"$regex": r}}`,
`{"$eq": v}`, `{"$in": [...]}` or a plain value; `$regex` searches (MongoDB semantics).

The automatic `latest` alias fires an alias automation only when the filter names it exactly
(`$regex` "^latest$" or `$eq` "latest"): `^prod|.*` must not fire on every new version.

Every matching mutation fires once (no edge, no cooldown); disabled automations never fire; the
chain-depth limit (case C7) applies through the event's `caused_by`.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store import artifact_events as ev_types
from store import automations, executions
from store import entities as e
from store.db import Database
from store.errors import StoreError

from desktop.engine import firing, templating
from desktop.engine.regex import compile_regex

if TYPE_CHECKING:
    from desktop.engine.evaluator import Evaluator

log = logging.getLogger("runbell.engine.artifacts")

CREATE_ARTIFACT = "CREATE_ARTIFACT"
ADD_ARTIFACT_ALIAS = "ADD_ARTIFACT_ALIAS"
ADD_ARTIFACT_TAG = "ADD_ARTIFACT_TAG"
REMOVE_ARTIFACT_TAG = "REMOVE_ARTIFACT_TAG"
LINK_ARTIFACT = "LINK_ARTIFACT"
UNLINK_ARTIFACT = "UNLINK_ARTIFACT"
ARTIFACT_AUTOMATION_EVENTS = (CREATE_ARTIFACT, ADD_ARTIFACT_ALIAS, ADD_ARTIFACT_TAG, REMOVE_ARTIFACT_TAG,
                              LINK_ARTIFACT, UNLINK_ARTIFACT)
# store event type → automation event type
EVENT_TYPES = {
    ev_types.ARTIFACT_VERSION_CREATED: CREATE_ARTIFACT, ev_types.ARTIFACT_ALIAS_ADDED: ADD_ARTIFACT_ALIAS,
    ev_types.ARTIFACT_TAG_ADDED: ADD_ARTIFACT_TAG, ev_types.ARTIFACT_TAG_REMOVED: REMOVE_ARTIFACT_TAG,
    ev_types.ARTIFACT_LINKED: LINK_ARTIFACT, ev_types.ARTIFACT_UNLINKED: UNLINK_ARTIFACT,
}
SCOPES = {
    CREATE_ARTIFACT: ("project", "collection"), ADD_ARTIFACT_ALIAS: ("project", "registry", "collection"),
    ADD_ARTIFACT_TAG: ("project", "collection"), REMOVE_ARTIFACT_TAG: ("project", "collection"),
    LINK_ARTIFACT: ("registry", "collection"), UNLINK_ARTIFACT: ("registry", "collection"),
}
FIELDS = {ADD_ARTIFACT_ALIAS: "alias", ADD_ARTIFACT_TAG: "tag", REMOVE_ARTIFACT_TAG: "tag"}
LABELS = {
    CREATE_ARTIFACT: "a new version is created", ADD_ARTIFACT_ALIAS: "an alias is added",
    ADD_ARTIFACT_TAG: "a tag is added", REMOVE_ARTIFACT_TAG: "a tag is removed",
    LINK_ARTIFACT: "a version is linked", UNLINK_ARTIFACT: "a version is unlinked",
}
_EXPLICIT_LATEST = "^latest$"


@dataclass(frozen=True)
class Cond:
    field: str
    op: str  # "$regex" | "$eq" | "$in"
    value: Any

    def matches(self, text: str) -> bool:
        if self.op == "$regex":
            return re.search(self.value, text) is not None
        if self.op == "$in":
            return text in self.value
        return text == self.value

    def names_latest(self) -> bool:
        return (self.op == "$regex" and self.value == _EXPLICIT_LATEST) or (self.op == "$eq" and self.value == "latest")


@dataclass(frozen=True)
class ArtifactRule:
    event_type: str
    scope_type: str
    project_id: int | None
    registry_id: int | None
    collection_id: int | None
    clauses: tuple[tuple[Cond, ...], ...]  # $or of $and


def scoped_filter(*, registry_id: int | None = None, collection_id: int | None = None,
                  alias_regex: str | None = None, tag_regex: str | None = None) -> dict[str, Any]:
    """The stored event filter: `{"scope": {...}, "filter": {"$or": [{"$and": [...]}]}}`."""
    conds = [{"alias": {"$regex": alias_regex}}] if alias_regex else []
    conds += [{"tag": {"$regex": tag_regex}}] if tag_regex else []
    scope = {k: v for k, v in (("registry_id", registry_id), ("collection_id", collection_id)) if v is not None}
    return {"scope": scope, "filter": {"$or": [{"$and": conds}]}}


def _optional_id(scope: Mapping[str, Any], key: str) -> int | None:
    value = scope.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"scope {key} must be an integer id, not {value!r}")
    return value


def _cond(expr: Any, field: str | None) -> Cond:
    if not isinstance(expr, Mapping) or len(expr) != 1:
        raise ValueError(f"a filter condition must be one field, not {expr!r}")
    (name, test), = expr.items()
    if name != field:
        raise ValueError(f"this event cannot be filtered on {name!r}"
                         + (f" (only on {field!r})" if field else " (it takes no filter)"))
    if not isinstance(test, Mapping):
        test = {"$eq": test}
    if len(test) != 1:
        raise ValueError(f"one operator per condition, not {dict(test)!r}")
    (op, value), = test.items()
    if op == "$regex":
        compile_regex(str(value), f"{name} regex")
        return Cond(name, op, str(value))
    if op == "$eq":
        return Cond(name, op, str(value))
    if op == "$in" and isinstance(value, list):
        return Cond(name, op, tuple(str(v) for v in value))
    raise ValueError(f"unsupported {name} operator {op!r}; use $regex, $eq or $in")


def parse_rule(automation: e.Automation) -> ArtifactRule:
    """The automation's scope and filter; ValueError says what is wrong."""
    kind = automation.event_type
    if kind not in SCOPES:
        raise ValueError(f"{kind} is not an artifact event")
    scope_type = automation.scope_type or "project"
    if scope_type not in SCOPES[kind]:
        raise ValueError(f"{kind} cannot be used at {scope_type} scope (only {', '.join(SCOPES[kind])})")
    raw = dict(automation.event_filter or {})
    scope = raw.get("scope") or {}
    if not isinstance(scope, Mapping):
        raise ValueError("the scope must be an object")
    registry_id, collection_id = _optional_id(scope, "registry_id"), _optional_id(scope, "collection_id")
    if scope_type == "registry" and registry_id is None:
        raise ValueError("a registry automation needs scope.registry_id")
    if scope_type == "collection" and collection_id is None:
        raise ValueError("a collection automation needs scope.collection_id")
    if kind in (LINK_ARTIFACT, UNLINK_ARTIFACT) and registry_id is None:
        raise ValueError(f"{kind} needs a registry collection (scope.registry_id)")
    if kind == CREATE_ARTIFACT and registry_id is not None:
        raise ValueError("CREATE_ARTIFACT watches project artifacts; use LINK_ARTIFACT for registries")
    if registry_id is None and automation.project_id is None:
        raise ValueError("a project or project-collection automation needs a project")
    expr = raw.get("filter", {k: v for k, v in raw.items() if k != "scope"}) or {}
    if not isinstance(expr, Mapping):
        raise ValueError("the filter must be an object")
    ors = expr.get("$or", [{"$and": expr.get("$and", [])}]) if expr else []
    clauses = []
    for part in ors if isinstance(ors, list) else [None]:
        ands = part.get("$and") if isinstance(part, Mapping) else None
        if not isinstance(ands, list):
            raise ValueError('the filter must be {"$or": [{"$and": [...]}]}')
        clauses.append(tuple(_cond(x, FIELDS.get(kind)) for x in ands))
    return ArtifactRule(kind, scope_type, automation.project_id, registry_id, collection_id, tuple(clauses))


def in_scope(rule: ArtifactRule, payload: Mapping[str, Any]) -> bool:
    """Whether the event's version belongs to the rule's population (project vs registry)."""
    if rule.registry_id is not None:
        if payload.get("scope") != "registry" or payload.get("registry_id") != rule.registry_id:
            return False
    elif payload.get("scope") != "project" or payload.get("project_id") != rule.project_id:
        return False
    return rule.collection_id is None or payload.get("collection_id") == rule.collection_id


def filter_matches(rule: ArtifactRule, payload: Mapping[str, Any]) -> bool:
    """The alias/tag filter; a payload without the field matches on scope only ("could fire")."""
    field = FIELDS.get(rule.event_type)
    if field is None:
        return True
    if field not in payload:
        return True
    value = str(payload.get(field) or "")
    automatic = bool(payload.get("automatic")) if field == "alias" else False
    clauses = rule.clauses or ((),)
    for clause in clauses:
        if automatic and not any(c.names_latest() for c in clause):
            continue
        if all(c.matches(value) for c in clause):
            return True
    return False


def rule_matches(rule: ArtifactRule, payload: Mapping[str, Any]) -> bool:
    return in_scope(rule, payload) and filter_matches(rule, payload)


def automations_matching(db: Database, event_type: str, payload: Mapping[str, Any]) -> list[e.Automation]:
    """Enabled automations of `event_type` (e.g. ADD_ARTIFACT_ALIAS) that would fire for an event
    with this payload (the store's payload keys, plus `alias` / `tag` / `automatic`). Invalid
    automations are left out. Without `alias`/`tag` in the payload the regex is not checked."""
    out = []
    for automation in automations.list_automations(db, enabled_only=True, event_types=(event_type,)):
        try:
            rule = parse_rule(automation)
        except ValueError:
            continue
        if rule_matches(rule, payload):
            out.append(automation)
    return out


def would_fire(
    db: Database, base: Mapping[str, Any], operations: Sequence[str], *, alias: str = "", tag: str = "",
) -> list[tuple[str, str]]:
    """(operation label, "automation (filter)") for each enabled automation that an operation on
    the version described by `base` (scope keys of the store's payload) would fire; a typed
    alias/tag narrows the regexes. Shown when a user opens a version."""
    out = []
    for kind in operations:
        payload = dict(base)
        if kind == ADD_ARTIFACT_ALIAS and alias:
            payload["alias"] = alias
        if kind in (ADD_ARTIFACT_TAG, REMOVE_ARTIFACT_TAG) and tag:
            payload["tag"] = tag
        for automation in automations_matching(db, kind, payload):
            how = describe_filter(automation)
            out.append((LABELS[kind], automation.name + (f" ({how})" if how else "")))
    return out


def describe_filter(automation: e.Automation) -> str:
    """`alias ~ ^production$`, or "" for none (for the Would-fire pane and the list)."""
    try:
        rule = parse_rule(automation)
    except ValueError as exc:
        return f"invalid: {exc}"
    texts = [" and ".join(f"{c.field} {'~' if c.op == '$regex' else c.op} {c.value}" for c in clause)
             for clause in rule.clauses if clause]
    return " or ".join(texts)


# -- the evaluator side ---------------------------------------------------------------------------


def on_event(ev: Evaluator, candidates: Sequence[e.Automation], event: e.Event) -> bool:
    """Fire every candidate automation whose scope and filter match; True if something was written."""
    kind = EVENT_TYPES.get(event.type)
    if kind is None:
        return False
    changed = False
    for automation in candidates:
        if automation.event_type != kind or automation.created_at > event.created_at:
            continue
        try:
            rule = ev.parse_artifact_rule(automation, event)
            if rule is not None and rule_matches(rule, event.payload):
                _fire(ev, automation, kind, event)
                changed = True
        except StoreError:
            raise
        except Exception:  # a bug must not stop the other automations
            log.exception("automation %r failed on event %s", automation.name, event.id)
    return changed


def _summary(kind: str, p: Mapping[str, Any]) -> str:
    where = p.get("artifact_version_string") or ""
    who = p.get("event_author") or "someone"
    if kind == ADD_ARTIFACT_ALIAS:
        return f"Alias {p.get('alias')} added to {where} by {who}"
    if kind in (ADD_ARTIFACT_TAG, REMOVE_ARTIFACT_TAG):
        verb = "added to" if kind == ADD_ARTIFACT_TAG else "removed from"
        return f"Tag {p.get('tag')} {verb} {where} by {who}"
    verb = {CREATE_ARTIFACT: "created", LINK_ARTIFACT: "linked", UNLINK_ARTIFACT: "unlinked"}[kind]
    return f"{where} {verb} by {who}"


def _fire(ev: Evaluator, automation: e.Automation, kind: str, event: e.Event) -> None:
    p = event.payload
    variables = templating.variables_for_artifact_event(automation_name=automation.name, event_type=kind, payload=p)
    keys = ("scope", "entity_name", "project_id", "project_name", "registry_id", "registry_name", "collection_id",
            "artifact_collection_name", "artifact_type", "version_id", "link_id", "run_id", "artifact_version",
            "artifact_version_string", "artifact_version_index", "alias", "automatic", "tag")
    record = {"type": kind, "event_id": event.id, "author": p.get("event_author"),
              **{k: p[k] for k in keys if k in p}}
    fields = [("Version", str(p.get("artifact_version_string") or "")), ("Author", str(p.get("event_author") or "-"))]
    fields += [(name.capitalize(), str(p[name])) for name in ("alias", "tag") if name in p]
    target = {"kind": "artifact", "scope": p.get("scope"), "project_id": p.get("project_id"),
              "registry_id": p.get("registry_id"), "collection_id": p.get("collection_id"),
              "version_id": p.get("version_id"), "link_id": p.get("link_id")}
    details = firing.Firing(event_type=kind, event=record, variables=variables, default_title=automation.name,
                            default_text=_summary(kind, p), fields=tuple(fields), target=target)
    extra, reason = ev.chain_check(event)
    common = dict(automation=automation, project_id=automation.project_id or p.get("project_id"),
                  run_id=None, event_type=kind, event={**record, **extra})
    targets = firing.targets(ev.db, automation, details)
    if reason:
        executions.record_firing(ev.db, **common, action_type=targets[0].action_type, action=targets[0].action,
                                 status="skipped", reason=reason)
        return
    for target_ in targets:
        executions.record_firing(ev.db, **common, action_type=target_.action_type, action=target_.action,
                                 status=target_.status, reason=target_.reason)
        ev.pending_written += target_.status == "pending"
