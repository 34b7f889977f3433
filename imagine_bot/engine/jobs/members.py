"""Members' rows: created on first use, their preferences (JSON values) and their macros."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from imagine_bot.engine.jobs.storage.database import Database
from imagine_bot.engine.jobs.storage.tables import MacroRow, UserRow
from imagine_bot.engine.times import Clock, utc_now


def member_row(session: Session, user_id: int, now: datetime) -> UserRow:
    """The member's row, created if new. Inside ``Database.write`` the transaction already holds
    SQLite's write lock, so reading it and then writing is safe."""
    user = session.get(UserRow, user_id)
    if user is None:
        user = UserRow(user_id=user_id, created_at=now)
        session.add(user)
        session.flush()
    return user


class Members:
    """Preferences and macros, each change one short write transaction."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.db = database
        self.clock = clock

    def preferences(self, user_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            user = session.get(UserRow, user_id)
            return dict(json.loads(user.preferences)) if user else {}

    def set_preference(self, user_id: int, key: str, value: Any) -> dict[str, Any]:
        """Set one preference (any JSON value; None removes it); returns all of them."""
        with self.db.write() as session:
            user = member_row(session, user_id, self.clock())
            preferences = dict(json.loads(user.preferences))
            if value is None:
                preferences.pop(key, None)
            else:
                preferences[key] = value
            user.preferences = json.dumps(preferences)
            session.add(user)
            return preferences

    def macros(self, user_id: int) -> dict[str, str]:
        with self.db.read() as session:
            rows = session.exec(
                select(MacroRow).where(col(MacroRow.user_id) == user_id).order_by(MacroRow.name)
            ).all()
            return {row.name: row.flags for row in rows}

    def set_macro(self, user_id: int, name: str, flags: str) -> None:
        with self.db.write() as session:
            member_row(session, user_id, self.clock())
            row = session.get(MacroRow, (user_id, name))
            if row is None:
                row = MacroRow(user_id=user_id, name=name, flags=flags)
            row.flags = flags
            session.add(row)

    def delete_macro(self, user_id: int, name: str) -> bool:
        with self.db.write() as session:
            row = session.get(MacroRow, (user_id, name))
            if row is None:
                return False
            session.delete(row)
            return True
