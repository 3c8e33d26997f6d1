"""Engines and migrations. Nothing connects at import time: callers build what they need."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_engine(url: str) -> Engine:
    """SQLite for a quick local run with several consumer processes on one file.

    Every transaction starts with BEGIN IMMEDIATE (SQLAlchemy's documented pysqlite recipe): a
    deferred transaction that later wants to write fails at once with 'database is locked' instead
    of waiting, whereas an immediate one waits for the busy timeout. WAL lets readers go on meanwhile.
    """
    database = url.split("///", 1)[-1]
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported when migrating only: Alembic (and Mako) cost every process 0.3 s

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, *, catalogue: Path | None = None, at: datetime | None = None) -> None:
    """Bring the database to the latest schema (the same migrations for SQLite and PostgreSQL); the first time,
    the catalogue (the shipped one, or `catalogue`) is its seed data, stamped `at`."""
    from alembic import command

    config = alembic_config(url)
    config.attributes.update(catalogue_path=catalogue, seeded_at=at)
    command.upgrade(config, "head")
