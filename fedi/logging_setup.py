"""How every ``fedi`` process logs: readable text by default, JSON lines on request.

``FEDI_LOG_FORMAT=json`` writes one JSON object per line (time, level, logger, message, the
request id, the process id, the extra fields a record carries, and a formatted exception),
so a log collector can index them; the default ``text`` reads well in a terminal. ``pid``
tells apart the processes of one ``fedi serve`` (its serving processes and its worker
child), which write to one stream. Each record gets the id of the request it was written
for (``-`` outside requests), taken from :data:`REQUEST_ID`, which the request log
middleware sets for the whole handling of one request: an error logged deep inside a
handler names the request an operator can look up.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.orjson import OrjsonFormatter

__all__ = ["REQUEST_ID", "RequestIdFilter", "configure_logging", "json_formatter"]

# The id of the request being handled in this task (and the tasks it starts), or None.
REQUEST_ID: ContextVar[str | None] = ContextVar("fedi_request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The fields every JSON line starts with; extra fields of a record follow them.
JSON_FIELDS = ("levelname", "name", "message", "request_id", "process")
JSON_NAMES = {"levelname": "level", "name": "logger", "exc_info": "exception", "process": "pid"}
# Chatty libraries whose INFO lines say nothing an operator needs.
QUIET_LOGGERS = ("httpx", "httpcore", "alembic.runtime.migration")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record passing through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the current request id (``-`` outside a request); never drop a record."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


def json_formatter() -> logging.Formatter:
    """The formatter of ``FEDI_LOG_FORMAT=json``: one JSON object per record and line."""
    # ``time``: ISO 8601 in UTC with microseconds, what log collectors parse without help.
    # orjson (already used on the inbox path) formats a line in about two thirds of the time
    # the standard library takes, which counts at one line per request.
    return OrjsonFormatter(list(JSON_FIELDS), rename_fields=JSON_NAMES, timestamp="time")


def configure_logging(log_format: str = "text", level: str = "info") -> None:
    """Send the root logger's records to stderr in ``log_format`` (``text`` or ``json``).

    Replaces handlers set before (by an earlier call or a library), so a process configured
    twice still writes each line once.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if level.lower() != "debug":
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
