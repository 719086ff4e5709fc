"""What every screen needs to know: the database, the team and the signed-in user."""
from __future__ import annotations

from dataclasses import dataclass

from store import entities as e
from store.db import Database


@dataclass(frozen=True)
class AppContext:
    db: Database
    team: e.Team
    user: e.User

    @property
    def can_edit(self) -> bool:
        """Viewers may look but not create or edit automations and integrations."""
        return self.user.role in ("admin", "member")

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"
