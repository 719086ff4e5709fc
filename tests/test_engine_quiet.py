"""Notifications paused from the tray: desktop notifications are skipped with the reason, while
Slack still goes out (issue 7: quiet hours never silence the team channel)."""
from __future__ import annotations

import pytest

from desktop.engine import quiet
from tests.support.engine_fixtures import fake_slack, make_engine, notifier, settled, world  # noqa: F401
from tests.support.memory_keyring import memory_keyring  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("memory_keyring")


def test_paused_desktop_notifications_are_skipped_but_slack_is_sent(world, fake_slack, make_engine, notifier):  # noqa: F811
    until = quiet.pause_desktop_notifications(quiet.for_one_hour())
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id, "notify_desktop": True})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [message] = fake_slack.wait_for_messages(1)
    primary, desktop = settled(world, auto, n=2)
    assert (primary.action_type, primary.status) == ("NOTIFICATION", "finished")
    assert (desktop.action_type, desktop.status) == ("DESKTOP_NOTIFICATION", "skipped")
    assert desktop.reason == f"desktop notifications paused until {until:%Y-%m-%d %H:%M} UTC"
    assert notifier.shown == []


def test_resumed_notifications_are_shown_again(world, make_engine, notifier):  # noqa: F811
    quiet.pause_desktop_notifications(quiet.for_one_hour())
    quiet.resume_desktop_notifications()
    auto = world.automation(agg=None, threshold=0.5, action_type="DESKTOP_NOTIFICATION",
                            action_config={"title": "acc up"})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [shown] = notifier.wait_for(1)
    assert shown.title == "acc up"
    [execution] = settled(world, auto)
    assert execution.status == "finished"


def test_quiet_hours_skip_desktop_notifications_but_not_slack(world, fake_slack, make_engine, notifier):  # noqa: F811
    from datetime import datetime, timedelta

    from desktop.engine.settings import EngineSettings, save_settings

    now = datetime.now().astimezone()
    save_settings(EngineSettings(quiet_from=f"{now - timedelta(hours=1):%H:%M}",
                                 quiet_to=f"{now + timedelta(hours=1):%H:%M}"))
    slack = world.slack(fake_slack.webhook_url)
    auto = world.automation(agg=None, threshold=0.5, action_config={"integration_id": slack.id, "notify_desktop": True})
    make_engine()
    world.log(world.run(), "val/acc", [0.9])
    [message] = fake_slack.wait_for_messages(1)
    primary, desktop = settled(world, auto, n=2)
    assert (primary.action_type, primary.status) == ("NOTIFICATION", "finished")
    assert (desktop.action_type, desktop.status) == ("DESKTOP_NOTIFICATION", "skipped")
    assert desktop.reason.startswith("desktop notifications paused until ")
    assert notifier.shown == []
