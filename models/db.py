"""Async engine and session factory shared by the API and the activities."""

from pydantic_core import from_json
from sqlalchemy import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Older connections are replaced at checkout: a connection some middlebox dropped while it
# sat idle is not found by a failing request.
RECYCLE_SECONDS = 1800


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """`pre_ping` tests each connection at checkout (one more round trip). Without it, the
    first statement on a connection the server dropped fails (the API answers 503) and the
    pool replaces every connection older than that failure, so the retry succeeds.

    JSONB values are parsed by pydantic-core's `from_json`, three times faster than the
    standard library's (a case's SLA clocks, an agent's skills: many per request)."""
    return create_async_engine(
        url,
        json_deserializer=from_json,
        pool_size=pool_size,
        max_overflow=20,
        pool_pre_ping=pre_ping,
        pool_recycle=RECYCLE_SECONDS,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: each statement runs on its own (autocommit), so
    a read costs no BEGIN and ROLLBACK round trips. Nothing written through them is atomic."""
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def libpq_url(database_url: str | URL) -> str:
    """The SQLAlchemy URL as psycopg's own connect() takes it (LISTEN, the bench's probes)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
