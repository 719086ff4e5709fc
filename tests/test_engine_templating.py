"""Payload templating, Slack message building and webhook signing (pure, no Qt)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math

import pytest

from desktop.engine import conditions, templating as t
from desktop.engine.actions import slack, webhook
from tests.support.fake_slack import FakeSlack

NASTY = 'say "hi" \\ back\nslash\t\x01bell \u2028 🚀 </script>'


def metric_vars(**overrides):
    condition = conditions.parse_threshold({"name": "val/acc", "agg_op": "AVERAGE", "window_size": 3,
                                            "cmp_op": "$gt", "threshold": 0.9})
    values = dict(automation_name="acc watch", entity_name="team", project_name="digits",
                  run_name="golden-sun-3", run_id="0ro45k91", event_author="alice", condition=condition,
                  metric_value=0.95, metric_values=[0.93, 0.95, 0.97], step=12)
    values.update(overrides)
    return t.variables_for_run_metric(**values)


def test_every_substituted_value_is_json_escaped():
    template = '{"name": "${run_name}", "who": "run ${run_name} by ${event_author}", "${run_name}": 1}'
    rendered = t.render_json(template, {"run_name": NASTY, "event_author": "a\"b"})
    data = json.loads(rendered)
    assert data["name"] == NASTY
    assert data["who"] == f'run {NASTY} by a"b'
    assert data[NASTY] == 1
    assert "🚀" in rendered  # emoji stay readable, not \ud83d escapes


def test_lone_surrogates_still_produce_sendable_json():
    rendered = t.render_json('{"x": "${v}"}', {"v": "bad \ud800 half"})
    rendered.encode("utf-8")
    assert json.loads(rendered)["x"] == "bad \ud800 half"


def test_values_outside_strings_become_json_literals():
    template = '{"value": ${metric_value}, "values": ${metric_values}, "name": ${run_name}, "step": ${step}, "x": ${nope}}'
    data = json.loads(t.render_json(template, metric_vars(run_name=NASTY)))
    assert data == {"value": 0.95, "values": [0.93, 0.95, 0.97], "name": NASTY, "step": 12, "x": ""}


def test_nan_renders_as_text_and_json_stays_valid():
    """C2: `${metric_value}` of a NaN firing reads `NaN`, in and out of strings."""
    variables = metric_vars(metric_value=math.nan, metric_values=[0.7, math.nan, math.inf])
    data = json.loads(t.render_json('{"v": "${metric_value}", "raw": ${metric_value}, "all": ${metric_values},'
                                    ' "text": "${metric_values}"}', variables))
    assert data == {"v": "NaN", "raw": "NaN", "all": [0.7, "NaN", "Infinity"], "text": "[0.7, NaN, Infinity]"}


def test_unknown_variables_render_empty_and_are_reported():
    template = '{"a": "${run_name}", "b": "${artifact_version}", "c": "${ACCESS_TOKEN}", "d": "x${nope}y"}'
    available = t.webhook_variable_names("RUN_METRIC")
    assert t.unknown_variables(template, available) == ["artifact_version", "nope"]
    data = json.loads(t.render_json(template, metric_vars()))
    assert data == {"a": "golden-sun-3", "b": "", "c": "", "d": "xy"}
    problems = t.check_json_template(template, available)
    assert problems == ["these variables do not apply and will be empty: ${artifact_version}, ${nope}"]
    assert t.check_json_template('{"a": ', available)[0].startswith("not valid JSON")


def test_variables_for_run_metric_has_every_documented_name():
    variables = metric_vars()
    assert set(t.RUN_METRIC_VARIABLES) <= set(variables)
    assert variables["metric_filter"] == "AVERAGE(val/acc) over 3 > 0.9"
    assert variables["metric_filter_short"] == "AVERAGE(val/acc) > 0.9"
    assert variables["run_url"] == "runbell://projects/digits/runs/0ro45k91"
    assert t.render_text("${metric_name} ${comparison_op} ${threshold}: ${metric_value} @${step}", variables) == \
        "val/acc > 0.9: 0.95 @12"


def test_storable_round_trip_keeps_nan():
    variables = metric_vars(metric_value=math.nan)
    stored = json.loads(json.dumps(t.to_storable(variables), allow_nan=False))
    back = t.from_storable(stored)
    assert math.isnan(back["metric_value"]) and back["threshold"] == 0.9
    assert t.render_json('{"v": "${metric_value}"}', back) == '{"v": "NaN"}'


def test_masked_payload_hides_secrets():
    shown = t.render_json('{"auth": "${ACCESS_TOKEN}", "k": "${GH_PAT}", "run": "${run_name}"}',
                          {**metric_vars(), **t.masked(["ACCESS_TOKEN", "GH_PAT"])})
    assert json.loads(shown) == {"auth": t.SECRET_MASK, "k": t.SECRET_MASK, "run": "golden-sun-3"}


# --- Slack messages --------------------------------------------------------------------------

def test_slack_message_shape():
    message = slack.build_message("Accuracy high", "a <b> & c", "WARN", [("Run", "r1"), ("Value", "0.95")],
                                  footer="Runbell")
    header, section, fields, context = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": ":warning: Accuracy high", "emoji": True}}
    assert section["text"]["text"] == "a &lt;b&gt; &amp; c"
    assert [f["text"] for f in fields["fields"]] == ["*Run*\nr1", "*Value*\n0.95"]
    assert context["elements"][0]["text"] == "Runbell"
    assert message["text"] == "[WARN] Accuracy high: a &lt;b&gt; &amp; c (Run: r1; Value: 0.95)"


def test_slack_message_stays_within_slack_limits():
    huge = ("x" * 2999 + "&") * 40
    message = slack.build_message("T" * 400, huge, "ERROR", [(f"f{i}", "v" * 5000) for i in range(20)])
    assert len(message["text"]) <= slack.MAX_TEXT
    assert len(message["blocks"]) <= slack.MAX_BLOCKS
    assert len(message["blocks"][0]["text"]["text"]) <= slack.MAX_HEADER
    for block in message["blocks"]:
        if "text" in block:
            assert len(block["text"]["text"]) <= slack.MAX_SECTION
            assert not block["text"]["text"].endswith("&am")
        assert len(block.get("fields", [])) <= slack.MAX_FIELDS
        assert all(len(f["text"]) <= slack.MAX_FIELD for f in block.get("fields", []))
    with FakeSlack() as fake:  # and Slack's own validation accepts it
        status, body, _ = fake.handle("POST", fake.hook_paths.copy().pop(), {"Content-Type": "application/json"},
                                      json.dumps(message).encode())
        assert (status, body) == (200, "ok")


def test_unknown_severity_falls_back_to_info():
    assert slack.build_message("t", "x", "LOUD")["blocks"][0]["text"]["text"].startswith(":information_source:")


# --- webhook signature -----------------------------------------------------------------------

def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    body = '{"auth": "tok-123"}'.encode()
    expected = base64.b64encode(hmac.new(b"k3y", body, hashlib.sha256).digest()).decode()
    assert webhook.sign("k3y", body) == expected


@pytest.mark.parametrize("template", ["", "   "])
def test_empty_template_sends_an_empty_object(template):
    assert webhook.render_body(template, {}, {}) == "{}"


def test_strict_json_refuses_nan_and_infinity():
    from desktop.engine import templating

    assert templating.loads_strict('{"a": 1.5, "b": "NaN"}') == {"a": 1.5, "b": "NaN"}
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(json.JSONDecodeError, match=f"{literal} is not valid JSON"):
            templating.loads_strict('{"a": ' + literal + "}")
    assert any("NaN is not valid JSON" in p for p in templating.check_json_template('{"a": NaN}', []))
