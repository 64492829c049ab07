"""Unit tests for notification rendering, message building and SMTP error classification."""

from __future__ import annotations

import email
import email.policy
import socket
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from jinja2.sandbox import ImmutableSandboxedEnvironment

from activities.mailer import (
    TEMPLATE_KINDS,
    TEMPLATES_DIR,
    Mailer,
    MailError,
    PermanentMailError,
    RenderedEmail,
    Renderer,
    TransientMailError,
    build_message,
)
from activities.relay import case_header

HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"
SENDER = "support@casework.localhost"


def _context(*, full: bool, subject: str = "Printer jams", body: str | None = None) -> dict:
    case = {
        "id": "8f14e45f-ceea-467f-a0e6-5b3f1c2d9e10",
        "number": "CS0001234",
        "subject": subject,
        "priority": "high",
        "state": "open",
        "reopen_window_ends_at": "2025-03-08T12:00:00+00:00" if full else None,
        "response_due_at": "2025-03-02T12:00:00+00:00" if full else None,
    }
    return {
        "case": case,
        "recipient": {"name": "Ada Lovelace" if full else None, "email": "ada@example.com"},
        "body": body,
        "agent": {"name": "Grace Hopper", "email": "grace@casework.localhost"} if full else None,
        "portal_url": "https://portal.example.com",
        "reason": "accepted" if full else None,
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def rendered() -> RenderedEmail:
    return RenderedEmail(subject="[CS0001234] Hello", text="plain body\n", html="<p>html body</p>")


# ---------------------------------------------------------------- rendering


def test_template_files_exist_for_every_kind() -> None:
    for kind in TEMPLATE_KINDS:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (TEMPLATES_DIR / "email" / f"{kind}{suffix}").is_file(), (kind, suffix)


def test_renderer_uses_immutable_sandbox(renderer: Renderer) -> None:
    assert isinstance(renderer.env, ImmutableSandboxedEnvironment)


@pytest.mark.parametrize("full", [False, True], ids=["optional-none", "optional-set"])
@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_render_every_kind(renderer: Renderer, kind: str, full: bool) -> None:
    body = "Please restart the printer.\nThen try again." if full else None
    out = renderer.render(kind, _context(full=full, body=body))
    assert out.subject.startswith("[CS0001234] ")
    assert "Printer jams" in out.subject
    assert "\n" not in out.subject and "\r" not in out.subject
    assert "CS0001234" in out.text and "CS0001234" in out.html
    assert out.html.lstrip().startswith("<!DOCTYPE html>")
    assert "None" not in out.text and "None" not in out.html
    if full:
        assert "Please restart the printer.\nThen try again." in out.text
        assert "Please restart the printer." in out.html


def test_render_kind_specific_details(renderer: Renderer) -> None:
    ctx = _context(full=True, body="Replace the toner.")
    ack = renderer.render("acknowledgement", ctx)
    assert "2025-03-02T12:00:00+00:00" in ack.text
    assert ack.subject == "[CS0001234] We received your request: Printer jams"

    proposed = renderer.render("resolution_proposed", ctx)
    assert "2025-03-08T12:00:00+00:00" in proposed.text
    link = "https://portal.example.com/cases/8f14e45f-ceea-467f-a0e6-5b3f1c2d9e10"
    assert link in proposed.text and f'href="{link}"' in proposed.html
    assert "reopen" in proposed.text

    survey = renderer.render("csat_survey", ctx)
    assert f"{link}/survey" in survey.text and f'href="{link}/survey"' in survey.html

    assignment = renderer.render("assignment", ctx)
    assert "high" in assignment.text and link in assignment.text

    question = renderer.render("question", ctx)
    assert "reply to this email" in question.text.lower()
    assert "Grace Hopper" in question.text


@pytest.mark.parametrize(
    ("reason", "phrase"),
    [
        ("accepted", "accepted the proposed resolution"),
        ("window_lapsed", "reopen window ended"),
        ("cancelled", "was cancelled"),
    ],
)
def test_closed_reason(renderer: Renderer, reason: str, phrase: str) -> None:
    ctx = _context(full=True)
    ctx["reason"] = reason
    out = renderer.render("closed", ctx)
    assert phrase in out.text and phrase in out.html


@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_user_text_is_data_not_template(renderer: Renderer, kind: str) -> None:
    out = renderer.render(kind, _context(full=True, subject=HOSTILE, body=HOSTILE))
    for part in (out.subject, out.text, out.html):
        assert "{{ 7*7 }}" in part
        assert "49" not in part
    assert "<script>" in out.subject and "<script>" in out.text
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html


def test_subject_header_injection_is_neutralised(renderer: Renderer, rendered) -> None:
    out = renderer.render("reply", _context(full=True, subject="Hi\r\nBcc: victim@example.com"))
    assert "\r" not in out.subject and "\n" not in out.subject
    msg = build_message(
        rendered=out, sender=SENDER, recipient="ada@example.com", message_id="<k1@casework>"
    )
    assert msg["Bcc"] is None
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert "Bcc: victim@example.com" in parsed["Subject"]


def test_subject_truncated(renderer: Renderer) -> None:
    out = renderer.render("acknowledgement", _context(full=False, subject="x" * 500))
    assert len(out.subject) <= 200
    assert out.subject.startswith("[CS0001234] ")


def test_unknown_kind_rejected(renderer: Renderer) -> None:
    with pytest.raises(ValueError):
        renderer.render("email/../../etc/passwd", _context(full=False))
    with pytest.raises(ValueError):
        renderer.render("nope", _context(full=False))


def test_missing_required_context_rejected(renderer: Renderer) -> None:
    ctx = _context(full=False)
    del ctx["case"]
    with pytest.raises(ValueError):
        renderer.render("reply", ctx)


def test_optional_keys_may_be_omitted(renderer: Renderer) -> None:
    ctx = {
        "case": {"id": "c1", "number": "CS0000001", "subject": "Hi"},
        "recipient": {"name": "Ada", "email": "ada@example.com"},
        "portal_url": "https://portal.example.com/",
    }
    for kind in TEMPLATE_KINDS:
        out = renderer.render(kind, ctx)
        assert "portal.example.com//" not in out.text


# ---------------------------------------------------------------- build_message


def test_build_message_structure(rendered: RenderedEmail) -> None:
    msg = build_message(
        rendered=rendered,
        sender=SENDER,
        recipient="Ada <ada@example.com>",
        message_id="<notif-42@casework>",
        reply_to="case+CS0001234@casework.localhost",
        headers={"In-Reply-To": "<prev@casework>", "X-Casework-Case": "CS0001234"},
    )
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == "<notif-42@casework>"
    assert msg["Subject"] == "[CS0001234] Hello"
    assert msg["Reply-To"] == "case+CS0001234@casework.localhost"
    assert msg["X-Casework-Case"] == "CS0001234"
    assert msg["Date"]
    wire = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    types = [p.get_content_type() for p in wire.iter_parts()]
    assert types == ["text/plain", "text/html"]
    assert wire.get_body(("plain",)).get_content() == "plain body\n"
    assert "html body" in wire.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    "subject",
    ["[CS0001234] Drucker brennt – ärgerlich " + "x" * 80, "[CS0001234] Hello " * 8, "Ünïcødé"],
)
def test_build_message_text_survives_the_wire(subject: str) -> None:
    text = "Grüße, Zoë\nline=2 " + "long " * 40 + "\n"
    msg = build_message(
        rendered=RenderedEmail(subject=subject, text=text, html="<p>Grüße</p>"),
        sender="Casework <casework@example.com>",
        recipient="Zoë Ünal <zoe@example.com>",
        message_id="<k@casework>",
    )
    raw = msg.as_bytes()
    assert raw.isascii()  # RFC 2047 headers, quoted-printable bodies: 7-bit clean
    wire = email.message_from_bytes(raw, policy=email.policy.default)
    assert wire["Subject"] == subject
    assert wire["To"].addresses[0].display_name == "Zoë Ünal"
    assert wire["To"].addresses[0].addr_spec == "zoe@example.com"
    assert wire.get_body(("plain",)).get_content() == text
    assert wire.get_body(("html",)).get_content().strip() == "<p>Grüße</p>"


