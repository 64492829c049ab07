"""Read a raw RFC 5322 message into what Casework needs of it, or refuse it (pure).

`read(raw)` answers an `InboundMail` or raises `Unreadable` (a 4xx with the reason): nothing
is written before a message has been read whole, so a bad one leaves no trace. `loop_reason`
says why a message must neither open a case nor be answered (RFC 3834 and its folklore), and
`bounced` which of our recipients a delivery status report (RFC 3464) says failed.
"""

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage

from api.mail.text import html_to_text, strip_quoted
from models.email_address import normalize

MAX_SUBJECT = 300
_MSG_ID = re.compile(r"<[^<>\s\x00-\x1f\x7f]{1,990}>")
# PostgreSQL keeps no NUL in text, and headers and names are one line: other control
# characters go too (a body keeps its line breaks and tabs).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NAME = 100
# What makes a message automatic, header by header (RFC 3834, and what autoresponders say).
_BULK = ("bulk", "junk", "list", "auto_reply")


class Unreadable(Exception):
    """The message cannot be taken: `status` 413 (too large) or 422 (not a message)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class InboundMail:
    raw: bytes
    message_id: str  # <id@host>, or one made from the content when the message has none
    sender: str  # normalized address
    sender_name: str | None
    subject: str
    to: list[str]
    cc: list[str]
    in_reply_to: list[str]
    references: list[str]
    return_path: str | None  # "" for an empty return path (<>), None when not given
    text: str  # the new words of the message (quoted history stripped)
    full_text: str  # the whole text body (HTML rendered as text when there was no text)
    headers: dict[str, str] = field(default_factory=dict)  # the loop-relevant ones, lowered
    attachments: list[Attachment] = field(default_factory=list)
    report_type: str | None = None  # multipart/report's report-type
    failed_recipients: list[str] = field(default_factory=list)  # from a delivery status report
    bounced_message_id: str | None = None  # the Message-ID of the mail a bounce reports on

    @property
    def thread_ids(self) -> list[str]:
        """Every message id this one answers: In-Reply-To first, then References newest first."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


def read(raw: bytes, *, max_bytes: int, max_attachment_bytes: int) -> InboundMail:
    """Parse `raw`; Unreadable when it is too large, not a message, or its headers are bad."""
    if len(raw) > max_bytes:
        raise Unreadable(413, f"the message exceeds the limit of {max_bytes} bytes")
    if not raw.strip():
        raise Unreadable(422, "the message is empty")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return _read(raw, msg, max_attachment_bytes)
    except Unreadable:
        raise
    except Exception as err:  # the email package raises many kinds on malformed input
        detail = f"the message could not be read: {type(err).__name__}: {err}"
        raise Unreadable(422, detail) from None


def _read(raw: bytes, msg: EmailMessage, max_attachment_bytes: int) -> InboundMail:
    if not _has_header_section(raw):
        raise Unreadable(422, "not an RFC 5322 message: it has no header section")
    senders = _addresses(msg, "From")
    if len(senders) != 1:
        raise Unreadable(422, "the From header must name exactly one valid address")
    sender_name, sender = senders[0]
    message_id = _one_id(msg.get("Message-ID"))
    if message_id is None:
        message_id = f"<sha256.{hashlib.sha256(raw).hexdigest()}@casework.inbound>"
    subject = _line(str(msg.get("Subject") or ""))[:MAX_SUBJECT]
    plain, html = _bodies(msg)
    full = plain if plain is not None else html_to_text(html) if html is not None else ""
    full = _BODY_CONTROL.sub("", full)
    report_type = None
    if msg.get_content_type() == "multipart/report":
        report_type = (msg.get_param("report-type") or "").lower() or None
    mail = InboundMail(
        raw=raw,
        message_id=message_id,
        sender=sender,
        sender_name=_line(sender_name)[:MAX_NAME] or None,
        subject=subject,
        to=[a for _, a in _addresses(msg, "To")],
        cc=[a for _, a in _addresses(msg, "Cc")],
        in_reply_to=_ids(msg.get("In-Reply-To")),
        references=_ids(msg.get("References")),
        return_path=_return_path(msg),
        text=strip_quoted(full),
        full_text=full,
        headers={
            name.lower(): " ".join(str(msg.get(name) or "").split()).lower()
            for name in ("Auto-Submitted", "X-Autoreply", "X-Autorespond", "Precedence")
            if msg.get(name) is not None
        },
        attachments=_attachments(msg, max_attachment_bytes),
        report_type=report_type,
    )
    if report_type == "delivery-status":
        mail.failed_recipients = _failed_recipients(msg)
        mail.bounced_message_id = _original_id(msg)
    return mail


