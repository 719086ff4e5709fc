"""Human one-line summaries of automations and executions (pure, no Qt).

`condition_summary` mirrors the original's repr, e.g. "AVERAGE(val/acc) over 5 > 0.9",
or "val/acc > 0.9" when there is no aggregation (the latest value).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from desktop.engine import artifact_events as artifact_rules
from desktop.engine.conditions import CMP_OPS, format_number
from desktop.engine.run_events import RUN_EVENTS, describe_condition
from store import entities as e

CMP_SYMBOLS = CMP_OPS  # "$gt" → ">"
DIRECTION_WORDS = {"INCREASE": "increases", "DECREASE": "decreases", "ANY": "changes"}
ACTION_NAMES = {
    "NOTIFICATION": "Slack notification",
    "GENERIC_WEBHOOK": "Webhook",
    "DESKTOP_NOTIFICATION": "Desktop notification",
    "NO_OP": "No action (record only)",
}
ARTIFACT_EVENTS = {
    "CREATE_ARTIFACT": "New artifact version",
    "ADD_ARTIFACT_ALIAS": "Alias added",
    "ADD_ARTIFACT_TAG": "Tag added",
    "REMOVE_ARTIFACT_TAG": "Tag removed",
    "LINK_ARTIFACT": "Version linked",
    "LINK_MODEL": "Version linked",
    "UNLINK_ARTIFACT": "Version unlinked",
}


def number(value: Any) -> str:
    """A threshold or metric value as the engine writes it: 0.9, 3, NaN, Infinity."""
    if isinstance(value, (int, float)):
        return format_number(value)
    return str(value)


def _metric_filter(event_filter: Mapping[str, Any]) -> Mapping[str, Any]:
    found = event_filter.get("run_metric_filter") or event_filter.get("metric_filter") or {}
    return found if isinstance(found, Mapping) else {}


def _threshold(f: Mapping[str, Any]) -> str:
    name = f.get("name") or "?"
    cmp = CMP_SYMBOLS.get(str(f.get("cmp_op")), str(f.get("cmp_op") or "?"))
    agg = f.get("agg_op")
    if agg:
        subject = f"{agg}({name}) over {f.get('window_size') or 1}"
    else:
        subject = name
    return f"{subject} {cmp} {number(f.get('threshold'))}"


def _change(f: Mapping[str, Any]) -> str:
    name = f.get("name") or "?"
    agg = f.get("agg_op")
    current = f.get("current_window_size") or 1
    prior = f.get("prior_window_size") or current
    subject = f"{agg}({name})" if agg else name
    verb = DIRECTION_WORDS.get(str(f.get("change_dir") or "ANY").upper(), "changes")
    amount = f.get("change_amount")
    if str(f.get("change_type") or "RELATIVE").upper().startswith("REL") and isinstance(amount, (int, float)):
        shown = f"{number(round(amount * 100, 6))}%"
    else:
        shown = number(amount)
    return f"{subject} over {current} vs prior {prior} {verb} by >= {shown}"


def _zscore(f: Mapping[str, Any]) -> str:
    name = f.get("name") or "?"
    window = f.get("window_size") or 30
    t = number(f.get("threshold") if f.get("threshold") is not None else 3.0)
    direction = str(f.get("change_dir") or "ANY").upper()
    if direction == "INCREASE":
        return f"zscore({name}) over {window} >= +{t}"
    if direction == "DECREASE":
        return f"zscore({name}) over {window} <= -{t}"
    return f"|zscore({name})| over {window} >= {t}"


def _run_filter_note(event_filter: Mapping[str, Any]) -> str:
    raw = event_filter.get("run_filter")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ""
    if isinstance(parsed, Mapping) and any(parsed.values()):
        return " (filtered runs)"
    return ""


def condition_summary(event_type: str, event_filter: Mapping[str, Any] | None) -> str:
    """One line saying when an automation fires."""
    ef = event_filter or {}
    mf = _metric_filter(ef)
    if event_type in RUN_EVENTS:
        # the engine's wording (it also flags a stored filter it could not evaluate)
        text = describe_condition(event_type, ef)
    elif "threshold_filter" in mf:
        text = _threshold(mf["threshold_filter"])
    elif "change_filter" in mf:
        text = _change(mf["change_filter"])
    elif "zscore_filter" in mf:
        text = _zscore(mf["zscore_filter"])
    elif "nan_filter" in mf or event_type.upper().endswith("NAN"):
        name = (mf.get("nan_filter") or {}).get("name") if isinstance(mf.get("nan_filter"), Mapping) else None
        text = f"{name or 'any metric'} is NaN/Inf"
    elif event_type == "RUN_STATE" or "run_state_filter" in ef:
        states = (ef.get("run_state_filter") or {}).get("states") or []
        text = "Run state → " + (", ".join(s.lower() for s in states) or "any")
    elif "STALL" in event_type.upper():
        minutes = ef.get("stall_minutes") or ef.get("minutes")
        text = f"Run stalled for {number(minutes)} min" if minutes else "Run stalled"
    elif event_type in ARTIFACT_EVENTS:
        text = ARTIFACT_EVENTS[event_type] + _artifact_detail(ef)
    elif "threshold" in mf or "name" in mf:  # an unwrapped threshold (legacy `metric_filter`)
        text = _threshold(mf)
    else:
        text = event_type.replace("_", " ").capitalize() or "Unknown event"
    return text + _run_filter_note(ef)


def _find_regex(node: Any, key: str) -> str | None:
    """The `{"<key>": {"$regex": ...}}` pattern anywhere in a nested artifact filter."""
    if isinstance(node, str) and node.lstrip().startswith(("{", "[")):
        try:
            node = json.loads(node)  # the original stores some filters as JSON strings
        except ValueError:
            return None
    if isinstance(node, Mapping):
        inner = node.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("$regex"), str):
            return inner["$regex"]
        if isinstance(inner, str) and key in ("alias", "tag"):
            return inner
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_regex(child, key)
        if found is not None:
            return found
    return None


def _artifact_detail(ef: Mapping[str, Any]) -> str:
    for key in ("alias", "tag"):
        regex = _find_regex(ef, key)
        if regex is not None:
            return f" matching {regex}"
    return ""


def automation_event_summary(automation: e.Automation) -> str:
    return condition_summary(automation.event_type, automation.event_filter)


def channel_label(channel: str) -> str:
    channel = (channel or "").strip()
    return channel if channel.startswith("#") or not channel else f"#{channel}"


def action_summary(
    action_type: str, config: Mapping[str, Any] | None,
    integrations: Mapping[int, e.Integration] | None = None,
) -> str:
    """E.g. "Slack #ml-alerts + desktop", "Desktop notification", "Webhook ci-dispatch"."""
    config = config or {}
    integration = (integrations or {}).get(config.get("integration_id"))  # type: ignore[arg-type]
    if action_type == "NOTIFICATION":
        if integration is None:
            text = "Slack (integration deleted)"
        else:
            text = f"Slack {channel_label(integration.config.get('channel', ''))}".rstrip()
        return text + (" + desktop" if config.get("notify_desktop") else "")
    if action_type == "GENERIC_WEBHOOK":
        return f"Webhook {integration.name}" if integration else "Webhook (integration deleted)"
    return ACTION_NAMES.get(action_type, action_type.replace("_", " ").capitalize())


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) not in (None, "", [], {}):
            return data[key]
    return None


def artifact_event_text(event_type: str, event: Mapping[str, Any]) -> str:
    """`alias production → default/wandb-registry-Model/digits-classifier:v0`."""
    where = str(event.get("artifact_version_string") or event.get("artifact_collection_name") or "")
    for key in ("alias", "tag"):
        if event.get(key):
            return f"{key} {event[key]} → {where}"
    return f"{artifact_rules.LABELS[event_type]}: {where}"


def execution_event_summary(execution: e.Execution) -> str:
    """What fired an execution, e.g.
    "run golden-sun-3: val/acc = 0.93 at step 120 (AVERAGE(val/acc) over 5 > 0.9)"."""
    ev = execution.event or {}
    own = ev.get("summary")
    if isinstance(own, str) and own:
        return own
    if execution.event_type in artifact_rules.LABELS:  # alias/tag/link: name the version, not the run
        return artifact_event_text(execution.event_type, ev)
    run = _first(ev, "run_name", "runName", "run_id") or execution.run_id
    parts = []
    metric = _first(ev, "metric_name", "metric", "metricName")
    value = _first(ev, "metric_value", "value")
    values = _first(ev, "metric_values", "metricValues", "values")
    if value is None and isinstance(values, list) and values:
        value = values[-1]
    if metric:
        parts.append(f"{metric} = {number(value)}" if value is not None else str(metric))
        if ev.get("step") is not None:
            parts.append(f"at step {ev['step']}")
    condition = _first(ev, "metric_filter", "condition")
    if isinstance(condition, str):
        parts.append(f"({condition})")
    state = _first(ev, "new_run_state", "run_status", "new_state", "newRunState", "state")
    if state:
        parts.append(f"→ {state}")
    for key in ("alias", "tag"):
        if ev.get(key):
            parts.append(f"{key} {ev[key]}")
    text = " ".join(parts)
    if run:
        text = f"run {run}: {text}" if text else f"run {run}"
    return text or execution.event_type.replace("_", " ").lower()


def execution_action_summary(
    execution: e.Execution, integrations: Mapping[int, e.Integration] | None = None,
) -> str:
    """The action and its target as recorded at firing time (the integration's current name
    when the execution did not record one)."""
    action = execution.action or {}
    if execution.action_type == "NOTIFICATION":
        channel = action.get("channel")
        if not channel:
            found = (integrations or {}).get(action.get("integration_id"))  # type: ignore[arg-type]
            channel = found.config.get("channel") if found else None
        return f"Slack {channel_label(str(channel))}" if channel else "Slack"
    if execution.action_type == "GENERIC_WEBHOOK":
        name = action.get("webhook")
        if not name:
            found = (integrations or {}).get(action.get("integration_id"))  # type: ignore[arg-type]
            name = found.name if found else None
        return f"Webhook {name}" if name else "Webhook"
    return ACTION_NAMES.get(execution.action_type, execution.action_type.replace("_", " ").capitalize())
