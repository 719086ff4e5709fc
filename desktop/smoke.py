"""`runbell smoke --webhook-url URL`: the packaged app checks itself (a hidden command).

It starts like `runbell demo` (opens or creates the database, runs the migrations, starts the
engine and the demo's real training in a child process), checks that every bundled resource
loads, and adds a GENERIC_WEBHOOK automation that fires on the demo run's first `train/acc`.
It exits 0 once that delivery is recorded `finished`, 1 when it fails or nothing arrives within
`--timeout` seconds. tests/test_frozen.py runs it against a loopback receiver.
"""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QIcon

from desktop import resources
from desktop.alert_spec import EMPTY_RUN_FILTER

log = logging.getLogger("runbell.smoke")

AUTOMATION = "smoke: train/acc >= 0 to webhook"
PAYLOAD = '{"check": "runbell smoke", "automation": "${automation_name}", "run": "${run_id}", "value": ${metric_value}}'
POLL_MS = 250


def check_resources() -> list[str]:
    """Problems with bundled files: every SVG icon must exist and render."""
    problems = []
    icons = sorted(resources.resources_dir().glob("icons/**/*.svg"))
    if not icons:
        problems.append(f"no icons under {resources.resources_dir()}")
    for path in icons:
        if QIcon(str(path)).pixmap(32, 32).isNull():
            problems.append(f"icon does not render: {path}")
    if resources.app_icon().isNull():
        problems.append("the app icon is missing")
    return problems


class SmokeCheck(QObject):
    """Adds the webhook automation, then watches its executions; `result` is the exit code."""

    def __init__(self, webhook_url: str, timeout: float) -> None:
        super().__init__()
        self.webhook_url = webhook_url
        self.timeout = timeout
        self.result = 1
        self._started: Any = None
        self._timer = QTimer(self)
        self._timer.setObjectName("smoke-poll")
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._deadline = QTimer(self)
        self._deadline.setObjectName("smoke-deadline")
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._give_up)

    def start(self, app: Any) -> None:
        """Called by run_gui once the window shows (`app` has window, db, team, engine)."""
        from store import automations, integrations

        self._app = app
        problems = check_resources()
        if app.engine is None:
            problems.append("the engine did not start")
        if problems:
            for problem in problems:
                log.error("smoke: %s", problem)
            self._finish(1)
            return
        project = app.project
        hook = integrations.create_webhook(app.db, app.team.id, name="smoke-receiver", url=self.webhook_url)
        self.automation = automations.create_automation(
            app.db, team_id=app.team.id, project_id=project.id, name=AUTOMATION, created_by="runbell smoke",
            event_type="RUN_METRIC", scope_type="project",
            event_filter={"run_filter": EMPTY_RUN_FILTER, "run_metric_filter": {"threshold_filter": {
                "name": "train/acc", "agg_op": None, "window_size": 1, "cmp_op": "$gte", "threshold": 0}}},
            action_type="GENERIC_WEBHOOK",
            action_config={"integration_id": hook.id, "request_payload": PAYLOAD},
        )
        log.info("smoke: waiting for automation %s to reach %s", self.automation.id, self.webhook_url)
        self._timer.start()
        self._deadline.start(int(self.timeout * 1000))

    def _poll(self) -> None:
        from store import executions

        for execution in executions.list_executions(self._app.db, automation_id=self.automation.id, limit=5):
            if execution.status == "finished":
                log.info("smoke: passed (execution %s: %s)", execution.id, execution.reason)
                self._finish(0)
                return
            if execution.status == "failed":
                log.error("smoke: the webhook delivery failed: %s", execution.reason)
                self._finish(1)
                return

    def _give_up(self) -> None:
        log.error("smoke: no webhook delivery within %g s", self.timeout)
        self._finish(1)

    def _finish(self, code: int) -> None:
        self.result = code
        self._timer.stop()
        self._deadline.stop()
        QTimer.singleShot(0, self._app.window.quit_app)


def run_smoke(db_url: str | None, webhook_url: str, timeout: float) -> int:
    from desktop.app import run_gui

    check = SmokeCheck(webhook_url, timeout)
    code = run_gui(db_url, demo=True, on_ready=check.start, quit_after=timeout + 30)
    return code or check.result
