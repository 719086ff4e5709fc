"""Drive the automation wizard opened from the Registries tab (used by the offscreen and e2e tests)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QWizard

# A GitHub `repository_dispatch` body: event_type ≤ 100 characters, ≤ 10 client_payload keys.
DISPATCH_PAYLOAD = """{
  "event_type": "deploy-model",
  "client_payload": {
    "artifact_version_string": "${artifact_version_string}",
    "artifact_version_index": "${artifact_version_index}",
    "artifact_collection_name": "${artifact_collection_name}",
    "alias": "${alias}",
    "event_author": "${event_author}"
  }
}"""


def _child(parent, cls, name):
    widget = parent.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} named {name}"
    return widget


def _choose(box: QComboBox, data: object) -> None:
    index = box.findData(data)
    assert index >= 0, f"{box.objectName()} has no {data!r}"
    box.setCurrentIndex(index)


def create_alias_webhook(qtbot, wizard: QWizard, *, registry_id: int, hook_id: int, name: str,
                         alias_regex: str = "^production$", payload: str = DISPATCH_PAYLOAD,
                         on_last_page: Callable[[], object] = lambda: None) -> None:
    """Event: alias added matching `alias_regex` in the registry → webhook `hook_id` with `payload`."""
    qtbot.waitUntil(lambda: getattr(wizard, "_loaded", False), timeout=10_000)
    assert _child(wizard, QComboBox, "wizard-scope").currentData() == "registry"
    assert _child(wizard, QComboBox, "wizard-registry").currentData() == registry_id
    _choose(_child(wizard, QComboBox, "wizard-event-type"), "ADD_ARTIFACT_ALIAS")
    regex = _child(wizard, QLineEdit, "wizard-alias-regex")
    regex.clear()
    QTest.keyClicks(regex, alias_regex)
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.waitUntil(next_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    _choose(_child(wizard, QComboBox, "wizard-action-type"), "GENERIC_WEBHOOK")
    _choose(_child(wizard, QComboBox, "wizard-webhook-integration"), hook_id)
    _child(wizard, QPlainTextEdit, "wizard-payload").setPlainText(payload)
    qtbot.waitUntil(next_button.isEnabled, timeout=5_000)
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    name_box = _child(wizard, QLineEdit, "wizard-name")
    name_box.clear()
    QTest.keyClicks(name_box, name)
    finish = wizard.button(QWizard.WizardButton.FinishButton)
    qtbot.waitUntil(finish.isEnabled, timeout=5_000)
    on_last_page()
    with qtbot.waitSignal(wizard.saved, timeout=10_000):
        qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
