"""Run Alembic migrations programmatically, once at a time, refusing a newer database."""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.errors import DatabaseTooNew

if TYPE_CHECKING:
    from store.db import Database

log = logging.getLogger("runbell.store")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def _current(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(db: Database) -> Iterator[None]:
    """Serialise migrations between processes that open a fresh database at the same time."""
    if db.is_sqlite:
        path = sa.engine.make_url(db.url).database
        if not path or path == ":memory:":
            yield
            return
        lock_path = f"{path}.migrate-lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
    elif db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(727274)"))
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(727274)"))
                conn.commit()
    else:
        yield


def upgrade_to_head(db: Database) -> None:
    cfg = alembic_config(db)
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    if _current(db) == head:
        return
    with _migration_lock(db):
        current = _current(db)
        if current == head:
            return
        if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
            raise DatabaseTooNew(
                f"the database at {db.display_url} was created by a newer Runbell "
                f"(schema {current}); update Runbell, the database was not changed"
            )
        log.info("migrating database %s from %s to %s", db.display_url, current, head)
        command.upgrade(cfg, "head")
