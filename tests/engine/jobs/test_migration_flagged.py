"""Schema version 3 adds jobs.flagged: a version-2 database keeps its jobs and gains it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage.migrations import schema_version, upgrade
from tests.support.jobkit import make_spec, open_store


def test_a_version_2_database_gains_the_flagged_column(settings: Settings, tmp_path: Path) -> None:
    store = open_store(settings, tmp_path)
    (job,), _ = store.submit(Requester(1), [make_spec()])
    # Back to version 2 as it was: the jobs table without the column.
    with store.db.write() as session:
        session.connection().execute(text("ALTER TABLE jobs DROP COLUMN flagged"))
        session.connection().execute(schema_version.update().values(version=2))
    assert "flagged" not in {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}

    assert upgrade(store.db) == (2, 3)
    assert "flagged" in {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}
    stored = store.job(job.id)
    assert stored is not None and stored.flagged == () and stored.spec == job.spec
    assert upgrade(store.db) == (3, 3)
