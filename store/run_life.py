"""When a run is presumed dead: the engine marks a run `crashed` when its heartbeat goes stale
(case C4); a process that was only suspended (a laptop asleep, SIGSTOP) and writes again is
alive after all, and goes back to `running` so that it can still end `finished`."""
from __future__ import annotations

import sqlalchemy.orm as so

from store import events
from store import models as m

HEARTBEAT_LOST = "heartbeat lost"


def revive_if_presumed_dead(s: so.Session, run: m.Run) -> None:
    """Inside the caller's transaction, on any sign of life (a heartbeat, new points)."""
    if run.state == "crashed" and run.error_tail == HEARTBEAT_LOST:
        run.state, run.finished_at, run.error_tail = "running", None, ""
        events.record(s, events.RUN_STATE, project_id=run.project_id, run_id=run.id,
                      payload={"state": "running", "previous": "crashed", "exit_code": None,
                               "reason": "heartbeat came back"})
