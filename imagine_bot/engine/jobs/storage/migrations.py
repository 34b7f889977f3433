"""Schema versions and the explicit steps between them.

The database records its version in ``schema_version``. ``upgrade`` applies every step above
it in order, inside one write transaction, so two processes starting at once never both
migrate. Before the first step on an existing database file it copies the file beside it
(``backup_path``): a failed or regretted upgrade is undone by putting the copy back.
Version 1 is created from the table models; a later change to a table must add a step here
(ALTER TABLE ..., data moves) rather than edit an earlier one.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from imagine_bot.engine.jobs.storage import tables
from imagine_bot.engine.jobs.storage.database import Database

log = logging.getLogger(__name__)

_version_metadata = MetaData()
schema_version = Table(
    "schema_version", _version_metadata, Column("version", Integer, nullable=False)
)


class SchemaError(Exception):
    """The database cannot be used by this version of imagine-bot."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_v1(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection, tables=tables.TABLES)


def _drop_spec_extras(connection: Connection) -> None:
    # GenerationSpec lost its unused ``extras`` field; it forbids unknown keys.
    connection.exec_driver_sql(
        "UPDATE jobs SET spec = json_remove(spec, '$.extras') "
        "WHERE json_type(spec, '$.extras') IS NOT NULL"
    )


def _add_json_list(column: str) -> Callable[[Connection], None]:
    def add(connection: Connection) -> None:
        # A database created at this version already has it (v1 creates current tables).
        if column not in {found["name"] for found in inspect(connection).get_columns("jobs")}:
            connection.execute(
                text(f"ALTER TABLE jobs ADD COLUMN {column} TEXT NOT NULL DEFAULT '[]'")
            )

    return add


def _add_table(name: str) -> Callable[[Connection], None]:
    def add(connection: Connection) -> None:
        # checkfirst: a database created at this version already has it (v1 creates current
        # tables).
        SQLModel.metadata.create_all(connection, tables=[SQLModel.metadata.tables[name]])

    return add


def _add_favourites(connection: Connection) -> None:
    _add_table(tables.FavouriteRow.__tablename__)(connection)
    if "deleted_at" not in {found["name"] for found in inspect(connection).get_columns("jobs")}:
        connection.execute(text("ALTER TABLE jobs ADD COLUMN deleted_at DATETIME"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "users, macros, jobs, images and the quota ledger", _create_v1),
    Migration(2, "job specs without the unused extras field", _drop_spec_extras),
    Migration(
        3, "jobs.flagged: the images the safety classifier flagged", _add_json_list("flagged")
    ),
    Migration(
        4,
        "queue_state: /admin pause survives a restart",
        _add_table(tables.QueueStateRow.__tablename__),
    ),
    Migration(5, "jobs.texts: the prompts a /describe job wrote", _add_json_list("texts")),
    Migration(6, "favourites (stars) and jobs.deleted_at (Delete button)", _add_favourites),
    Migration(
        7, "profiles: --p styles made of images", _add_table(tables.ProfileRow.__tablename__)
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(database: Database) -> int:
    """The schema version of the database; 0 when it has no imagine-bot tables yet."""
    with database.engine.connect() as connection:
        return _read_version(connection)


def upgrade(database: Database) -> tuple[int, int]:
    """Bring the schema to ``LATEST_VERSION``; returns (version before, version after)."""
    with database.write() as session:
        connection = session.connection()
        _version_metadata.create_all(connection)
        before = _read_version(connection)
        if before > LATEST_VERSION:
            raise SchemaError(
                f"the database is at schema version {before}, newer than this imagine-bot "
                f"understands ({LATEST_VERSION}); upgrade imagine-bot"
            )
        if 0 < before < LATEST_VERSION:
            _back_up(database, before)
        for migration in MIGRATIONS:
            if migration.version > before:
                migration.apply(connection)
        if before == 0:
            connection.execute(schema_version.insert().values(version=LATEST_VERSION))
        elif before < LATEST_VERSION:
            connection.execute(schema_version.update().values(version=LATEST_VERSION))
    return before, LATEST_VERSION


def backup_path(database: Database, version: int) -> Path | None:
    """Where the copy of a version-``version`` database goes before it is upgraded; None for
    an in-memory database."""
    name = database.url.database
    if name in (None, "", ":memory:"):
        return None
    path = Path(name).expanduser()
    return path.with_name(f"{path.name}.schema-v{version}.bak")


def _back_up(database: Database, version: int) -> None:
    target = backup_path(database, version)
    if target is None:
        return
    # SQLite's online backup reads a consistent snapshot through its own connection while
    # ours holds the write lock (WAL: readers never wait), so no step has run yet in the copy.
    source = sqlite3.connect(Path(database.url.database or "").expanduser())
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    log.info("database at schema version %d copied to %s before upgrading", version, target)


def _read_version(connection: Connection) -> int:
    if not inspect(connection).has_table("schema_version"):
        return 0
    version = connection.execute(select(schema_version.c.version)).scalar()
    return int(version or 0)
