"""What activities need from the outside world, handed in by the worker at start."""

from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.mailer import Mailer, Renderer

ESCALATION_MAILBOX = "support-escalations"


def default_escalation_email(sender: str) -> str:
    """support-escalations@ the domain we send from: a mailbox the operator already owns."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"{ESCALATION_MAILBOX}@{domain}"


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
    # Who hears of a breach when no one supervises: None is support-escalations@ our domain.
    escalation_email: str | None = None

    def __post_init__(self) -> None:
        self.escalation_email = self.escalation_email or default_escalation_email(
            self.mailer.sender
        )
