"""What an admin sets for the whole queue, in the database so that a restart keeps it:
``/admin pause`` stays paused until ``/admin resume``. Blocking: run on the database thread."""

from __future__ import annotations

from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import QueueStateRow


def stored_pause(database: Database) -> bool:
    with database.read() as session:
        row = session.get(QueueStateRow, 1)
        return row is not None and row.paused


def store_pause(database: Database, paused: bool) -> None:
    with database.write() as session:
        row = session.get(QueueStateRow, 1) or QueueStateRow()
        row.paused = paused
        session.add(row)