def test_a_long_line_is_wrapped_on_the_wire_and_whole_when_read() -> None:
    text = "x" * 5000 + "\n"
    msg = build_message(
        rendered=RenderedEmail(subject="[CS1] Long", text=text, html="<p>" + "y" * 3000 + "</p>"),
        sender=SENDER,
        recipient="ada@example.com",
        message_id="<k@casework>",
    )
    raw = msg.as_bytes()
    assert max(len(line) for line in raw.splitlines()) <= 998
    wire = email.message_from_bytes(raw, policy=email.policy.default)
    assert wire.get_body(("plain",)).get_content() == text


@pytest.mark.parametrize(
    "recipient", ["ada@example.com\r\nBcc: x@example.com", "ada@example.com\nX: y", "a@b.c\r"]
)
def test_build_message_rejects_crlf_in_recipient(rendered: RenderedEmail, recipient: str) -> None:
    with pytest.raises(ValueError):
        build_message(
            rendered=rendered, sender=SENDER, recipient=recipient, message_id="<k@casework>"
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sender": "a@b.c\nBcc: x@y.z"},
        {"reply_to": "a@b.c\r\nBcc: x@y.z"},
        {"headers": {"X-Test": "v\r\nBcc: x@y.z"}},
        {"headers": {"Bad Name": "v"}},
        {"headers": {"From": "other@example.com"}},
        {"message_id": "<k@casework>\r\nBcc: x@y.z"},
        {"message_id": "k@casework"},
        {"message_id": "<k@example.com>"},
    ],
)
def test_build_message_rejects_unsafe_headers(rendered: RenderedEmail, kwargs: dict) -> None:
    args: dict[str, Any] = {
        "rendered": rendered,
        "sender": SENDER,
        "recipient": "ada@example.com",
        "message_id": "<k@casework>",
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        build_message(**args)


def test_build_message_rejects_crlf_in_subject() -> None:
    bad = RenderedEmail(subject="Hi\r\nBcc: x@y.z", text="t", html="<p>h</p>")
    with pytest.raises(ValueError):
        build_message(
            rendered=bad, sender=SENDER, recipient="ada@example.com", message_id="<k@casework>"
        )


# ---------------------------------------------------------------- Mailer: URL handling


def test_mailer_url_parsing() -> None:
    m = Mailer("smtp://user%40corp:p%3Ass@mail.example.com:2525", SENDER)
    assert (m.scheme, m.host, m.port) == ("smtp", "mail.example.com", 2525)
    assert (m.username, m.password) == ("user@corp", "p:ss")
    assert "p:ss" not in repr(m)
    assert Mailer("smtps://mail.example.com", SENDER).port == 465
    assert Mailer("smtp+starttls://mail.example.com", SENDER).port == 587
    assert Mailer("smtp://mail.example.com", SENDER).port == 25
    with pytest.raises(ValueError):
        Mailer("http://mail.example.com", SENDER)
    with pytest.raises(ValueError):
        Mailer("smtp://", SENDER)


@pytest.mark.parametrize("url", ["smtp://disabled", ""])
def test_disabled_mailer_is_noop(url: str, rendered: RenderedEmail, monkeypatch) -> None:
    def _no_connect(*args, **kwargs):
        raise AssertionError("disabled mailer must not connect")

    monkeypatch.setattr("smtplib.SMTP", _no_connect)
    monkeypatch.setattr("smtplib.SMTP_SSL", _no_connect)
    mailer = Mailer(url, SENDER)
    assert not mailer.enabled
    msg = build_message(
        rendered=rendered, sender=SENDER, recipient="ada@example.com", message_id="<k@casework>"
    )
    assert mailer.send(msg) is None


# ---------------------------------------------------------------- Mailer: real SMTP server


class CapturingHandler:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.rcpt_response: str | None = None
        self.data_response = "250 Message accepted for delivery"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_response is not None:
            return self.rcpt_response
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_response.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_response


@pytest.fixture
def smtp_server(request) -> tuple[CapturingHandler, int]:
    handler = CapturingHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    request.addfinalizer(controller.stop)
    return handler, port


def _message(recipient: str = "ada@example.com") -> Any:
    out = Renderer().render("reply", _context(full=True, body="Try turning it off and on."))
    return build_message(
        rendered=out, sender=SENDER, recipient=recipient, message_id="<reply-1@casework>"
    )


def test_send_delivers_to_real_server(smtp_server) -> None:
    handler, port = smtp_server
    Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert len(handler.envelopes) == 1
    env = handler.envelopes[0]
    assert env.mail_from == SENDER
    assert env.rcpt_tos == ["ada@example.com"]
    parsed = email.message_from_bytes(env.original_content, policy=email.policy.default)
    assert parsed["Message-ID"] == "<reply-1@casework>"
    assert parsed["Subject"].startswith("[CS0001234] ")
    assert parsed.get_content_type() == "multipart/alternative"
    assert "Try turning it off and on." in parsed.get_body(("plain",)).get_content()


def test_send_4xx_is_transient(smtp_server) -> None:
    handler, port = smtp_server
    handler.data_response = "421 4.3.0 try again later"
    with pytest.raises(TransientMailError) as info:
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert info.value.code == 421
    assert "try again later" in info.value.detail
    assert isinstance(info.value, MailError)
    assert handler.envelopes == []


def test_send_5xx_data_is_permanent(smtp_server) -> None:
    handler, port = smtp_server
    handler.data_response = "550 5.1.1 no such user"
    with pytest.raises(PermanentMailError) as info:
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert info.value.code == 550
    assert "no such user" in info.value.detail


def test_send_5xx_rcpt_is_permanent(smtp_server) -> None:
    handler, port = smtp_server
    handler.rcpt_response = "550 5.1.1 no such user"
    with pytest.raises(PermanentMailError) as info:
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert info.value.code == 550
    assert "no such user" in info.value.detail


def test_send_4xx_rcpt_is_transient(smtp_server) -> None:
    handler, port = smtp_server
    handler.rcpt_response = "450 4.2.1 mailbox busy"
    with pytest.raises(TransientMailError) as info:
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert info.value.code == 450


def test_connection_refused_is_transient() -> None:
    port = _free_port()
    with pytest.raises(TransientMailError) as info:
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5).send(_message())
    assert info.value.code is None
    assert info.value.detail


