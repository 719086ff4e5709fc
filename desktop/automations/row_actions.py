"""The Automations list's Duplicate and Test (no Qt: both run in the TaskRunner).

Test fires an automation's real action once with a sample event. The executions are written `pending` and marked
`is_test`; the running engine's dispatcher delivers them like any other firing, so History shows
the attempts and the endpoint's response.
"""
from __future__ import annotations

from typing import Any

from desktop.engine import firing, templating
from store import automations, executions, teams
from store import entities as e
from store.db import Database

MAX_NAME = automations.MAX_NAME
SAMPLE_RUN_ID, SAMPLE_RUN_NAME = "sample0", "sample-run"
# A plausible value per variable name; anything else gets its name as text.
_SAMPLES: dict[str, Any] = {
    "metric_value": 0.93, "metric_values": [0.91, 0.92, 0.93], "metric_current_status": True,
    "comparison_op": ">", "threshold": 0.9, "step": 100, "prior_value": 0.8, "change": 0.13,
    "zscore": 3.2, "mean": 0.85, "std": 0.025, "run_status": "finished", "stalled_minutes": 30.0,
    "artifact_collection_name": "sample-model", "artifact_version": "runbell://sample-model:v3",
    "artifact_version_string": "sample-model:v3", "artifact_version_index": 3, "alias": "production",
    "tag": "sample", "artifact_type": "model",
}

# What the History detail shows of the sample event (the payload still gets every variable).
_EVENT_KEYS = ("project_name", "run_name", "metric_name", "metric_value", "run_status",
               "artifact_version_string", "alias", "tag")


def _metric_name(event_filter: dict[str, Any]) -> str:
    metric = event_filter.get("run_metric_filter") or {}
    for value in metric.values():
        if isinstance(value, dict) and value.get("name"):
            return str(value["name"])
    return "metric"


def sample_variables(automation: e.Automation, *, project_name: str, team_name: str, author: str) -> dict[str, Any]:
    """Every payload variable the automation's event offers, with sample values."""
    names = templating.VARIABLES_BY_EVENT.get(automation.event_type, templating.COMMON_VARIABLES)
    known: dict[str, Any] = {
        "event_type": automation.event_type, "event_author": author, "entity_name": team_name,
        "project_name": project_name, "automation_name": automation.name, "run_name": SAMPLE_RUN_NAME,
        "run_id": SAMPLE_RUN_ID, "run_url": templating.run_url(project_name, SAMPLE_RUN_ID),
        "metric_name": _metric_name(automation.event_filter or {}),
        "metric_filter": "sample condition", "metric_filter_short": "sample condition", **_SAMPLES,
    }
    return {name: known.get(name, name) for name in names if not name.endswith(".*")}


def fire_test(db: Database, automation: e.Automation, *, team_name: str = "", author: str = "") -> list[e.Execution]:
    """One test firing of `automation`: one pending test execution per target."""
    project_name = teams.get_project(db, automation.project_id).name if automation.project_id is not None else ""
    variables = sample_variables(automation, project_name=project_name, team_name=team_name, author=author)
    text = f"Test of “{automation.name}” with a sample {automation.event_type} event"
    event = templating.to_storable({"type": automation.event_type, "test": True, "summary": text,
                                    **{k: v for k, v in variables.items() if k in _EVENT_KEYS}})
    details = firing.Firing(
        event_type=automation.event_type, event=event, variables=variables,
        default_title=f"[test] {automation.name}", default_text=text,
        fields=(("Project", project_name or "-"), ("Event", "sample (test)")),
        target={"kind": "project", "project_id": automation.project_id, "project_name": project_name},
    )
    return [
        executions.record_firing(
            db, automation=automation, project_id=automation.project_id, run_id=None,
            event_type=automation.event_type, event=event, action_type=target.action_type,
            action=target.action, status=target.status,
            reason=target.reason or "test with a sample event", is_test=True,
        )
        for target in firing.targets(db, automation, details)
    ]


def copy_name(name: str, taken: set[str]) -> str:
    """The first of 'name (copy)', 'name (copy 2)', … not in `taken`, at most MAX_NAME long."""
    for n in range(1, 10_000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free copy name for {name!r}")


def duplicate_automation(db: Database, automation: e.Automation, *, created_by: str = "") -> e.Automation:
    """A copy with every setting and a unique "(copy)" name; its history starts empty."""
    taken = {a.name for a in automations.list_automations(db, team_id=automation.team_id)}
    return automations.create_automation(
        db, team_id=automation.team_id, project_id=automation.project_id,
        name=copy_name(automation.name, taken), event_type=automation.event_type,
        event_filter=automation.event_filter, action_type=automation.action_type,
        action_config=automation.action_config, description=automation.description,
        enabled=automation.enabled, created_by=created_by or automation.created_by,
        scope_type=automation.scope_type, cooldown_seconds=automation.cooldown_seconds,
    )
