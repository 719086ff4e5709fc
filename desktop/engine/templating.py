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
_UNFINISHED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)(?![A-Za-z0-9_.\-}])")  # "${run_name" with no }
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
CHANGE_VARIABLES = {**RUN_METRIC_VARIABLES, "prior_value": "the prior window's aggregate",
                    "change": "the change (absolute, or relative as a fraction)"}
ZSCORE_VARIABLES = {**RUN_METRIC_VARIABLES, "zscore": "the newest value's z-score",
                    "mean": "mean of the window before the newest value", "std": "its standard deviation"}
RUN_STALLED_VARIABLES = {**RUN_STATE_VARIABLES, "stalled_minutes": "minutes without a new step",
                         "step": "the last step logged"}
ARTIFACT_VARIABLES = {
    **COMMON_VARIABLES,
    "artifact_collection_name": "collection the version belongs or is linked to",
    "artifact_version": "artifact reference URI",
    "artifact_version_string": "readable path, e.g. team/project/model:v3",
    "artifact_version_index": "version index, e.g. 3",
    "artifact_metadata.*": "a top-level metadata key of the version, e.g. ${artifact_metadata.accuracy}",
}
ALIAS_VARIABLES = {**ARTIFACT_VARIABLES, "alias": "the alias added"}
TAG_VARIABLES = {**ARTIFACT_VARIABLES, "tag": "the tag added or removed"}
COLLECTION_TAG_VARIABLES = {**COMMON_VARIABLES, "artifact_collection_name": ARTIFACT_VARIABLES["artifact_collection_name"],
                            "tag": "the tag added or removed"}
VARIABLES_BY_EVENT: dict[str, dict[str, str]] = {
    "RUN_METRIC": RUN_METRIC_VARIABLES, "RUN_METRIC_CHANGE": CHANGE_VARIABLES,
    "RUN_METRIC_ZSCORE": ZSCORE_VARIABLES, "RUN_METRIC_NAN": RUN_METRIC_VARIABLES,
    "RUN_STATE": RUN_STATE_VARIABLES, "RUN_STALLED": RUN_STALLED_VARIABLES,
    "CREATE_ARTIFACT": ARTIFACT_VARIABLES, "LINK_ARTIFACT": ARTIFACT_VARIABLES, "UNLINK_ARTIFACT": ARTIFACT_VARIABLES,
    "ADD_ARTIFACT_ALIAS": ALIAS_VARIABLES, "ADD_ARTIFACT_TAG": TAG_VARIABLES, "REMOVE_ARTIFACT_TAG": TAG_VARIABLES,
    "ADD_COLLECTION_TAG": COLLECTION_TAG_VARIABLES, "REMOVE_COLLECTION_TAG": COLLECTION_TAG_VARIABLES,
}


def variables_in(template: str) -> list[str]:
    """Variable names used in a template, in order of first use."""
    seen: dict[str, None] = {}
    for match in VARIABLE.finditer(template or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def _known(name: str, known: set[str]) -> bool:
    """`artifact_metadata.*` in `known` stands for every `artifact_metadata.<key>`."""
    return name in known or ("." in name and name.split(".", 1)[0] + ".*" in known and not name.endswith("."))


def unknown_variables(template: str, available: Iterable[str]) -> list[str]:
    """Variables the template uses that will render empty (for the editor's warning)."""
    known = set(available)
    return [name for name in variables_in(template) if not _known(name, known)]


def webhook_variable_names(event_type: str, secret_names: Iterable[str] = ()) -> list[str]:
    """What a webhook payload for this event type may use: event variables, `ACCESS_TOKEN` and
    the names of the webhook's own secrets (a team secret not attached to the webhook does not
    resolve)."""
    base = VARIABLES_BY_EVENT.get(event_type, RUN_METRIC_VARIABLES)
    return [*base, ACCESS_TOKEN, *secret_names]


def check_webhook_payload(template: str, event_type: str, secret_names: Iterable[str] = ()) -> list[str]:
    """The payload editor's problems for a webhook action on this event (empty list = fine)."""
    return check_json_template(template, webhook_variable_names(event_type, secret_names))


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


def loads_strict(text: str) -> Any:
    """`json.loads` without Python's extensions: NaN and ±Infinity are not JSON, and strict
    receivers reject a body that has them."""
    def refuse(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not valid JSON (send it as a string: \"{name}\")", text,
                                   max(0, text.find(name)))

    return json.loads(text, parse_constant=refuse)


def check_json_template(template: str, available: Iterable[str]) -> list[str]:
    """Problems to show in the payload editor (empty list = fine)."""
    problems = []
    if (template or "").strip():
        sample = {name: "x" for name in [*available, *variables_in(template)]}
        try:
            loads_strict(render_json(template, sample))
        except json.JSONDecodeError as exc:
            problems.append(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    unknown = unknown_variables(template, available)
    if unknown:
        problems.append("these variables do not apply and will be empty: "
                        + ", ".join("${" + n + "}" for n in unknown))
    unfinished = _UNFINISHED.findall(template or "")
    if unfinished:
        problems.append("not a variable, sent as written (close it with }): "
                        + ", ".join("${" + n for n in unfinished))
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


# --- appended by the event helper: change, z-score, NaN/Inf and stalled events ------------------

def variables_for_metric_event(
    *, event_type: str, automation_name: str, entity_name: str, project_name: str, run_name: str, run_id: str,
    event_author: str, metric_name: str, metric_value: float, metric_values: Sequence[float],
    metric_filter: str, metric_filter_short: str, comparison_op: str, threshold: float | None,
    step: int | None, extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Payload variables of a RUN_METRIC_CHANGE / _ZSCORE / _NAN firing: the RUN_METRIC set, plus
    `extra` (e.g. `prior_value`, `change`, `zscore`, `mean`, `std`)."""
    return {
        "event_type": event_type, "event_author": event_author, "entity_name": entity_name,
        "project_name": project_name, "automation_name": automation_name, "run_name": run_name,
        "run_id": run_id, "run_url": run_url(project_name, run_id), "metric_name": metric_name,
        "metric_value": float(metric_value), "metric_values": [float(v) for v in metric_values],
        "metric_filter": metric_filter, "metric_filter_short": metric_filter_short,
        "metric_current_status": True, "comparison_op": comparison_op, "threshold": threshold,
        "step": step, **dict(extra or {}),
    }


def variables_for_run_stalled(
    *, automation_name: str, entity_name: str, project_name: str, run_name: str, run_id: str,
    event_author: str, stalled_minutes: float, step: int | None,
) -> dict[str, Any]:
    return {
        "event_type": "RUN_STALLED", "event_author": event_author, "entity_name": entity_name,
        "project_name": project_name, "automation_name": automation_name, "run_name": run_name,
        "run_id": run_id, "run_url": run_url(project_name, run_id), "run_status": "running",
        "stalled_minutes": stalled_minutes, "step": step,
    }


# --- appended by the artifact-events helper ---------------------------------------------------

def variables_for_artifact_event(*, automation_name: str, event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Payload variables of an artifact firing (reference §3.2) from a store artifact event payload:
    the common set, the artifact set, `alias` / `tag` (empty when they do not apply) and one
    `artifact_metadata.<KEY>` per top-level metadata key (nested keys are not supported)."""
    metadata = payload.get("artifact_metadata") or {}
    out: dict[str, Any] = {
        "event_type": event_type, "event_author": payload.get("event_author") or "",
        "entity_name": payload.get("entity_name") or "", "project_name": payload.get("project_name") or "",
        "automation_name": automation_name,
        "artifact_collection_name": payload.get("artifact_collection_name") or "",
        "artifact_version": payload.get("artifact_version") or "",
        "artifact_version_string": payload.get("artifact_version_string") or "",
        "artifact_version_index": payload.get("artifact_version_index"),
        "alias": payload.get("alias") or "", "tag": payload.get("tag") or "",
    }
    if isinstance(metadata, Mapping):
        out.update({f"artifact_metadata.{key}": value for key, value in metadata.items()})
    return out
