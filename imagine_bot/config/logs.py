"""Settings of the bot's log: how much, and in which form."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"
    """``text``: one plain line per record (never colour codes); ``json``: one JSON object per
    line, for log shippers (Loki, Elasticsearch, journald's JSON readers)."""
