"""Team Settings → Members: the team's users and, for admins, changing a member's role.

Object names: "members-table", "member-role" (the role picker), "member-role-apply" ("Change role"),
message "members-table-message".
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from desktop.context import AppContext
from desktop.page_helpers import alive, show_message, user_message
from desktop.tasks import TaskRunner
from desktop.team_settings.section import Section
from store import entities as e
from store import teams

ADMIN_ONLY_TOOLTIP = "Only team admins can change roles. Ask an admin to change yours or someone else's."
ROLE_HINT = ("Roles: admins manage members, automations and integrations; members manage automations "
             "and integrations; viewers only look.")


class MembersSection(Section):
    """Signals:
        changed(): a role was changed (the page reloads).
    """

    changed = Signal()

    def __init__(self, ctx: AppContext, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Members", "members-table", ("User", "Display name", "Role"), hint=ROLE_HINT,
                         parent=parent)
        self._ctx = ctx
        self._tasks = tasks
        self._users: dict[int, e.User] = {}
        self._busy = False
        self.buttons.insertWidget(1, QLabel("Role:"))
        self.role = QComboBox()
        self.role.setObjectName("member-role")
        for role in e.ROLES:
            self.role.addItem(role, role)
        self.buttons.insertWidget(2, self.role)
        self.apply = self.add_button("Change role", "member-role-apply")
        self.apply.clicked.connect(self.change_role)
        self.role.currentIndexChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self._update_buttons()

    def set_users(self, users: list[e.User]) -> None:
        self._users = {u.id: u for u in users}
        self.set_rows([(u.id, (u.username, u.display_name, u.role)) for u in users])
        self._on_selection()

    def selected_user(self) -> e.User | None:
        key = self.selected_key()
        return self._users.get(key) if isinstance(key, int) else None

    def _on_selection(self) -> None:
        user = self.selected_user()
        if user is not None:
            self.role.blockSignals(True)
            self.role.setCurrentIndex(self.role.findData(user.role))
            self.role.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        admin = self._ctx.is_admin
        user = self.selected_user()
        self.role.setEnabled(admin and user is not None and not self._busy)
        changes = user is not None and self.role.currentData() != user.role
        self.apply.setEnabled(admin and changes and not self._busy)
        if not admin:
            tip = ADMIN_ONLY_TOOLTIP
        elif user is None:
            tip = "Select a member first"
        else:
            tip = f"Give {user.username} the role picked on the left"
        for widget in (self.role, self.apply):
            widget.setToolTip(tip)

    def change_role(self) -> None:
        user, role = self.selected_user(), self.role.currentData()
        if user is None or not self.apply.isEnabled():
            return
        db = self._ctx.db
        self._busy = True
        show_message(self.message, "")
        self._update_buttons()
        self._tasks.run(lambda: teams.set_role(db, user.id, role), self._on_changed, self._on_failed)

    def _on_changed(self, _user: e.User) -> None:
        if alive(self):
            self._busy = False
            self.changed.emit()

    def _on_failed(self, exc: Exception) -> None:
        if alive(self):
            self._busy = False
            show_message(self.message, f"Role not changed: {user_message(exc)}")
            self._on_selection()
