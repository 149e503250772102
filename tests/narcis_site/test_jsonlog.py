import json
import logging
import sys

from django.test import RequestFactory

from narcis_site.jsonlog import JsonFormatter


def render(message, **extra) -> dict:
    record = logging.LogRecord("narcis.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_one_json_object_per_event_with_extra_fields():
    event = render("job claimed", job_id=42, session="9214d0e0")
    assert event["event"] == "job claimed" and event["level"] == "info" and event["logger"] == "narcis.test"
    assert (event["job_id"], event["session"]) == (42, "9214d0e0")


def test_secrets_are_masked_by_name():
    event = render(
        "config", password="hunter2", aws_secret_access_key="abc", payload={"api_key": "k", "ok": 1}
    )
    assert event["password"] == "[redacted]" and event["aws_secret_access_key"] == "[redacted]"
    assert event["payload"] == {"api_key": "[redacted]", "ok": 1}
    assert "hunter2" not in json.dumps(event)


def test_a_request_is_reduced_to_method_and_path():
    request = RequestFactory().get("/api/me", headers={"cookie": "narcis_guest=very-secret"})
    event = render("boom", request=request)
    assert event["request"] == "GET /api/me"


def test_exceptions_are_kept_in_one_line():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    event = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad" in event["exception"]
