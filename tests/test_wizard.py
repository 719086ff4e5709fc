"""The automation wizard: validation as you type, the stored shapes, and edits that keep untouched
fields byte for byte (case C1)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from PySide6.QtWidgets import QApplication, QWizard  # noqa: E402
from ui_fixtures import (  # noqa: E402, F401
    OFFSCREEN_NOISE, seed_run, slack_integration_row, tasks, threshold_automation, ui_ctx,
)

from desktop.wizard.wizard import AutomationWizard  # noqa: E402
from store import automations, integrations, teams  # noqa: E402
from store import models as m  # noqa: E402

pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE)


@pytest.fixture
def project(ui_ctx):
    project = teams.get_or_create_project(ui_ctx.db, ui_ctx.team.id, "digits")
    seed_run(ui_ctx.db, project.id, {"val/acc": [0.5, 0.7, 0.8], "loss": [1.0, 0.5]})
    return project


def webhook_row(db, team_id: int, name: str = "ci", token_secret: str | None = None) -> int:
    with db.session() as s:
        row = m.Integration(team_id=team_id, kind="webhook", name=name,
                            config={"url": "http://127.0.0.1:9/hook", "access_token_secret": token_secret,
                                    "signing_secret": None})
        s.add(row)
        s.flush()
        return row.id


def open_wizard(qtbot, ctx, project, tasks, **kwargs) -> AutomationWizard:
    wizard = AutomationWizard(ctx, tasks, project.id, **kwargs)
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.ready, timeout=10_000):
        wizard.show()
    return wizard


def retype(qtbot, edit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def raw_row(db, automation_id: int) -> tuple:
    with db.engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT event_filter, action_config, name FROM automations WHERE id = :i"), {"i": automation_id}).one())


def finish(qtbot, wizard: AutomationWizard):
    with qtbot.waitSignal(wizard.saved, timeout=10_000) as blocker:
        wizard.button(QWizard.WizardButton.FinishButton).click()
    return blocker.args[0]


def test_event_fields_validate_as_you_type(qtbot, ui_ctx, project, tasks):
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    page = wizard.event_page
    page.metric.setEditText("")
    assert not page.isComplete() and "metric" in page.error.text()
    page.metric.setEditText("val/acc")
    form = page.forms["RUN_METRIC"]
    retype(qtbot, form.threshold, "0.9x")
    assert not page.isComplete() and "not a number" in page.error.text()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    retype(qtbot, form.threshold, "0.9")
    retype(qtbot, form.window, "0")
    assert not page.isComplete() and "at least 1 value" in page.error.text()
    retype(qtbot, form.window, "5")
    retype(qtbot, page.name_regex, "exp-(")
    assert not page.isComplete() and "regular expression" in page.error.text()
    retype(qtbot, page.name_regex, "a{99999999999}")  # re raises OverflowError, not re.error, for this
    assert not page.isComplete() and "repetition number is too large" in page.error.text()
    retype(qtbot, page.name_regex, "^exp-")
    assert page.isComplete() and not page.error.isVisible()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    page.event_type.setCurrentIndex(page.event_type.findData("RUN_METRIC_CHANGE"))
    change = page.forms["RUN_METRIC_CHANGE"]
    assert (change.current.text(), change.prior.text()) == ("10", "50")  # the original's defaults
    retype(qtbot, change.amount, "0")
    assert not page.isComplete() and "greater than 0" in page.error.text()
    page.event_type.setCurrentIndex(page.event_type.findData("ADD_ARTIFACT_ALIAS"))
    assert not page.run_filter_box.isVisibleTo(page)
    retype(qtbot, page.forms["ADD_ARTIFACT_ALIAS"].regex, "[prod")
    assert not page.isComplete() and "regular expression" in page.error.text()


def test_webhook_payload_validates_and_warns(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, initial={"action_type": "GENERIC_WEBHOOK"})
    page = wizard.action_page
    assert page.webhook_integration.currentText() == "ci"
    page.payload.setPlainText('{"run": "${run_name}", ')
    assert not page.isComplete() and "not valid JSON" in page.error.text()
    page.payload.setPlainText('{"run": "${run_name}", "x": "${nonsense}"}')
    assert page.isComplete()
    assert page.payload_warning.isVisibleTo(page) and "${nonsense}" in page.payload_warning.text()
    page.template.setCurrentIndex(page.template.findData("Discord"))
    page.template.activated.emit(page.template.findData("Discord"))
    assert '"username": "Runbell"' in page.payload.toPlainText() and page.isComplete()
    assert not page.payload_warning.isVisibleTo(page)


def test_create_a_threshold_automation_stores_the_original_shape(qtbot, ui_ctx, project, tasks):
    slack = slack_integration_row(ui_ctx.db, ui_ctx.team.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    ep = wizard.event_page
    ep.metric.setEditText("val/acc")
    retype(qtbot, ep.forms["RUN_METRIC"].threshold, "0.9")
    retype(qtbot, ep.user, "alice")
    wizard.next()
    ap = wizard.action_page
    ap.action_type.setCurrentIndex(ap.action_type.findData("NOTIFICATION"))
    assert ap.slack_integration.currentData() == slack
    retype(qtbot, ap.title, "Accuracy!")
    ap.slack_desktop.setChecked(True)
    wizard.next()
    dp = wizard.details_page
    assert dp.name.text()  # suggested from the condition
    retype(qtbot, dp.name, "acc high")
    saved = finish(qtbot, wizard)
    assert saved.name == "acc high"
    stored = automations.get_automation(ui_ctx.db, saved.id)
    assert stored.event_type == "RUN_METRIC"
    assert stored.event_filter["run_metric_filter"]["threshold_filter"] == {
        "name": "val/acc", "agg_op": "AVERAGE", "window_size": 5, "cmp_op": "$gt", "threshold": 0.9}
    assert '"alice"' in stored.event_filter["run_filter"]
    assert stored.action_type == "NOTIFICATION"
    assert stored.action_config == {"integration_id": slack, "title": "Accuracy!", "message": "",
                                    "severity": "INFO", "notify_desktop": True}
    assert stored.cooldown_seconds == 24 * 3600


def test_duplicate_name_blocks_create(qtbot, ui_ctx, project, tasks):
    threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="taken", metric="loss", threshold=1)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, initial={"name": "taken"})
    assert not wizard.details_page.isComplete()
    assert "already exists" in wizard.details_page.error.text()


def test_editing_only_the_name_keeps_the_filter_byte_for_byte(qtbot, ui_ctx, project, tasks):
    original = automations.create_automation(
        ui_ctx.db, team_id=ui_ctx.team.id, project_id=project.id, name="old", event_type="RUN_METRIC",
        # stored in a spelling the wizard would not write itself: an int threshold, odd spacing
        event_filter={"run_filter": '{"$and":[{"username": {"$eq": "bob"}}]}',
                      "run_metric_filter": {"threshold_filter": {"threshold": 1, "name": "loss", "agg_op": "MIN",
                                                                 "window_size": 3, "cmp_op": "$lt"}}},
        action_type="DESKTOP_NOTIFICATION", action_config={"title": "t", "message": "m", "severity": "WARN"})
    before = raw_row(ui_ctx.db, original.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, automation=original)
    assert wizard.event_page.forms["RUN_METRIC"].threshold.text() == "1"
    assert wizard.event_page.user.text() == "bob"
    assert wizard.changes() == {}
    wizard.next()
    wizard.next()
    retype(qtbot, wizard.details_page.name, "renamed")
    assert wizard.changes() == {"name": "renamed"}
    finish(qtbot, wizard)
    after = raw_row(ui_ctx.db, original.id)
    assert after[:2] == before[:2] and after[2] == "renamed"


def test_editing_only_the_action_keeps_the_filter_byte_for_byte(qtbot, ui_ctx, project, tasks):
    original = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="a", metric="loss", threshold=0.5)
    before = raw_row(ui_ctx.db, original.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, automation=original)
    wizard.next()
    ap = wizard.action_page
    ap.action_type.setCurrentIndex(ap.action_type.findData("NO_OP"))
    assert set(wizard.changes()) == {"action_type", "action_config"}
    wizard.next()
    finish(qtbot, wizard)
    stored = automations.get_automation(ui_ctx.db, original.id)
    assert stored.action_type == "NO_OP" and stored.action_config == {}
    assert raw_row(ui_ctx.db, original.id)[0] == before[0]


def test_editing_says_when_the_webhook_or_its_secret_was_deleted(qtbot, ui_ctx, project, tasks):
    kept = webhook_row(ui_ctx.db, ui_ctx.team.id, name="kept", token_secret="GONE")
    doomed = webhook_row(ui_ctx.db, ui_ctx.team.id, name="doomed")
    original = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="a", metric="loss", threshold=0.5)
    original = automations.update_automation(ui_ctx.db, original.id, action_type="GENERIC_WEBHOOK", action_config={
        "integration_id": doomed, "request_payload": '{"run": "${run_name}"}'})
    with ui_ctx.db.session() as s:
        s.delete(s.get(m.Integration, doomed))
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, automation=original)
    wizard.next()
    ap = wizard.action_page
    qtbot.waitUntil(lambda: "deleted" in ap.webhook_integration.currentText(), timeout=5000)
    assert not ap.isComplete() and "the webhook this automation used was deleted" in ap.error.text()
    ap.webhook_integration.setCurrentIndex(ap.webhook_integration.findData(kept))
    qtbot.waitUntil(lambda: "secret GONE, which was deleted" in ap.error.text(), timeout=5000)
    assert not ap.isComplete()  # nothing half-valid is saved


def test_editing_after_the_webhook_was_deleted_in_team_settings(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id, name="other")
    doomed = webhook_row(ui_ctx.db, ui_ctx.team.id, name="doomed")
    original = threshold_automation(ui_ctx.db, ui_ctx.team.id, project.id, name="a", metric="loss", threshold=0.5)
    automations.update_automation(ui_ctx.db, original.id, action_type="GENERIC_WEBHOOK", action_config={
        "integration_id": doomed, "request_payload": '{"run": "${run_name}"}'})
    integrations.delete_integration(ui_ctx.db, doomed)
    stored = automations.get_automation(ui_ctx.db, original.id)
    assert stored.action_config["integration_id"] is None  # never silently another webhook's id
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, automation=stored)
    wizard.next()
    ap = wizard.action_page
    qtbot.waitUntil(lambda: ap.webhook_integration.currentText() == "(deleted: choose another)", timeout=5000)
    assert not ap.isComplete() and "the webhook this automation used was deleted" in ap.error.text()


def test_screenshots_of_each_page(qtbot, ui_ctx, project, tasks, artifacts_dir):
    slack_integration_row(ui_ctx.db, ui_ctx.team.id)
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks)
    wizard.event_page.metric.setEditText("val/acc")
    retype(qtbot, wizard.event_page.forms["RUN_METRIC"].threshold, "0.9")
    for name, step in (("wizard-event.png", None), ("wizard-action.png", "GENERIC_WEBHOOK"),
                       ("wizard-details.png", "")):
        if step is not None:
            wizard.next()
        if step:
            ap = wizard.action_page
            ap.action_type.setCurrentIndex(ap.action_type.findData(step))
        QApplication.processEvents()
        assert wizard.grab().save(str(artifacts_dir / name))
    assert (artifacts_dir / "wizard-details.png").stat().st_size > 0


@pytest.mark.parametrize("text, message", [
    ("١٢", "not a number"),  # Arabic-Indic digits: float() reads them as 12
    ("1e-400", "too close to 0"),  # float() turns it into 0.0
    ("9" * 5000, "too many digits"),  # int() refuses with a message about sys.set_int_max_str_digits
    ("", "enter a change amount"),
    ("nan", "the change amount must be a finite number"),
])
def test_numbers_are_read_as_people_mean_them_and_messages_name_the_field(text, message):
    from desktop.wizard.fields import parse_count, parse_number

    with pytest.raises(ValueError, match=message):
        parse_number(text, "change amount")
    assert parse_number("0.0", "change amount") == 0.0 and parse_number("-3", "change amount") == -3
    with pytest.raises(ValueError, match="whole number"):
        parse_count("١٢", "window")
    with pytest.raises(ValueError, match="far too large"):
        parse_count("9" * 5000, "window")
