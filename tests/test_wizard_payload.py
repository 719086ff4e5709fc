"""The payload editor: `${variable}` completion, the sample rendering, secret warnings."""
from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from test_wizard import open_wizard, project, webhook_row  # noqa: E402, F401
from ui_fixtures import OFFSCREEN_NOISE, tasks, ui_ctx  # noqa: E402, F401

from store import models as m  # noqa: E402

# the offscreen platform cannot raise a popup or grab the keyboard for it; a real display can
POPUP_NOISE = (r"This plugin does not support raise\(\)", r"This plugin does not support grabbing the keyboard")
pytestmark = pytest.mark.qt_log_ignore(*OFFSCREEN_NOISE, *POPUP_NOISE)


def add_secret_names(db, team_id: int, *names: str) -> None:
    """Secret rows without values: the editor needs the names only (no OS keyring here)."""
    with db.session() as s:
        s.add_all(m.SecretName(team_id=team_id, name=n) for n in names)


def type_until_offered(qtbot, editor, text: str):
    """Type into an emptied editor; the completion popup, once shown."""
    editor.clear()
    editor.setFocus()
    qtbot.keyClicks(editor, text)
    popup = editor.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=5_000)
    return popup


def with_popup(window, popup) -> QPixmap:
    """The window's picture with the popup (a separate top-level window) painted where it shows."""
    picture = window.grab()
    painter = QPainter(picture)
    painter.drawPixmap(popup.mapToGlobal(QPoint(0, 0)) - window.mapToGlobal(QPoint(0, 0)), popup.grab())
    painter.end()
    return picture


def webhook_page(qtbot, ctx, project, tasks, event_type: str = "RUN_METRIC"):
    wizard = open_wizard(qtbot, ctx, project, tasks, initial={"action_type": "GENERIC_WEBHOOK"})
    ep = wizard.event_page
    ep.event_type.setCurrentIndex(ep.event_type.findData(event_type))
    wizard.next()
    return wizard, wizard.action_page


def test_typing_dollar_brace_offers_the_events_variables(qtbot, ui_ctx, project, tasks, artifacts_dir):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    wizard, page = webhook_page(qtbot, ui_ctx, project, tasks)
    editor = page.payload
    popup = type_until_offered(qtbot, editor, '{"value": ${met')
    model = editor.completer.completionModel()
    offered = [model.index(i, 0).data() for i in range(model.rowCount())]
    assert offered == ["metric_name", "metric_value", "metric_values", "metric_filter",
                       "metric_filter_short", "metric_current_status"]
    QApplication.processEvents()
    assert with_popup(wizard, popup).save(str(artifacts_dir / "wizard-action-completion.png"))
    editor.completer.activated.emit("metric_value")  # what choosing the row does
    assert editor.toPlainText() == '{"value": ${metric_value}'
    qtbot.keyClicks(editor, "}")
    assert json.loads(page.rendered.toPlainText()) == {"value": 0.93}
    # artifact events offer their own variables, not the run's
    assert "run_name" in editor.variables() and "alias" not in editor.variables()
    wizard.back()
    wizard.event_page.event_type.setCurrentIndex(wizard.event_page.event_type.findData("ADD_ARTIFACT_ALIAS"))
    wizard.next()
    assert "alias" in editor.variables() and "run_name" not in editor.variables()


def test_rendered_view_and_invalid_json_after_rendering(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    _wizard, page = webhook_page(qtbot, ui_ctx, project, tasks)
    page.payload.setPlainText('{"run": "${run_name}", "values": ${metric_values}, "at": ${step}}')
    assert json.loads(page.rendered.toPlainText()) == {
        "run": "brisk-sun-12", "values": [0.91, 0.92, 0.93, 0.94, 0.95], "at": 1200}
    assert page.isComplete() and not page.render_error.isVisibleTo(page)
    page.payload.setPlainText('{"run": ${run_name} ${run_id}}')
    assert not page.isComplete()
    assert "not valid JSON" in page.error.text()
    assert page.rendered.toPlainText() == '{"run": "brisk-sun-12" "0ro45k91"}'


def test_a_team_secret_the_webhook_does_not_carry_gets_its_own_warning(qtbot, ui_ctx, project, tasks):
    add_secret_names(ui_ctx.db, ui_ctx.team.id, "GH_TOKEN", "OTHER_TOKEN")
    webhook_row(ui_ctx.db, ui_ctx.team.id, token_secret="GH_TOKEN")
    _wizard, page = webhook_page(qtbot, ui_ctx, project, tasks)
    page.payload.setPlainText('{"auth": "${GH_TOKEN}", "t": "${ACCESS_TOKEN}"}')
    assert not page.secret_warning.isVisibleTo(page) and not page.payload_warning.isVisibleTo(page)
    assert json.loads(page.rendered.toPlainText()) == {"auth": "********", "t": "********"}  # masked
    page.payload.setPlainText('{"auth": "${OTHER_TOKEN}", "x": "${nonsense}"}')
    assert page.secret_warning.isVisibleTo(page)
    assert "${OTHER_TOKEN}" in page.secret_warning.text() and "not attached" in page.secret_warning.text()
    assert "“ci”" in page.secret_warning.text()
    assert page.payload_warning.isVisibleTo(page)
    assert "${nonsense}" in page.payload_warning.text() and "OTHER_TOKEN" not in page.payload_warning.text()
    assert page.isComplete()  # a warning, not an error: the secret can be attached later


def test_keyboard_enter_picks_the_completion(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    _wizard, page = webhook_page(qtbot, ui_ctx, project, tasks)
    editor = page.payload
    popup = type_until_offered(qtbot, editor, '{"r": "${run_n')
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "${run_name}" in editor.toPlainText(), timeout=5_000)
    assert editor.toPlainText() == '{"r": "${run_name}'


def test_nan_is_not_json_and_big_payloads_are_checked_once_typing_pauses(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, initial={"action_type": "GENERIC_WEBHOOK"})
    page = wizard.action_page
    page.payload.setPlainText('{"a": NaN}')  # Python's json takes it; strict receivers do not
    assert not page.isComplete() and "NaN is not valid JSON" in page.error.text()
    big = json.dumps({"rows": ["x" * 100] * 400})  # ~42,000 characters
    page.payload.setPlainText(big)
    assert not page.isComplete()  # Next waits while the check is pending
    qtbot.waitUntil(page.isComplete, timeout=5000)
    page.payload.setPlainText(json.dumps({"rows": ["x" * 1000] * 300}))  # over 256 KiB
    qtbot.waitUntil(lambda: "keep it under" in page.error.text(), timeout=5000)
    assert not page.isComplete()


def test_an_unfinished_variable_gets_a_warning(qtbot, ui_ctx, project, tasks):
    webhook_row(ui_ctx.db, ui_ctx.team.id)
    wizard = open_wizard(qtbot, ui_ctx, project, tasks, initial={"action_type": "GENERIC_WEBHOOK"})
    page = wizard.action_page
    page.payload.setPlainText('{"run": "${run_name"}')
    assert "not a variable, sent as written (close it with }): ${run_name" in page.payload_warning.text()
    page.payload.setPlainText('{"run": "${run_name}"}')
    assert not page.payload_warning.isVisible() or page.payload_warning.text() == ""
