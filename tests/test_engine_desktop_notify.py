"""NativeNotifier (desktop-notifier on its own asyncio loop) against a real private session bus:
with a notification server (dunst) the notification arrives; without one the attempt fails
with a clear error. Skipped when the desktop programs are missing, unless CI requires them."""
from __future__ import annotations

import pytest

from desktop.engine.actions.desktop_notify import NativeNotifier, NotificationError
from tests.support.desktop_session import DesktopSession, DesktopUnavailable, desktop_required


def _session(**kwargs) -> DesktopSession:
    session = DesktopSession(keyring=False, **kwargs)
    try:
        return session.start()
    except DesktopUnavailable as exc:
        if desktop_required():
            raise
        pytest.skip(f"no private desktop session: {exc.reason}")


def test_notification_reaches_the_notification_server(monkeypatch):
    session = _session()
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.bus_address)
        notifier = NativeNotifier(app_name="Runbell")
        try:
            notifier.notify("val/acc crossed", "AVERAGE(val/acc) over 5 > 0.9: 0.93", severity="WARN", timeout=10)
            note = session.recorder.wait_for(lambda n: n.summary == "val/acc crossed", timeout=10)
            assert note.app_name == "Runbell"
            assert note.body == "AVERAGE(val/acc) over 5 > 0.9: 0.93"
            notifier.notify("second", "still works", timeout=10)  # the long-lived loop keeps serving
            session.recorder.wait_for(lambda n: n.summary == "second", timeout=10)
        finally:
            notifier.close()
    finally:
        session.close()


def test_bus_without_a_notification_server_fails_clearly(monkeypatch):
    session = _session(notifications=False)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.bus_address)
        notifier = NativeNotifier()
        try:
            for _ in range(2):  # each attempt fails on its own, from a fresh connection
                with pytest.raises(NotificationError, match="org.freedesktop.Notifications was not provided"):
                    notifier.notify("t", "m", timeout=10)
        finally:
            notifier.close()
    finally:
        session.close()
