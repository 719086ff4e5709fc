"""The quick alert of a plot panel's bell, as stored automation fields (no Qt).

The stored shapes are the original's (CONTEXT "Stored shapes"): event type RUN_METRIC with a
`threshold_filter`, and a Slack NOTIFICATION or a DESKTOP_NOTIFICATION action.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from desktop.automations.summary import CMP_SYMBOLS, condition_summary

# label → stored agg_op (None: the latest value, window ignored)
AGGREGATIONS: dict[str, str | None] = {"Average": "AVERAGE", "Min": "MIN", "Max": "MAX", "Last": None}
_SHORT_AGG = {"AVERAGE": "avg", "MIN": "min", "MAX": "max"}
OPERATORS: dict[str, str] = {symbol: op for op, symbol in CMP_SYMBOLS.items()}  # ">" → "$gt"
EMPTY_RUN_FILTER = json.dumps({"$and": []})
_INT = re.compile(r"^[+-]?\d+$")


def parse_threshold(text: str, what: str = "threshold") -> int | float:
    """A finite number as typed ("0.9", "-3", "1e-4"); raises ValueError with a message for people
    (`what`: the field's name in it)."""
    text = text.strip()
    if not text:
        raise ValueError(f"enter a {what}, e.g. 0.9")
    not_a_number = ValueError("not a number: use digits and a dot, e.g. 0.9 or 1e-3")
    # float() and int() also read "1_000", Arabic-Indic and other Unicode digits: not what was meant
    if "_" in text or not text.isascii():
        raise not_a_number
    if _INT.match(text):
        if len(text.lstrip("+-")) > 300:
            raise ValueError(f"the {what} has too many digits")
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise not_a_number from None
    if not math.isfinite(value):
        raise ValueError(f"the {what} must be a finite number")
    if value == 0 and any(c in "123456789" for c in text.lower().split("e")[0]):
        raise ValueError(f"the {what} {text} is too close to 0 to be told apart from 0")
    return value


@dataclass(frozen=True)
class QuickAlert:
    metric: str
    aggregation: str  # a key of AGGREGATIONS
    window: int
    operator: str  # a key of OPERATORS
    threshold: int | float
    name: str
    desktop: bool
    slack_integration_id: int | None  # None: no Slack message

    @property
    def agg_op(self) -> str | None:
        return AGGREGATIONS[self.aggregation]

    def event_filter(self) -> dict[str, Any]:
        return {
            "run_filter": EMPTY_RUN_FILTER,
            "run_metric_filter": {
                "threshold_filter": {
                    "name": self.metric,
                    "agg_op": self.agg_op,
                    "window_size": self.window if self.agg_op else 1,
                    "cmp_op": OPERATORS[self.operator],
                    "threshold": self.threshold,
                }
            },
        }

    def action(self) -> tuple[str, dict[str, Any]]:
        """(action_type, action_config); Slack wins, with the desktop copy as `notify_desktop`."""
        # Empty: the engine then writes the event summary (condition, value, step, run, project).
        message = ""
        if self.slack_integration_id is not None:
            return "NOTIFICATION", {
                "integration_id": self.slack_integration_id, "title": self.name, "message": message,
                "severity": "INFO", "notify_desktop": self.desktop,
            }
        if self.desktop:
            return "DESKTOP_NOTIFICATION", {"title": self.name, "message": message, "severity": "INFO"}
        raise ValueError("choose at least one action")

    def create_kwargs(self) -> dict[str, Any]:
        action_type, action_config = self.action()
        return {
            "name": self.name.strip(), "event_type": "RUN_METRIC", "event_filter": self.event_filter(),
            "action_type": action_type, "action_config": action_config, "scope_type": "project",
        }


def default_name(metric: str, aggregation: str, window: int, operator: str, threshold_text: str) -> str:
    """E.g. "val/acc avg5 > 0.9", or "loss < 0.1" for the latest value."""
    agg = AGGREGATIONS.get(aggregation)
    subject = f"{metric} {_SHORT_AGG[agg]}{window}" if agg else metric
    return f"{subject} {operator} {threshold_text.strip()}".strip()
