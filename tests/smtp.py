"""The tests' SMTP server: the dev sink plus what only tests need — refusing a mail,
acting at the end of DATA (e.g. killing the sender), and the mailbox a receiver that
drops repeated Message-IDs would show."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework.devstack import ReceivedMessage, SmtpSink

ReplyHook = Callable[[Any], str | None]
"""Called with the aiosmtpd Envelope (.mail_from, .rcpt_tos, .original_content) at the
end of DATA, on the server's thread, before anything is answered. Return None to accept,
or an SMTP status line such as "421 try later" or "550 no such user" to refuse; smtplib
then raises SMTPDataError (an SMTPResponseException) whose smtp_code is that status.
Refused messages are not stored in `messages` but are appended to `refused`."""


@dataclass
class SmtpServer(SmtpSink):
    reply: ReplyHook | None = None
    refused: list[tuple[ReceivedMessage, str]] = field(default_factory=list)

    def receive(self, envelope: Any) -> str:
        received = ReceivedMessage.of(envelope)
        status = self.reply(envelope) if self.reply is not None else None
        if status is None:
            self.keep(received)
            return "250 OK"
        with self._cond:
            self.refused.append((received, status))
            self._cond.notify_all()
        return status

    @property
    def delivered(self) -> list[ReceivedMessage]:
        """Accepted mails, one per Message-ID: what a mailbox shows whose server drops a
        message it already has (Sieve `duplicate`, RFC 7352; Gmail does the same)."""
        unique: dict[str, ReceivedMessage] = {}
        with self._cond:
            for m in self.messages:
                unique.setdefault(m.message["Message-ID"], m)
        return list(unique.values())

    def clear(self) -> None:
        with self._cond:
            super().clear()
            self.refused.clear()


def start_smtp_sink(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    maildir: Path | None = None,
    reply: ReplyHook | None = None,
) -> SmtpServer:
    """Start the tests' SMTP server on host:port (port=0 picks a free one)."""
    return SmtpServer(host=host, port=port, maildir=maildir, reply=reply).start()  # type: ignore[return-value]


def refuse_first(n: int, status: str = "421 4.3.0 try later") -> ReplyHook:
    """A ReplyHook refusing the first n messages with status, then accepting all."""
    lock = threading.Lock()
    seen = 0

    def hook(envelope: Any) -> str | None:
        nonlocal seen
        with lock:
            seen += 1
            return status if seen <= n else None

    return hook
