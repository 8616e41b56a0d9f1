"""Log formatters: plain text by default, one JSON object per line with LOG_FORMAT=json.

Request and task lines carry their fields twice: in the message, for people reading text, and as
record attributes (`extra=`), which the JSON formatter emits as keys for log pipelines.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record was passed with `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, **kwargs):
        super().__init__(fmt or TEXT_FORMAT, **kwargs)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", ...extra fields, "exception"?}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# LOG_FORMAT -> the formatter's dotted path, for settings.LOGGING.
FORMATTERS = {"text": "common.logging.TextFormatter", "json": "common.logging.JsonFormatter"}
