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


def log_dir() -> Path:
    """The user log folder (created on demand); under RUNBELL_HOME when that is set."""
    home = os.environ.get("RUNBELL_HOME")
    path = Path(home) / "logs" if home else Path(platformdirs.user_log_dir("runbell", "runbell"))
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


def _without_password(url: str) -> str:
    """The URL as it may be shown or logged: a team database's password never is."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url


class Database:
    """One engine and session factory per process. Sessions are never shared across threads."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        self.is_sqlite = self.url.startswith("sqlite")
        self.display_url = _without_password(self.url)
        try:
            self._create_engine()
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise StoreUnavailable(
                f"{self.display_url!r} is not a database URL Runbell can open ({exc}); use e.g. "
                "sqlite:////path/to/runbell.db or postgresql+psycopg://user@host/db"
            ) from exc
        except ModuleNotFoundError as exc:
            raise StoreUnavailable(
                f"the database driver for {self.url.split(':', 1)[0]} is not installed ({exc.name}); "
                "for PostgreSQL: pip install -e '.[postgres]'"
            ) from exc
        self._factory = so.sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            from store.migrate import upgrade_to_head

            try:
                upgrade_to_head(self)
            except sa_exc.OperationalError as exc:
                self.engine.dispose()
                raise StoreUnavailable(f"cannot open the database at {self.display_url}: {exc.orig}") from exc
            except BaseException:
                self.engine.dispose()
                raise

    def _create_engine(self) -> None:
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


__all__ = ["Database", "DatabaseTooNew", "StoreUnavailable", "data_dir", "default_url", "log_dir"]
