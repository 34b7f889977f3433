"""Schema versions 3 and 4 add jobs.flagged and jobs.texts: an older database keeps its jobs
and gains them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage.migrations import LATEST_VERSION, schema_version, upgrade
from tests.support.jobkit import make_spec, open_store


@pytest.mark.parametrize(
    ("version", "missing"), [(2, ("flagged", "texts")), (3, ("texts",))], ids=["v2", "v3"]
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
        session.connection().execute(schema_version.update().values(version=version))
    columns = {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}
    assert columns.isdisjoint(missing)

    assert upgrade(store.db) == (version, LATEST_VERSION)
    columns = {c["name"] for c in inspect(store.db.engine).get_columns("jobs")}
    assert set(missing) <= columns
    stored = store.job(job.id)
    assert stored is not None and stored.flagged == () and stored.texts == ()
    assert stored.spec == job.spec
    assert upgrade(store.db) == (LATEST_VERSION, LATEST_VERSION)
