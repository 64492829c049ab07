"""Render case notification emails from Jinja2 templates and send them over SMTP."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from jinja2 import BaseLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from templates import ROOT as TEMPLATES_DIR  # noqa: F401  (where the kinds live, for tests)
from templates import ResourceLoader

log = logging.getLogger(__name__)

TEMPLATE_KINDS: tuple[str, ...] = (
    "acknowledgement",
    "assignment",
    "question",
    "resolution_proposed",
    "closed",
    "csat_survey",
    "reply",
    "cancelled",
    "sla_warning",
    "sla_breached",
    "work_order_dispatched",
    "work_order_completed",
    "work_order_cancelled",
    "incident_update",
    "step_failed",
    "broadcast",  # an update on a major case, to every affected customer
)
# Kinds about a person, not a case (no `case` in their context).
PERSONAL_KINDS: tuple[str, ...] = ("sign_in_link",)


MAX_SUBJECT_LENGTH = 200
MAX_LINE = 998  # SMTP's limit on a line, without its CRLF (RFC 5322 2.1.1)
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP  # readable on the wire, unlike base64

# Optional keys are defaulted to None so callers may omit them; StrictUndefined would
# otherwise turn a missing optional field into a failed (and endlessly retried) activity.
_OPTIONAL_CONTEXT_KEYS = ("body", "agent", "reason")
_OPTIONAL_CASE_KEYS = (
    "priority",
    "state",
    "reopen_window_ends_at",
    "response_due_at",
    "customer_name",
)
_REQUIRED_CONTEXT_KEYS = ("case", "recipient", "portal_url")
_REQUIRED_CASE_KEYS = ("id", "number", "subject")

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@casework>$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
# Set by build_message itself; letting `headers` override them would produce duplicate or
# conflicting headers rather than a replacement.
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Subject",
        "Message-ID",
        "Date",
        "Reply-To",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
    )
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _clean_subject(subject: str) -> str:
    # A CR/LF surviving into the Subject header would let case data inject headers.
    flat = " ".join(_CONTROL_CHARS.sub(" ", subject).split())
    return flat[:MAX_SUBJECT_LENGTH].rstrip()


class Renderer:
    """Renders notification kinds; user text only ever enters as context data."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loader: BaseLoader = (
            FileSystemLoader(str(templates_dir)) if templates_dir else ResourceLoader()
        )
        self.env = ImmutableSandboxedEnvironment(
            loader=loader,
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    @staticmethod
    def _normalise(context: dict[str, Any], personal: bool = False) -> dict[str, Any]:
        if personal:  # a sign-in link: no case to speak of
            context = {"case": {"id": "", "number": "", "subject": ""}} | context
        missing = [k for k in _REQUIRED_CONTEXT_KEYS if k not in context]
        if missing:
            raise ValueError(f"notification context is missing {missing}")
        case = dict(context["case"])
        missing = [k for k in _REQUIRED_CASE_KEYS if k not in case]
        if missing:
            raise ValueError(f"notification case is missing {missing}")
        for key in _OPTIONAL_CASE_KEYS:
            case.setdefault(key, None)
        recipient = dict(context["recipient"])
        recipient.setdefault("name", None)
        recipient.setdefault("email", None)
        ctx = dict(context)
        for key in _OPTIONAL_CONTEXT_KEYS:
            ctx.setdefault(key, None)
        if ctx["agent"] is not None:
            agent = dict(ctx["agent"])
            agent.setdefault("name", None)
            agent.setdefault("email", None)
            ctx["agent"] = agent
        ctx["case"] = case
        ctx["recipient"] = recipient
        # Templates append "/cases/..."; a configured trailing slash would yield "//cases".
        ctx["portal_url"] = str(context["portal_url"]).rstrip("/")
        return ctx

    def render(self, kind: str, context: dict[str, Any]) -> RenderedEmail:
        if kind not in TEMPLATE_KINDS and kind not in PERSONAL_KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        ctx = self._normalise(context, personal=kind in PERSONAL_KINDS)
        subject = self.env.get_template(f"email/{kind}.subject.txt").render(ctx)
        text = self.env.get_template(f"email/{kind}.txt").render(ctx)
        html = self.env.get_template(f"email/{kind}.html").render(ctx)
        return RenderedEmail(subject=_clean_subject(subject), text=text.strip() + "\n", html=html)


def _check_header(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"header {name} must be a string")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} contains CR/LF")
    return value


def _text_part(text: str, subtype: str) -> MIMEText:
    """Plain 7-bit when it can go as it is, else quoted-printable UTF-8 (which also wraps
    lines longer than SMTP's 998 characters)."""
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.splitlines()):
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, cast(str, UTF8_QP))  # a Charset works too (typeshed says str)


def _header_text(name: str, value: str) -> str | Header:
    """Free text (a subject) as it goes on the wire: RFC 2047 words when it is not ASCII."""
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _address(value: str) -> str:
    """An address, its display name RFC 2047-encoded when it is not ASCII."""
    if value.isascii():
        return value
    name, addr = parseaddr(value)
    if addr and addr.isascii():
        return formataddr((name, addr), charset="utf-8")
    return Header(value, "utf-8").encode()  # an international address: as the old form did


