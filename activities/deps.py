"""What activities need from the outside world, handed in by the worker at start."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.mailer import Mailer, Renderer


@dataclass
class Deps:
    sessions: async_sessionmaker[AsyncSession]
    mailer: Mailer
    renderer: Renderer
    portal_url: str
    default_queue: str = "support"
    default_reopen_window_seconds: int = 7 * 24 * 3600
    public_url: str = "http://127.0.0.1:8000"  # where an ITSM calls back
    itsm_adapter: str = "builtin"  # builtin | webhook
    itsm_webhook_url: str | None = None
    webhook_secret: str | None = None  # signs outbound webhook bodies (HMAC-SHA256)
    webhook_timeout_seconds: float = 10
