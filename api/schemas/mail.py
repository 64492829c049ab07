"""Inbound email schemas: what became of a message (InboundEmailRead) and a case's
attachments (AttachmentRead)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_MESSAGE = (
    "From: Ada Lovelace <ada@acme.example>\r\n"
    "To: support@casework.example\r\n"
    "Subject: The router keeps rebooting\r\n"
    "Message-ID: <CAF3xyz@mail.acme.example>\r\n"
    "Date: Mon, 30 Nov 2026 09:00:00 +0000\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Since this morning it reboots every ten minutes.\r\n"
)


class InboundEmailRead(BaseModel):
    """What Casework did with an inbound message."""

    case_id: uuid.UUID | None = Field(
        description="The case it opened or was added to (ignored: the case it belongs to, if any)"
    )
    action: Literal["opened", "appended", "ignored"]
    reason: str = Field(description="Why, in words (e.g. why it was ignored or flagged)")


class AttachmentRead(BaseModel):
    """A file that came with a case's mail (download it at its `url`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int = Field(description="bytes")
    created_at: datetime
    url: str = Field(description="Where to download it (same permissions as the case)")


class InboundMessageRead(BaseModel):
    """An inbound message kept on a case, and what was done with it (its raw form at `raw_url`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    message_id: str = Field(description="Its Message-ID header")
    sender: str
    subject: str
    recipients: list[str] = Field(description="Its To and Cc")
    action: Literal["opened", "appended", "ignored"]
    reason: str
    created_at: datetime
    raw_url: str = Field(description="The whole message as it came (message/rfc822)")
