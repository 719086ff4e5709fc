"""Database opening, SQLite tuning, migrations at start-up and the one session frame."""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
import sqlalchemy.orm as so

from store.errors import DatabaseTooNew, StoreUnavailable

log = logging.getLogger("runbell.store")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def data_dir() -> Path:
    """The user data folder (created on demand); RUNBELL_HOME overrides it."""
    path = Path(os.environ.get("RUNBELL_HOME") or platformdirs.user_data_dir("runbell", "runbell"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_url() -> str:
    """`RUNBELL_DB` if set, else SQLite in the user data folder."""
    return os.environ.get("RUNBELL_DB") or f"sqlite:///{data_dir() / 'runbell.db'}"


def _tune_sqlite(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


class Database:
    """One engine and session factory per process. Sessions are never shared across threads."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            db_path = sa.engine.make_url(self.url).database
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            sa.event.listen(self.engine, "connect", _tune_sqlite)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        self._factory = so.sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            from store.migrate import upgrade_to_head

            try:
                upgrade_to_head(self)
            except BaseException:
                self.engine.dispose()
                raise

    @contextlib.contextmanager
    def session(self) -> Iterator[so.Session]:
        """One unit of work: commit on success, roll back on error, translate DB errors."""
        session = self._factory()
        try:
            yield session
            session.commit()
        except sa_exc.OperationalError as exc:
            session.rollback()
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Database", "DatabaseTooNew", "StoreUnavailable", "data_dir", "default_url"]
