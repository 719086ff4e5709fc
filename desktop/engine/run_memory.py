"""The per-(automation, run) edge memory, cached in the evaluator (issue 3: engine at scale).

The database stays the truth (executions.run_state / edge_step, written in the firing's
transaction); this cache only saves the two reads per automation and event. It is safe because
only the evaluator holding the lease writes that memory: the evaluator clears the cache whenever
it (re)takes the lease, on an automation change and after a failed pass, and every write goes
through here so the cache follows it (a firing drops the entry: its time is the store's clock).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from store import executions
from store.db import Database

MAX_ENTRIES = 200_000  # runs come and go; a bound keeps memory flat over weeks


class RunMemory:
    def __init__(self, db: Database, siblings: Callable[[int | None], list[int]]) -> None:
        """`siblings(project id)`: the automations whose memory to load with a missing one."""
        self.db = db
        self._siblings = siblings
        self._entries: dict[tuple[int, str], tuple[bool, datetime | None, int | None]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def get(self, automation_id: int, run_id: str,
            project_id: int | None = None) -> tuple[bool, datetime | None, int | None]:
        """(last condition, last firing time, edge step); a miss loads the project's other
        automations for the run too (one read per run instead of one per automation)."""
        key = (automation_id, run_id)
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
            wanted = {automation_id, *(self._siblings(project_id) if project_id is not None else ())}
            loaded = executions.run_memories(self.db, run_id, list(wanted))
            for aid in wanted:
                if (aid, run_id) not in self._entries:
                    self._entries[(aid, run_id)] = loaded.get(aid, (False, None, None))
            entry = self._entries[key]
        return entry

    def edge_step(self, automation_id: int, run_id: str, project_id: int | None = None) -> int | None:
        return self.get(automation_id, run_id, project_id)[2]

    def run_state(self, automation_id: int, run_id: str,
                  project_id: int | None = None) -> tuple[bool, datetime | None]:
        condition, fired, _edge = self.get(automation_id, run_id, project_id)
        return condition, fired

    def remember_condition(self, automation_id: int, run_id: str, condition: bool) -> None:
        executions.remember_condition(self.db, automation_id, run_id, condition)
        entry = self._entries.get((automation_id, run_id))
        if entry is not None:
            self._entries[(automation_id, run_id)] = (condition, entry[1], entry[2])

    def set_edge_step(self, automation_id: int, run_id: str, step: int) -> None:
        executions.set_edge_step(self.db, automation_id, run_id, step)
        entry = self._entries.get((automation_id, run_id))
        if entry is not None and (entry[2] is None or step > entry[2]):
            self._entries[(automation_id, run_id)] = (entry[0], entry[1], step)

    def forget(self, automation_id: int, run_id: str) -> None:
        """After a firing write: reload from the database on the next look."""
        self._entries.pop((automation_id, run_id), None)
