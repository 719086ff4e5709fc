"""Proves tests/support/desktop_session.py gives tests real desktop services.

No Qt here.  Tests that need the programs (Xvfb, dbus-daemon, gnome-keyring,
dunst, xdotool) skip when they are missing, unless RUNBELL_REQUIRE_DESKTOP=1
(set by .ci/run), in which case they fail.  Nothing sleeps: arrivals are
awaited with NotificationRecorder.wait_for (a threading.Condition).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from tests.support.desktop_session import (
    DesktopSession,
    DesktopUnavailable,
    NotificationRecorder,
    desktop_required,
    parse_notify_call,
)


def _unavailable(reason: str):
    if desktop_required():
        pytest.fail(f"desktop services required (RUNBELL_REQUIRE_DESKTOP=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def desktop():
    try:
        session = DesktopSession().start()
    except DesktopUnavailable as exc:
        _unavailable(exc.reason)
    session.apply_to_os_environ()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def recorder(desktop) -> NotificationRecorder:
    assert desktop.recorder is not None
    desktop.recorder.clear()
    return desktop.recorder


# --------------------------------------------------------------------------
# pure parsing (no binaries needed)

MONITOR_NOTIFY_ARGS = """\
   string "Runbell"
   uint32 0
   string ""
   string "Job "backup" done"
   string "line1
line2 "quoted"
   string "fake""
   array [
      string "default"
      string ""
   ]
   array [
      dict entry(
         string "urgency"
         variant             byte 1
      )
   ]
   int32 -1"""


def test_parse_notify_call_handles_multiline_and_quotes():
    note = parse_notify_call(MONITOR_NOTIFY_ARGS, sender=":1.7")
    assert note is not None
    assert note.app_name == "Runbell"
    assert note.summary == 'Job "backup" done'
    assert note.body == 'line1\nline2 "quoted"\n   string "fake"'
    assert note.actions == ("default", "")
    assert note.expire_timeout == -1
    assert note.sender == ":1.7"


def test_parse_notify_call_incomplete_returns_none():
    partial = MONITOR_NOTIFY_ARGS.rsplit("\n", 1)[0]
    assert parse_notify_call(partial) is None


def test_missing_binary_raises_desktop_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # empty dir: nothing found
    with pytest.raises(DesktopUnavailable, match="Xvfb"):
        DesktopSession().start()


# --------------------------------------------------------------------------
# real services


def test_env_points_into_private_session(desktop):
    env = desktop.env
    assert env["DISPLAY"] == desktop.display and env["DISPLAY"].startswith(":")
    assert env["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:path=" + str(desktop.workdir))
    assert env["XDG_RUNTIME_DIR"] == str(desktop.runtime_dir)
    assert oct(desktop.runtime_dir.stat().st_mode & 0o777) == "0o700"
    for key, value in env.items():
        assert os.environ[key] == value
    assert "WAYLAND_DISPLAY" not in os.environ


def test_xvfb_screen_geometry(desktop):
    if shutil.which("xdotool") is None:
        _unavailable("xdotool not installed")
    out = subprocess.run(
        ["xdotool", "getdisplaygeometry"], env=desktop.subprocess_env(),
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout.split()
    assert out == ["1600", "1000"]


def test_keyring_round_trip_through_gnome_keyring(desktop):
    import keyring
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    service, user = "runbell-test", "alice@example.invalid"
    backend.set_password(service, user, "hunter2 ✓")
    assert backend.get_password(service, user) == "hunter2 ✓"
    backend.delete_password(service, user)
    assert backend.get_password(service, user) is None
    # PYTHON_KEYRING_BACKEND in desktop.env makes the default API use it too.
    assert type(keyring.core.load_env()).__name__ == "Keyring"


def test_desktop_notifier_reaches_daemon(desktop, recorder, caplog):
    from desktop_notifier import DesktopNotifier

    async def send() -> str:
        # desktop-notifier opens its D-Bus connection lazily on the running
        # loop and offers no public close; disconnect it before the loop ends.
        notifier = DesktopNotifier(app_name="Runbell")
        try:
            return await notifier.send(title="Backup finished", message="3 files\nall ok")
        finally:
            bus = getattr(getattr(notifier, "_backend", None), "bus", None)
            if bus is not None:
                bus.disconnect()
                await bus.wait_for_disconnect()

    asyncio.run(send())
    # send() logs instead of raising on failure; the recorder is the oracle.
    try:
        note = recorder.wait_for(lambda n: n.summary == "Backup finished", timeout=10)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\ndesktop-notifier log:\n{caplog.text}")
    assert note.app_name == "Runbell"
    assert note.body == "3 files\nall ok"


def test_raw_dbus_notify_is_answered_by_dunst(desktop, recorder):
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    target = DBusAddress(
        "/org/freedesktop/Notifications",
        bus_name="org.freedesktop.Notifications",
        interface="org.freedesktop.Notifications",
    )
    msg = new_method_call(
        target, "Notify", "susssasa{sv}i",
        ("Runbell-raw", 0, "", 'Reminder "standup"', "in 5 min", [], {}, 5000),
    )
    with open_dbus_connection(bus=desktop.bus_address) as conn:
        reply = conn.send_and_get_reply(msg, timeout=10)
    (notification_id,) = reply.body
    assert notification_id > 0  # dunst accepted and numbered it

    note = recorder.wait_for(lambda n: n.app_name == "Runbell-raw", timeout=10)
    assert note.summary == 'Reminder "standup"'
    assert note.body == "in 5 min"
    assert note.expire_timeout == 5000


def test_wait_for_times_out_with_what_was_seen(recorder):
    with pytest.raises(TimeoutError, match="no matching notification"):
        recorder.wait_for(lambda n: False, timeout=0.2)


def test_close_stops_processes_and_restores_environ(desktop):
    before = dict(os.environ)
    session = DesktopSession(keyring=False)
    try:
        session.start()
    except DesktopUnavailable as exc:
        _unavailable(exc.reason)
    session.apply_to_os_environ()
    pids = session.pids
    workdir = session.workdir
    assert set(pids) == {"Xvfb", "dbus-daemon", "dunst", "notification-recorder"}
    assert session.display != desktop.display
    session.close()

    assert dict(os.environ) == before
    assert not workdir.exists()
    for name, pid in pids.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped, not just killed
    session.close()  # idempotent
