"""The run log: the level setting, plain lines without colour, JSON lines, and one line per
lost gateway connection instead of discord.py's traceback."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from imagine_bot.bot.logs import configure_logging
from imagine_bot.config.logs import LogSettings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lose_the_gateway() -> None:
    """What discord.py's Client.connect does when the socket drops."""
    try:
        raise OSError(111, "Connect call failed ('162.159.135.232', 443)")
    except OSError:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 4.3)


def test_text_lines_honour_the_level_and_carry_no_colour(stream: io.StringIO) -> None:
    configure_logging(LogSettings(level="WARNING"), stream)
    logging.getLogger("imagine_bot.test").info("not shown")
    logging.getLogger("imagine_bot.test").warning("shown")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING imagine_bot.test: shown")
    assert "\x1b" not in stream.getvalue()


def test_a_lost_gateway_is_one_line_with_the_cause_and_the_next_try(
    stream: io.StringIO,
) -> None:
    configure_logging(LogSettings(), stream)
    lose_the_gateway()
    (line,) = stream.getvalue().splitlines()
    assert "WARNING discord.client: lost the connection to Discord's gateway" in line
    assert "(ConnectionRefusedError: [Errno 111] Connect call failed" in line
    assert line.endswith("reconnecting in 4 s")


def test_json_lines_are_one_object_each_even_with_a_traceback(stream: io.StringIO) -> None:
    configure_logging(LogSettings(format="json"), stream)
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        logging.getLogger("imagine_bot.test").exception("it failed")
    lose_the_gateway()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    failed, lost = (json.loads(line) for line in lines)
    assert failed["level"] == "ERROR" and failed["logger"] == "imagine_bot.test"
    assert failed["message"] == "it failed" and "second line" in failed["exception"]
    assert failed["time"].endswith("+00:00")
    assert lost["level"] == "WARNING" and "exception" not in lost
    assert lost["message"].startswith("lost the connection to Discord's gateway (ConnectionRefused")
