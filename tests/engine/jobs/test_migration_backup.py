"""An upgrade copies the database first: the copy is the old version, whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage.migrations import (
    LATEST_VERSION,
    backup_path,
    schema_version,
    upgrade,
)
from tests.support.jobkit import make_spec, open_store


def test_upgrading_a_version_2_database_keeps_a_copy_of_it(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(settings, tmp_path)
    (job,), _ = store.submit(Requester(1), [make_spec()])
    with store.db.write() as session:
        session.connection().execute(text("ALTER TABLE jobs DROP COLUMN flagged"))
        session.connection().execute(schema_version.update().values(version=2))
    backup = backup_path(store.db, 2)
    assert backup is not None and not backup.exists()

    assert upgrade(store.db) == (2, LATEST_VERSION)

    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        columns = {row[1] for row in copy.execute("PRAGMA table_info(jobs)")}
        assert "flagged" not in columns
        assert copy.execute("SELECT id FROM jobs").fetchall() == [(job.id,)]
    finally:
        copy.close()


def test_a_new_or_current_database_is_not_copied(settings: Settings, tmp_path: Path) -> None:
    store = open_store(settings, tmp_path)  # created at the latest version
    assert upgrade(store.db) == (LATEST_VERSION, LATEST_VERSION)
    assert list(tmp_path.rglob("*.bak")) == []