def _line(value: str) -> str:
    """One line of text, without control characters."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _original_id(msg: EmailMessage) -> str | None:
    """The Message-ID of the returned message (its headers ride along in a bounce)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            found = _one_id(inner.get("Message-ID")) if hasattr(inner, "get") else None
        elif kind == "text/rfc822-headers":
            headers = email.message_from_string(_decoded(part), policy=email.policy.default)
            found = _one_id(headers.get("Message-ID"))
        else:
            continue
        if found:
            return found
    return None


def _has_header_section(raw: bytes) -> bool:
    """The first line is a header field (name, colon): free text is not a message."""
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    return re.match(rb"^[!-9;-~]+:", first) is not None


def _addresses(msg: EmailMessage, name: str) -> list[tuple[str, str]]:
    """(display name, normalized address) of every address in the header; Unreadable when
    the header is present but malformed."""
    values = msg.get_all(name) or []
    found: list[tuple[str, str]] = []
    for value in values:
        if getattr(value, "defects", None) and name == "From":
            raise Unreadable(422, f"the {name} header is malformed: {value.defects[0]}")
        for addr in getattr(value, "addresses", ()):
            assert isinstance(addr, Address)
            if not addr.addr_spec or "@" not in addr.addr_spec:
                if name == "From":
                    raise Unreadable(422, f"the {name} header has no valid address")
                continue
            try:
                found.append((addr.display_name, normalize(addr.addr_spec)))
            except ValueError as err:
                if name == "From":
                    raise Unreadable(422, f"the {name} address is not valid: {err}") from None
    return found


def _ids(value: object) -> list[str]:
    return _MSG_ID.findall(str(value)) if value is not None else []


def _one_id(value: object) -> str | None:
    found = _ids(value)
    return found[0] if found else None


def _return_path(msg: EmailMessage) -> str | None:
    value = msg.get("Return-Path")
    if value is None:
        return None
    inner = str(value).strip()
    return inner.strip("<>").strip()


def _bodies(msg: EmailMessage) -> tuple[str | None, str | None]:
    """The text/plain and text/html bodies (the first of each that is not an attachment)."""
    plain = html = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "message/rfc822":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decoded(part)
        elif kind == "text/html" and html is None:
            html = _decoded(part)
    return plain, html


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or lying charset: best effort
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _attachments(msg: EmailMessage, limit: int) -> list[Attachment]:
    found: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if disposition != "attachment" and not (disposition == "inline" and filename):
            continue
        content = part.get_payload(decode=True) or b""
        if len(content) > limit:
            raise Unreadable(
                413, f"the attachment {filename or '(unnamed)'} exceeds the limit of {limit} bytes"
            )
        name = _line(filename or "attachment")[:255] or "attachment"
        found.append(Attachment(name, part.get_content_type()[:120], content))
    return found


def _failed_recipients(msg: EmailMessage) -> list[str]:
    """Final-Recipient of every per-recipient block whose Action is failed (RFC 3464)."""
    failed: list[str] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            action = str(block.get("Action") or "").strip().lower()
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            _, _, address = recipient.partition(";")
            if action == "failed" and address.strip():
                try:
                    failed.append(normalize(address.strip().strip("<>")))
                except ValueError:
                    continue
    return list(dict.fromkeys(failed))


def loop_reason(mail: InboundMail, own_addresses: frozenset[str]) -> str | None:
    """Why the message is automatic (answering it could start a mail loop), or None."""
    if mail.report_type == "delivery-status":
        return "a delivery status report (bounce)"
    if mail.return_path == "":
        return "an empty return path (Return-Path: <>)"
    auto = mail.headers.get("auto-submitted")
    if auto is not None and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    for header in ("x-autoreply", "x-autorespond"):
        if header in mail.headers:
            return f"{header}: {mail.headers[header]}"
    if mail.headers.get("precedence") in _BULK:
        return f"Precedence: {mail.headers['precedence']}"
    if mail.sender in own_addresses:
        return f"sent from our own address {mail.sender}"
    local = mail.sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster"):
        return f"sent by {local}"
    return None
