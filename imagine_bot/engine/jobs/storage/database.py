"""SQLite connections for many short transactions from several threads and processes.

WAL (readers never wait for the writer), a busy timeout (a writer waits for the
lock instead of failing at once), foreign keys on, and every write transaction opened with
``BEGIN IMMEDIATE``. A deferred transaction that reads and then writes can fail with
"database is locked" when another writer got there first; an immediate one takes the write
lock up front, so read-check-write (quota, caps) is atomic and simply waits its turn.
Threads of one process also queue for a lock of their own before ``BEGIN``: SQLite admits one
writer anyway, and a thread woken by a lock release beats SQLite's busy handler, which polls
with sleeps of up to 100 ms and lets a lucky writer win over and over.
SQLite is the only backend: the database stays with the bot process (see docs/design.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

_BEGIN_OPTION = "imagine_begin"


class Database:
    """An SQLite engine plus the two kinds of session the store uses."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise ValueError(f"not an SQLite URL: {url}")
        self.url = parsed
        memory = parsed.database in (None, "", ":memory:")
        if not memory:
            Path(parsed.database or "").expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {
            "connect_args": {"timeout": busy_timeout, "check_same_thread": False}
        }
        if memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, or each has its own db
        self.engine: Engine = create_engine(parsed, **kwargs)
        _configure_sqlite(self.engine, busy_timeout, wal=not memory)
        self._writer = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._write_lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads (a deferred transaction: a WAL snapshot)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction holds the write lock from its start; commits on exit."""
        with (
            self._write_lock,
            Session(self._writer, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, busy_timeout: float, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself: pysqlite's own implicit
        # BEGIN is always deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process dying; only an OS crash or power
            # cut may lose the last transactions.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")
