"""Building blocks for engine tests: a project with runs, automations, integrations, and a
desktop notifier that records instead of talking to D-Bus."""
from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store import automations, executions, integrations, runs, teams
from store import entities as e
from store.db import Database

from desktop.engine import conditions
from desktop.engine.actions.desktop_notify import NotificationError


@dataclass(frozen=True)
class Shown:
    title: str
    message: str
    severity: str
    target: dict[str, Any]


class RecordingNotifier:
    """A Notifier that records each notification (optionally failing) and can be waited on."""

    def __init__(self, fail_with: str | None = None) -> None:
        self.shown: list[Shown] = []
        self.fail_with = fail_with
        self._cond = threading.Condition()

    def notify(self, title: str, message: str, *, severity: str = "INFO",
               target: Mapping[str, Any] | None = None, timeout: float = 10.0) -> str:
        if self.fail_with:
            raise NotificationError(self.fail_with)
        with self._cond:
            self.shown.append(Shown(title, message, severity, dict(target or {})))
            self._cond.notify_all()
            return f"n{len(self.shown)}"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Shown]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.shown) >= n, timeout):
                raise AssertionError(f"expected {n} notifications, got {len(self.shown)}")
            return list(self.shown)

    def close(self) -> None:
        pass


class World:
    """One team, one project `digits`, helpers to add runs, points and automations."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.team, self.user = teams.ensure_default_team(db, "alice")
        self.project = teams.get_or_create_project(db, self.team.id, "digits")
        self._step: dict[str, int] = {}

    def run(self, name: str = "golden-sun-3", **kwargs: Any) -> e.Run:
        return runs.create_run(self.db, self.project.id, name=name, username=kwargs.pop("username", "alice"), **kwargs)

    def log(self, run: e.Run, key: str, values: Sequence[float]) -> list[int]:
        """Append values as one batch at the next steps; returns the steps."""
        start = self._step.get(run.id, 0)
        steps = list(range(start, start + len(values)))
        self._step[run.id] = start + len(values)
        now = time.time()
        runs.append_points(self.db, run.id, [(key, s, float(v), now) for s, v in zip(steps, values)])
        return steps

    def slack(self, url: str, channel: str = "#ml-alerts") -> e.Integration:
        return integrations.create_slack(self.db, self.team.id, workspace="acme", channel=channel, webhook_url=url)

    def automation(
        self, *, name: str = "acc watch", metric: str = "val/acc", agg: str | None = "AVERAGE", window: int = 3,
        cmp: str = "$gt", threshold: float = 0.9, action_type: str = "NOTIFICATION",
        action_config: dict[str, Any] | None = None, run_filter: str = '{"$and": []}',
        cooldown_seconds: int = 24 * 3600, enabled: bool = True, event_filter: dict[str, Any] | None = None,
        event_type: str = "RUN_METRIC",
    ) -> e.Automation:
        if event_filter is None:
            event_filter = conditions.threshold_filter(metric, agg=agg, window=window, cmp=cmp, threshold=threshold,
                                                       run_filter=run_filter)
        return automations.create_automation(
            self.db, team_id=self.team.id, project_id=self.project.id, name=name, event_type=event_type,
            event_filter=event_filter, action_type=action_type, action_config=action_config or {},
            cooldown_seconds=cooldown_seconds, enabled=enabled, created_by="alice",
        )

    def executions(self, automation: e.Automation | None = None, **kwargs: Any) -> list[e.Execution]:
        """Oldest first."""
        found = executions.list_executions(self.db, project_id=self.project.id,
                                           automation_id=automation.id if automation else None, **kwargs)
        return sorted(found, key=lambda x: x.id)
