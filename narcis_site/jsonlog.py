"""JSON log lines: one event a line, CloudWatch- and jq-friendly.

Fields passed with ``extra=`` (job_id, session, ...) land at the top level. Values that could carry
secrets are masked by name, and objects such as a request are reduced to what is safe to print.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

# Attributes every LogRecord has; anything else came from extra=.
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

_SECRET_MARKERS = ("password", "secret", "api_key", "apikey", "authorization", "cookie", "credential")


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def _safe(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): ("[redacted]" if _is_secret(str(k)) else _safe(v)) for k, v in value.items()}
    method, path = getattr(value, "method", None), getattr(value, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        # An HttpRequest: never dump its headers or cookies.
        return f"{method} {path}"
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name in _RECORD_FIELDS or name.startswith("_"):
                continue
            event[name] = "[redacted]" if _is_secret(name) else _safe(value)
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)
