"""The history detail pane as HTML (pure): event, action target, payload and every attempt.

Payloads are shown exactly as the engine recorded them, which is already with secrets masked.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from desktop.automations.history_model import STATUS_COLORS
from desktop.automations.summary import ACTION_NAMES, execution_action_summary, execution_event_summary, number
from desktop.page_helpers import local_time
from store import entities as e

# Where the engine keeps what was sent, best first (the rendered body beats the template).
PAYLOAD_KEYS = ("rendered_payload", "payload", "body", "message", "request_payload")
HIDDEN_KEYS = {"variables", "integration_id", "webhook", "url", "channel"}  # shown as Target
SHOWN_EVENT_KEYS = {"summary", "type", "run_id"}  # already in the header rows
TEST_COLOR = "#6a5acd"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return ", ".join(number(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _label(key: str) -> str:
    if key == "target":
        return "Opens"  # what clicking a desktop notification shows
    return key.replace("_", " ").capitalize()


def _rows(pairs: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><td style='padding-right:12px;color:#7f8790'>{escape(k)}</td><td>{escape(_value(v))}</td></tr>"
        for k, v in pairs if v not in (None, "", [], {})
    )
    return f"<table cellspacing='0' cellpadding='2'>{cells}</table>"


def _pretty(payload: Any) -> str:
    if isinstance(payload, str):
        try:
            return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
        except ValueError:
            return payload
    return json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)


def _attempts(attempts: tuple[e.Attempt, ...]) -> str:
    if not attempts:
        return "<p>No delivery attempt yet.</p>"
    head = "".join(f"<th align='left' style='padding-right:10px'>{h}</th>"
                   for h in ("#", "Time", "HTTP status", "Latency", "Response", "Error"))
    body = ""
    for n, a in enumerate(attempts, 1):
        status = "—" if a.status_code is None else str(a.status_code)
        body += (
            f"<tr><td>{n}</td><td>{escape(local_time(a.started_at))}</td><td>{status}</td>"
            f"<td>{a.latency_ms:.0f} ms</td><td><code>{escape(a.response_excerpt[:300])}</code></td>"
            f"<td style='color:{STATUS_COLORS['failed']}'>{escape(a.error[:300])}</td></tr>"
        )
    return f"<table cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


def _target(x: e.Execution, integrations: Mapping[int, e.Integration] | None) -> str:
    action = x.action or {}
    target = execution_action_summary(x, integrations)
    if action.get("url"):
        target += f" ({action['url']})"
    return target


def detail_html(x: e.Execution, integrations: Mapping[int, e.Integration] | None = None) -> str:
    color = STATUS_COLORS.get(x.status, "#7f8790")
    parts = [
        f"<h3 style='margin:0'>{escape(x.automation_name)}"
        + (f" <span style='background:{TEST_COLOR};color:white;padding:1px 4px'>&nbsp;TEST&nbsp;</span>"
           if x.is_test else "") + "</h3>",
        f"<p><b style='color:{color}'>{escape(x.status.capitalize())}</b>"
        f" · triggered {escape(local_time(x.triggered_at))}"
        + (f" · done {escape(local_time(x.finished_at))}" if x.finished_at else "")
        + (f"<br>{escape(x.reason)}" if x.reason else "") + "</p>",
        "<h4>Event</h4>",
        f"<p>{escape(execution_event_summary(x))}</p>",
        _rows([("Type", x.event_type), ("Run", x.run_id), ("Scope", x.scope)]
              + [(_label(k), v) for k, v in sorted((x.event or {}).items()) if k not in SHOWN_EVENT_KEYS]),
    ]
    action = dict(x.action or {})
    payload_key = next((k for k in PAYLOAD_KEYS if action.get(k) not in (None, "", {})), None)
    payload = action.pop(payload_key) if payload_key else None
    if payload_key == "rendered_payload":
        action.pop("request_payload", None)
    parts += [
        "<h4>Action</h4>",
        _rows([("Type", ACTION_NAMES.get(x.action_type, x.action_type)), ("Target", _target(x, integrations)),
               ("Delivery id", x.delivery_id)]
              + [(_label(k), v) for k, v in sorted(action.items()) if k not in HIDDEN_KEYS]),
    ]
    if payload is not None:
        title = "Payload template (not rendered yet)" if payload_key == "request_payload" else "Payload"
        parts.append(f"<h4>{title}</h4><pre>{escape(_pretty(payload))}</pre>")
    parts += [f"<h4>Attempts ({len(x.attempts)})</h4>", _attempts(x.attempts)]
    return "\n".join(parts)
