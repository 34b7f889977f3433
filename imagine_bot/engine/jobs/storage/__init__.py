"""The database: table models, connection set-up and schema migrations (SQLModel)."""

from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.migrations import (
    LATEST_VERSION,
    SchemaError,
    backup_path,
    upgrade,
)

__all__ = ["LATEST_VERSION", "Database", "SchemaError", "backup_path", "upgrade"]
