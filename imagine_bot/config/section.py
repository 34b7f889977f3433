"""What every settings section shares: frozen, unknown keys refused, and the error for a
setting that names something undefined."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InvalidReference(ValueError):
    """A setting that names something (a preset) that is not defined; ``key`` is its dotted path."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class Section(BaseModel):
    """A settings table: frozen once loaded, and a misspelt key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
