"""`${variable}` payload templates (reference §3.2) rendered so the result is always valid JSON.

Inside a JSON string a value is inserted JSON-escaped (quotes, backslashes, control characters;
emoji stay as they are). Outside a string it is inserted as a JSON literal: numbers as numbers,
lists as arrays, text as a quoted string. A variable that does not apply renders empty (`""`
outside a string) and `unknown_variables` lets the editor warn about it.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from desktop.engine.conditions import CMP_OPS, ThresholdCondition, describe, describe_short, format_number

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
SECRET_MASK = "********"
ACCESS_TOKEN = "ACCESS_TOKEN"

COMMON_VARIABLES = {
    "event_type": "event type that fired, e.g. RUN_METRIC",
    "event_author": "user who caused the event (the run's user)",
    "entity_name": "team name",
    "project_name": "project name",
    "automation_name": "name of the automation",
}
RUN_VARIABLES = {
    "run_name": "run display name",
    "run_id": "run id, e.g. 0ro45k91",
    "run_url": "link that opens the run in Runbell",
}
RUN_METRIC_VARIABLES = {
    **COMMON_VARIABLES, **RUN_VARIABLES,
    "metric_name": "metric key, e.g. val/acc",
    "metric_value": "the aggregated value that crossed the threshold",
    "metric_values": "the window's values, oldest first",
    "metric_filter": "the condition, e.g. AVERAGE(val/acc) over 5 > 0.9",
    "metric_filter_short": "the condition without the window, e.g. AVERAGE(val/acc) > 0.9",
    "metric_current_status": "whether the condition holds now (true)",
    "comparison_op": "the comparison, e.g. >",
    "threshold": "the threshold",
    "step": "the step at which the condition became true",
}
RUN_STATE_VARIABLES = {**COMMON_VARIABLES, **RUN_VARIABLES, "run_status": "new run state, e.g. failed"}


def variables_in(template: str) -> list[str]:
    """Variable names used in a template, in order of first use."""
    seen: dict[str, None] = {}
    for match in VARIABLE.finditer(template or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_variables(template: str, available: Iterable[str]) -> list[str]:
    """Variables the template uses that will render empty (for the editor's warning)."""
    known = set(available)
    return [name for name in variables_in(template) if name not in known]


def webhook_variable_names(event_type: str, secret_names: Iterable[str] = ()) -> list[str]:
    """What a webhook payload for this event type may use: event variables, `ACCESS_TOKEN` and
    the names of the webhook's own secrets."""
    base = RUN_STATE_VARIABLES if event_type == "RUN_STATE" else RUN_METRIC_VARIABLES
    return [*base, ACCESS_TOKEN, *secret_names]


def _text(value: Any) -> str:
    """A variable value as plain text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) if not isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                               for v in value) + "]"
    if isinstance(value, Mapping):
        return json.dumps(_jsonable(value), ensure_ascii=False)
    return str(value)


def _jsonable(value: Any) -> Any:
    """JSON has no NaN/Infinity: those become their text."""
    if isinstance(value, float) and not math.isfinite(value):
        return format_number(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be sent as UTF-8
        text = json.dumps(value, ensure_ascii=True)
    return text


def _in_string(value: Any) -> str:
    return _dumps(_text(value))[1:-1]


def _as_literal(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value)):
        return json.dumps(value)
    if isinstance(value, float):
        return _dumps(format_number(value))
    if isinstance(value, (list, tuple, Mapping)):
        return _dumps(_jsonable(value))
    return _dumps(str(value))


def render_json(template: str, variables: Mapping[str, Any]) -> str:
    """Substitute `${name}` in a JSON template; unknown names render empty."""
    out: list[str] = []
    in_string = escaped = False
    i = 0
    text = template or ""
    while i < len(text):
        ch = text[i]
        if ch == "$":
            match = VARIABLE.match(text, i)
            if match:
                value = variables.get(match.group(1))
                out.append(_in_string(value) if in_string else _as_literal(value))
                i = match.end()
                escaped = False
                continue
        out.append(ch)
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        i += 1
    return "".join(out)


def render_text(template: str, variables: Mapping[str, Any]) -> str:
    """Plain-text substitution (Slack title/message, desktop notifications)."""
    return VARIABLE.sub(lambda m: _text(variables.get(m.group(1))), template or "")


def check_json_template(template: str, available: Iterable[str]) -> list[str]:
    """Problems to show in the payload editor (empty list = fine)."""
    problems = []
    if (template or "").strip():
        sample = {name: "x" for name in available}
        try:
            json.loads(render_json(template, sample))
        except json.JSONDecodeError as exc:
            problems.append(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    unknown = unknown_variables(template, available)
    if unknown:
        problems.append("these variables do not apply and will be empty: "
                        + ", ".join("${" + n + "}" for n in unknown))
    return problems


def masked(secret_names: Iterable[str]) -> dict[str, str]:
    """Secret variables replaced by a mask, for the payload stored in history."""
    return {name: SECRET_MASK for name in secret_names}


def run_url(project_name: str, run_id: str) -> str:
    """The link that opens a run in the app (the desktop app handles the runbell: scheme)."""
    return f"runbell://projects/{project_name}/runs/{run_id}"


def variables_for_run_metric(
    *,
    automation_name: str,
    entity_name: str,
    project_name: str,
    run_name: str,
    run_id: str,
    event_author: str,
    condition: ThresholdCondition,
    metric_value: float,
    metric_values: Sequence[float],
    step: int | None = None,
    event_type: str = "RUN_METRIC",
) -> dict[str, Any]:
    """The payload variables of a run-metric firing (values keep their types; see render_json)."""
    return {
        "event_type": event_type,
        "event_author": event_author,
        "entity_name": entity_name,
        "project_name": project_name,
        "automation_name": automation_name,
        "run_name": run_name,
        "run_id": run_id,
        "run_url": run_url(project_name, run_id),
        "metric_name": condition.metric,
        "metric_value": float(metric_value),
        "metric_values": [float(v) for v in metric_values],
        "metric_filter": describe(condition),
        "metric_filter_short": describe_short(condition),
        "metric_current_status": True,
        "comparison_op": CMP_OPS[condition.cmp],
        "threshold": condition.threshold,
        "step": step,
    }


def variables_for_run_state(
    *, automation_name: str, entity_name: str, project_name: str, run_name: str, run_id: str,
    event_author: str, run_status: str,
) -> dict[str, Any]:
    return {
        "event_type": "RUN_STATE", "event_author": event_author, "entity_name": entity_name,
        "project_name": project_name, "automation_name": automation_name, "run_name": run_name,
        "run_id": run_id, "run_url": run_url(project_name, run_id), "run_status": run_status,
    }


def to_storable(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Variables as strict JSON (NaN/Infinity as text) for the execution row."""
    return _jsonable(dict(variables))


def from_storable(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Undo `to_storable` for numeric variables so resends render exactly like the first send."""
    out = dict(stored)
    for key in ("metric_value", "threshold"):
        if isinstance(out.get(key), str):
            out[key] = _float(out[key])
    if isinstance(out.get("metric_values"), list):
        out["metric_values"] = [_float(v) if isinstance(v, str) else v for v in out["metric_values"]]
    return out


def _float(text: str) -> float | str:
    table = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
    if text in table:
        return table[text]
    try:
        return float(text)
    except ValueError:
        return text
