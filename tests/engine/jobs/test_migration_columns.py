"""Schema versions 3, 5 and 6 add jobs.flagged, jobs.texts and jobs.deleted_at (6 also the
favourites table, 7 the profiles table): an older database keeps its jobs and gains them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage.migrations import LATEST_VERSION, schema_version, upgrade
from tests.support.jobkit import make_spec, open_store


@pytest.mark.parametrize(
    ("version", "missing"),
    [(2, ("flagged", "texts", "deleted_at")), (3, ("texts", "deleted_at")), (5, ("deleted_at",))],
    ids=["v2", "v3", "v5"],
)
def test_an_older_database_gains_the_later_columns(
    settings: Settings, tmp_path: Path, version: int, missing: tuple[str, ...]
) -> None:
    store = open_store(settings, tmp_path)
    (job,), _ = store.submit(Requester(1), [make_spec()])
    # Back to that version as it was: the jobs table without its later columns.
    with store.db.write() as session:
        for column in missing:
            session.connection().execute(text(f"ALTER TABLE jobs DROP COLUMN {column}"))
        session.connection().execute(text("DROP TABLE favourites"))
        session.connection().execute(text("DROP TABLE profiles"))
        session.connection().execute(schema_version.update().values(version=version))
    columns = {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}
    assert columns.isdisjoint(missing)

    assert upgrade(store.db) == (version, LATEST_VERSION)
    columns = {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}
    assert set(missing) <= columns
    assert inspect(store.db.engine).has_table("favourites")
    assert inspect(store.db.engine).has_table("profiles")
    stored = store.job(job.id)
    assert stored is not None and stored.flagged == () and stored.texts == ()
    assert not stored.deleted
    assert stored.spec == job.spec
    assert upgrade(store.db) == (LATEST_VERSION, LATEST_VERSION)
