"""The log of ``imagine-bot run``: the ``[logging]`` level, plain or JSON lines on stderr, and
discord.py's gateway reconnects as one line each instead of a traceback."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from imagine_bot.config.logs import LogSettings

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
GATEWAY_LOGGER = "discord.client"
RECONNECT_MESSAGE = "Attempting a reconnect in %.2fs"
"""discord.py's ``Client.connect`` logs this with the whole traceback of every lost connection."""


class JsonLines(logging.Formatter):
    """One JSON object per record, newlines inside values escaped: one record, one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class OneLineReconnects(logging.Filter):
    """Rewrites discord.py's reconnect record (ERROR with a traceback) as one WARNING line that
    says what was lost and when the next try is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == RECONNECT_MESSAGE and record.exc_info:
            error = record.exc_info[1]
            (delay,) = record.args if isinstance(record.args, tuple) else (0.0,)
            record.msg = "lost the connection to Discord's gateway (%s); reconnecting in %.0f s"
            record.args = (f"{type(error).__name__}: {error}".rstrip(": "), delay)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(settings: LogSettings, stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one on ``stream`` (default: stderr)."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    if settings.format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    gateway = logging.getLogger(GATEWAY_LOGGER)
    if not any(isinstance(f, OneLineReconnects) for f in gateway.filters):
        gateway.addFilter(OneLineReconnects())
