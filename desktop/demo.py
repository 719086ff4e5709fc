"""`runbell demo`: the demo project and its Slack-free desktop alert (no Qt here)."""
from __future__ import annotations

from desktop.alert_spec import QuickAlert
from store import automations, teams
from store import entities as e
from store.db import Database
from store.errors import ValidationError

PROJECT = "digits-demo"
ALERT_NAME = "val/acc avg5 > 0.9 (demo)"


def demo_alert() -> QuickAlert:
    """What a newcomer would click with the bell on the val/acc panel."""
    return QuickAlert(metric="val/acc", aggregation="Average", window=5, operator=">", threshold=0.9,
                      name=ALERT_NAME, desktop=True, slack_integration_id=None)


def prepare_demo(db: Database, team: e.Team) -> e.Project:
    """The project "digits-demo" and, unless it exists already, its desktop alert."""
    project = teams.get_or_create_project(db, team.id, PROJECT)
    if not any(a.name == ALERT_NAME for a in automations.list_automations(db, team_id=team.id)):
        try:
            automations.create_automation(
                db, team_id=team.id, project_id=project.id, created_by="runbell demo",
                description="Created by `runbell demo`: fires once the digits MLP is good enough.",
                **demo_alert().create_kwargs(),
            )
        except ValidationError:
            # another app instance may have created it a moment ago; anything else is a bug
            if not any(a.name == ALERT_NAME for a in automations.list_automations(db, team_id=team.id)):
                raise
    return project