def test_timeout_is_transient(request) -> None:
    # A listener that never accepts: the TCP handshake completes but no greeting arrives.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    request.addfinalizer(silent.close)
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    with pytest.raises(TransientMailError):
        Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=0.5).send(_message())


class SessionCountingHandler(CapturingHandler):
    """Counts SMTP connections: aiosmtpd greets each new connection once."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses


@pytest.fixture
def counting_server(request) -> tuple[SessionCountingHandler, int]:
    handler = SessionCountingHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    request.addfinalizer(controller.stop)
    return handler, port


def test_a_burst_of_mail_shares_one_connection(counting_server, request) -> None:
    handler, port = counting_server
    mailer = Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5)
    request.addfinalizer(mailer.close)
    for i in range(5):
        mailer.send(_message(f"user{i}@example.com"))
    assert [e.rcpt_tos for e in handler.envelopes] == [[f"user{i}@example.com"] for i in range(5)]
    assert handler.connections == 1
    assert mailer.connections_opened == 1


def test_a_connection_the_server_closed_is_replaced(request) -> None:
    port = _free_port()
    first = SessionCountingHandler()
    controller = Controller(first, hostname="127.0.0.1", port=port)
    controller.start()
    mailer = Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5, check_after=0)
    request.addfinalizer(mailer.close)
    mailer.send(_message("before@example.com"))
    controller.stop()  # the server goes away, and with it the idle connection
    second = SessionCountingHandler()
    controller = Controller(second, hostname="127.0.0.1", port=port)
    controller.start()
    request.addfinalizer(controller.stop)
    mailer.send(_message("after@example.com"))  # NOOP fails: a new connection, no error
    assert [e.rcpt_tos for e in second.envelopes] == [["after@example.com"]]
    assert mailer.connections_opened == 2


def test_an_idle_connection_is_not_kept_past_its_time(counting_server, request) -> None:
    handler, port = counting_server
    mailer = Mailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=5, idle_seconds=0)
    request.addfinalizer(mailer.close)
    mailer.send(_message())
    mailer.send(_message())
    assert handler.connections == 2


def test_the_sign_in_mail_needs_no_case_and_carries_its_link(renderer: Renderer) -> None:
    context = {
        "recipient": {"name": HOSTILE, "email": "ada@example.com"},
        "portal_url": "https://casework.example.com",
        "link": {
            "url": "https://casework.example.com/login/link/ab.cd",
            "minutes": 15,
            "role": "contact",
        },
    }
    out = renderer.render("sign_in_link", context)
    assert out.subject == "Your Casework sign-in link"
    for part in (out.text, out.html):
        assert "https://casework.example.com/login/link/ab.cd" in part
        assert "15 minutes" in part and "{{ 7*7 }}" in part and "49" not in part
    assert "<script>" not in out.html and out.html.lstrip().startswith("<!DOCTYPE html>")
    message = build_message(
        rendered=out,
        sender="support@casework.test",
        recipient="ada@example.com",
        message_id="<abc@casework>",
        headers=case_header(context),
    )
    assert message["X-Casework-Case"] is None  # about no case
