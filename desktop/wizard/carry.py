"""The bell dialog's values, carried over into the wizard ("Advanced…")."""
from __future__ import annotations

from typing import Any

from desktop.alert_spec import AGGREGATIONS, EMPTY_RUN_FILTER, OPERATORS, parse_threshold


def from_quick_alert(
    *, metric: str, aggregation: str, window: int, operator: str, threshold_text: str, name: str,
    desktop: bool, slack_integration_id: int | None,
) -> dict[str, Any]:
    """Wizard `initial` fields; an unfinished threshold is carried as typed (the wizard flags it)."""
    threshold: Any = threshold_text.strip()
    try:
        threshold = parse_threshold(threshold)
    except ValueError:
        pass
    text = {"title": "", "message": "", "severity": "INFO"}
    if slack_integration_id is not None:
        action: tuple[str, dict[str, Any]] = (
            "NOTIFICATION", {"integration_id": slack_integration_id, **text, "notify_desktop": desktop})
    else:
        action = ("DESKTOP_NOTIFICATION", text) if desktop else ("NO_OP", {})
    return {
        "name": name, "event_type": "RUN_METRIC", "action_type": action[0], "action_config": action[1],
        "event_filter": {"run_filter": EMPTY_RUN_FILTER, "run_metric_filter": {"threshold_filter": {
            "name": metric, "agg_op": AGGREGATIONS.get(aggregation), "window_size": window,
            "cmp_op": OPERATORS.get(operator, "$gt"), "threshold": threshold}}},
    }