def build_message(
    *,
    rendered: RenderedEmail,
    sender: str,
    recipient: str,
    message_id: str,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> Message:
    """Build a multipart/alternative message; raises ValueError on unsafe header values.

    Built with the `email.mime` classes (the compat32 policy): twenty times cheaper than
    `EmailMessage`, whose header objects parse every value again. Every header value is
    checked for CR/LF here and made ASCII, so the wire form is the same either way.
    """
    if not _MESSAGE_ID.match(_check_header("Message-ID", message_id)):
        raise ValueError(f"message id {message_id!r} must look like <key@casework>")
    msg = MIMEMultipart("alternative")
    msg["From"] = _address(_check_header("From", sender))
    msg["To"] = _address(_check_header("To", recipient))
    # A Header is a header value too (typeshed has str only).
    msg["Subject"] = _header_text("Subject", _check_header("Subject", rendered.subject))  # type: ignore[assignment]
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id
    # RFC 3834: every mail of ours is automatic, so a well-behaved responder never answers it
    # (and our own inbound mail ignores whatever answers anyway: api/mail/message.py).
    msg["Auto-Submitted"] = "auto-generated"
    if reply_to is not None:
        msg["Reply-To"] = _address(_check_header("Reply-To", reply_to))
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"invalid header name {name!r}")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header {name} is set by build_message")
        msg[name] = _header_text(name, _check_header(name, value))  # type: ignore[assignment]
    msg.attach(_text_part(rendered.text, "plain"))
    msg.attach(_text_part(rendered.html, "html"))
    return msg


class MailError(Exception):
    def __init__(self, detail: str, code: int | None = None) -> None:
        super().__init__(f"{code} {detail}" if code is not None else detail)
        self.code = code
        self.detail = detail


class TransientMailError(MailError):
    """Retrying later may succeed (4xx reply, connection or timeout failure)."""


class PermanentMailError(MailError):
    """Retrying will not help (5xx reply or a configuration problem)."""


def _detail(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return str(raw)


def _classify(code: int | None, detail: str) -> MailError:
    if code is not None and 500 <= code <= 599:
        return PermanentMailError(detail, code)
    # 4xx and anything unrecognised (e.g. smtplib's -1 for a dropped greeting) are retried:
    # losing a customer notification is worse than a delayed one.
    return TransientMailError(detail, code)


_SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


class Mailer:
    """Blocking SMTP client; callers run `send` in a worker thread.

    Connections are kept open between messages (a burst of mails costs one connect,
    greeting and login, not one per mail): at most `keep_open` idle connections, each for
    at most `idle_seconds`; one idle for over `check_after` seconds is checked with NOOP
    before it is used again, and replaced if the server has closed it.
    """

    def __init__(
        self,
        smtp_url: str,
        sender: str,
        timeout: float = 10,
        *,
        keep_open: int = 8,
        idle_seconds: float = 30.0,
        check_after: float = 2.0,
    ) -> None:
        self.sender = sender
        self.timeout = timeout
        self.keep_open = keep_open
        self.idle_seconds = idle_seconds
        self.check_after = check_after
        self._idle: list[tuple[float, smtplib.SMTP]] = []
        self._lock = threading.Lock()
        self.connections_opened = 0
        self.enabled = bool(smtp_url) and smtp_url.strip() != "smtp://disabled"
        self.scheme = ""
        self.host = ""
        self.port = 0
        self.username: str | None = None
        self.password: str | None = None
        if not self.enabled:
            return
        parts = urlsplit(smtp_url.strip())
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"unsupported SMTP URL scheme {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or _SCHEMES[parts.scheme]
        if parts.username is not None:
            self.username = unquote(parts.username)
            self.password = unquote(parts.password or "")

    def __repr__(self) -> str:
        # Never include the password: Mailer objects end up in logs and tracebacks.
        if not self.enabled:
            return "Mailer(disabled)"
        return f"Mailer({self.scheme}://{self.host}:{self.port})"

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username is not None:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        self.connections_opened += 1
        return smtp

    def _checkout(self) -> smtplib.SMTP:
        """An open connection: the most recently used idle one that still answers, or a new one."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                since, smtp = self._idle.pop()
            idle = time.monotonic() - since
            if idle > self.idle_seconds:
                _quietly_quit(smtp)
                continue
            if idle > self.check_after:
                try:
                    if smtp.noop()[0] != 250:
                        raise smtplib.SMTPServerDisconnected("NOOP refused")
                except (smtplib.SMTPException, OSError):
                    smtp.close()
                    continue
            return smtp
        return self._connect()

    def _checkin(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.keep_open:
                self._idle.append((time.monotonic(), smtp))
                return
        _quietly_quit(smtp)

    def close(self) -> None:
        """Say goodbye on every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, smtp in idle:
            _quietly_quit(smtp)

    def send(self, message: Message) -> None:
        if not self.enabled:
            log.debug("mail disabled; dropping %s", message.get("Message-ID"))
            return
        try:
            smtp = self._checkout()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc) from exc
        try:
            refused = smtp.send_message(message, from_addr=self.sender)
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise self._translate(exc) from exc
        except BaseException:
            smtp.close()
            raise
        if refused:
            # Some recipients were accepted, so raising would make a retry resend to them.
            log.warning("SMTP server refused some recipients: %s", refused)
        self._checkin(smtp)

    @staticmethod
    def _translate(exc: smtplib.SMTPException | OSError) -> MailError:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            replies = list(exc.recipients.values())
            code: int | None
            if replies and all(500 <= code <= 599 for code, _ in replies):
                code, raw = replies[0]
                return PermanentMailError(_detail(raw), code)
            no_reply: tuple[int | None, bytes] = (None, b"all recipients refused")
            code, raw = replies[0] if replies else no_reply
            return TransientMailError(_detail(raw), code)
        if isinstance(exc, smtplib.SMTPResponseException):
            return _classify(exc.smtp_code, _detail(exc.smtp_error))
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return PermanentMailError(f"server does not support a required feature: {exc}")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return PermanentMailError(f"TLS certificate verification failed: {exc}")
        return TransientMailError(f"{type(exc).__name__}: {exc}")


def _quietly_quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
