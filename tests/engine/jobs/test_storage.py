"""The database: schema versions, SQLite set-up, and the constraints that make idempotency and
"charged exactly once" hold even against code that skips the checks."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from imagine_bot.config import Settings
from imagine_bot.engine.jobs.records import Requester
from imagine_bot.engine.jobs.storage import LATEST_VERSION, Database, SchemaError, upgrade
from imagine_bot.engine.jobs.storage.migrations import current_version, schema_version
from imagine_bot.engine.jobs.storage.tables import JobRow, LedgerRow
from tests.support.jobkit import make_spec, open_store

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_upgrade_creates_the_schema_once(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new' / 'imagine.db'}")
    assert current_version(database) == 0
    assert upgrade(database) == (0, LATEST_VERSION)
    assert upgrade(database) == (LATEST_VERSION, LATEST_VERSION)
    tables = set(inspect(database.engine).get_table_names())
    assert {"users", "macros", "jobs", "images", "quota_ledger", "schema_version"} <= tables


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'imagine.db'}")
    upgrade(database)
    with database.write() as session:
        session.connection().execute(schema_version.update().values(version=LATEST_VERSION + 1))
    with pytest.raises(SchemaError, match="newer than this imagine-bot"):
        upgrade(database)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'imagine.db'}", busy_timeout=12.5)
    with database.read() as session:
        assert session.exec(text("PRAGMA journal_mode")).scalar() == "wal"  # type: ignore[call-overload]
        assert session.exec(text("PRAGMA busy_timeout")).scalar() == 12500  # type: ignore[call-overload]
        assert session.exec(text("PRAGMA foreign_keys")).scalar() == 1  # type: ignore[call-overload]


def test_write_transactions_take_the_lock_at_begin(tmp_path: Path) -> None:
    """Read-modify-write in ``write()`` never loses an update, from many threads."""
    database = Database(f"sqlite:///{tmp_path / 'imagine.db'}")
    with database.write() as session:
        session.connection().exec_driver_sql("CREATE TABLE counter (value INTEGER)")
        session.connection().exec_driver_sql("INSERT INTO counter VALUES (0)")

    def increment() -> None:
        with database.write() as session:
            connection = session.connection()
            value = connection.exec_driver_sql("SELECT value FROM counter").scalar_one()
            time.sleep(0.002)
            connection.exec_driver_sql(f"UPDATE counter SET value = {value + 1}")

    threads = [threading.Thread(target=increment) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.read() as session:
        assert session.connection().exec_driver_sql("SELECT value FROM counter").scalar() == 25


def job_row(job_id: str, **fields: object) -> JobRow:
    spec = make_spec()
    values: dict[str, object] = {
        "id": job_id,
        "owner_id": 1,
        "state": "queued",
        "lane": "fast",
        "spec": spec.model_dump_json(),
        "model": spec.model,
        "width": spec.width,
        "height": spec.height,
        "steps": spec.steps,
        "seeds": "[]",
        "created_at": NOW,
        **fields,
    }
    return JobRow.model_validate(values)


def insert(database: Database, *rows: object) -> None:
    with database.write() as session:
        session.add_all(rows)


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'imagine.db'}")
    upgrade(database)
    return database


def test_the_database_allows_one_job_per_interaction_and_position(database: Database) -> None:
    insert(database, job_row("a" * 32, interaction_id=5, batch_index=0))
    insert(database, job_row("b" * 32, interaction_id=5, batch_index=1))
    with pytest.raises(IntegrityError):
        insert(database, job_row("c" * 32, interaction_id=5, batch_index=0))


def test_the_database_allows_one_pending_child_per_parent_action_and_index(
    database: Database,
) -> None:
    insert(database, job_row("p" * 32, state="succeeded"))
    child = {"parent_id": "p" * 32, "action": "vary", "parent_index": 2}
    insert(database, job_row("a" * 32, **child))
    with pytest.raises(IntegrityError):
        insert(database, job_row("b" * 32, **child, state="running"))
    insert(database, job_row("c" * 32, **{**child, "parent_index": 3}))
    insert(database, job_row("d" * 32, **{**child, "action": "upscale"}))
    with database.write() as session:
        session.connection().exec_driver_sql(
            f"UPDATE jobs SET state = 'delivered' WHERE id = '{'a' * 32}'"
        )
    insert(database, job_row("e" * 32, **child))  # the first child has finished


def test_the_database_records_a_job_charge_only_once(database: Database) -> None:
    insert(database, job_row("a" * 32))

    def entry(kind: str) -> LedgerRow:
        return LedgerRow(
            user_id=1, job_id="a" * 32, kind=kind, amount_ms=5, period_start=NOW, created_at=NOW
        )

    insert(database, entry("reserve"), entry("charge"))
    with pytest.raises(IntegrityError):
        insert(database, entry("charge"))
    grant = {"user_id": 1, "kind": "grant", "amount_ms": -5, "period_start": NOW, "created_at": NOW}
    insert(database, LedgerRow.model_validate(grant), LedgerRow.model_validate(grant))


def test_specs_survive_the_round_trip_through_the_database(
    settings: Settings, tmp_path: Path
) -> None:
    from imagine_bot.engine.spec import SourceImage, WeightedRef

    spec = make_spec().model_copy(
        update={
            "flags": {"sref": (WeightedRef(ref="https://x/y.png", weight=2.0),), "tile": True},
            "source": SourceImage(sha256="b" * 64, job_id="c" * 32, index=2),
            "strength": 0.6,
            "action": "vary_strong",
        }
    )
    store = open_store(settings, tmp_path)
    (job,), _ = store.submit(Requester(1), [spec])
    assert job.spec == spec
    assert store.job(job.id) == job


def test_upgrading_from_version_1_drops_the_extras_of_stored_specs(
    settings: Settings, tmp_path: Path
) -> None:
    store = open_store(settings, tmp_path)
    (job,), _ = store.submit(Requester(1), [make_spec()])
    with store.db.write() as session:  # as version 1 wrote it
        connection = session.connection()
        connection.exec_driver_sql("UPDATE jobs SET spec = json_set(spec, '$.extras', json('{}'))")
        connection.execute(schema_version.update().values(version=1))
    assert '"extras"' in job_row_text(store.db, job.id)
    assert upgrade(store.db) == (1, LATEST_VERSION)
    assert '"extras"' not in job_row_text(store.db, job.id)
    assert store.job(job.id) == job


def job_row_text(database: Database, job_id: str) -> str:
    with database.read() as session:
        return str(
            session.connection()
            .exec_driver_sql("SELECT spec FROM jobs WHERE id = ?", (job_id,))
            .scalar_one()
        )
