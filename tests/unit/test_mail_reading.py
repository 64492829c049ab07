"""Reading raw messages (pure): what each client's shape yields, which ones are automatic,
what a bounce names, HTML as text, quoted history cut off, and refusals of bad input."""

import pytest

from api.mail.message import Unreadable, loop_reason, read
from api.mail.text import html_to_text, strip_quoted
from tests.mail_fixtures import eml

OURS = frozenset({"support@casework.test"})
IDS = {
    "in_reply_to": "<abc123@casework>",
    "references": "<first@casework> <abc123@casework>",
    "case_number": "CS0001001",
    "subject": "The router keeps rebooting",
}


def mail(name: str, **limits):
    return read(
        eml(name, **IDS),
        max_bytes=limits.get("max_bytes", 1_000_000),
        max_attachment_bytes=limits.get("max_attachment_bytes", 100_000),
    )


def test_gmail_new_message():
    m = mail("gmail_new")
    assert m.sender == "ada@acme.example" and m.sender_name == "Ada Lovelace"
    assert m.message_id == "<CAH8Yd0q+Zx1mW9LkQ3vNp7@mail.gmail.com>"
    assert m.to == ["support@casework.test"] and m.thread_ids == []
    assert "reboots every ten minutes" in m.text and loop_reason(m, OURS) is None


@pytest.mark.parametrize(
    "name, words, quoted",
    [
        ("gmail_reply", "kernel panic", "We received your request"),
        ("outlook_reply", "RX-1200-4471", "Which serial number"),
        ("outlook_original_message", "still reboots", "update the firmware"),
        ("apple_reply_cc", "Adding Bob", "send us the log"),
    ],
)
def test_replies_keep_only_the_new_words(name, words, quoted):
    m = mail(name)
    assert words in m.text and quoted not in m.text
    assert quoted in m.full_text  # the whole message is kept
    assert "wrote:" not in m.text and not any(line.startswith(">") for line in m.text.splitlines())
    assert loop_reason(m, OURS) is None


def test_reply_threads_by_in_reply_to_then_references():
    m = mail("gmail_reply")
    assert m.thread_ids == ["<abc123@casework>", "<first@casework>"]


def test_apple_reply_names_the_copied_people():
    m = mail("apple_reply_cc")
    assert m.cc == ["bob@acme.example", "support@casework.test"]
    assert m.message_id == "<6F0C1B2A-3D4E-4F5A-8B9C-0D1E2F3A4B5C@acme.example>"


@pytest.mark.parametrize(
    "name, why",
    [
        ("outlook_autoreply", "Auto-Submitted: auto-replied"),
        ("apple_vacation", "x-autoreply: yes"),
        ("list_bulk", "Precedence: bulk"),
        ("dsn_bounce", "delivery status report"),
    ],
)
def test_automatic_messages_are_told(name, why):
    assert why in (loop_reason(mail(name), OURS) or "")


def test_empty_return_path_and_our_own_address_are_loops():
    m = mail("gmail_new")
    m.return_path = ""
    assert "empty return path" in loop_reason(m, OURS)
    m = mail("gmail_new")
    m.sender = "support@casework.test"
    assert "our own address" in loop_reason(m, OURS)
    m = mail("gmail_new")
    m.headers["auto-submitted"] = "no"
    assert loop_reason(m, OURS) is None


def test_a_bounce_names_the_failed_recipient():
    m = mail("dsn_bounce")
    assert m.report_type == "delivery-status"
    assert m.failed_recipients == ["bob@acme.example"]
    assert m.bounced_message_id == "<abc123@casework>"


def test_control_characters_never_reach_the_text():
    raw = (
        b"From: " + b"A" * 150 + b" <ada@acme.example>\r\n"
        b"Subject: =?utf-8?q?hi=00there=07?=\r\nMessage-ID: <a\x01b@x.example>\r\n\r\n"
        b"line one\x00\r\nline two\r\n"
    )
    m = read(raw, max_bytes=10_000, max_attachment_bytes=100)
    assert m.subject == "hi there" and m.sender_name == "A" * 100  # a contact's name fits
    assert "\x00" not in m.text and m.text == "line one\nline two"
    assert m.message_id.startswith("<sha256.")  # an id with a control character is none
    nul_name = b"From: =?utf-8?q?Ada=00?= <ada@acme.example>\r\nSubject: x\r\n\r\nhi\r\n"
    with pytest.raises(Unreadable):
        read(nul_name, max_bytes=10_000, max_attachment_bytes=100)


def test_html_only_mail_gets_a_text_rendition():
    m = mail("outlook_html_only")
    assert "our invoice shows Old Street 1 & the wrong city." in m.text
    assert "- City: Zürich" in m.text
    assert "<" not in m.text and "alert" not in m.text and "margin" not in m.text


def test_attachment_is_read_whole():
    m = mail("gmail_attachment")
    (a,) = m.attachments
    assert (a.filename, a.content_type) == ("crash.log", "text/plain")
    assert a.content.startswith(b"kernel panic at 09:35:12")
    assert m.text == "The crash log is attached."


def test_outlook_header_block_and_underscores_are_cut():
    text = "Yes.\n\n________________________________\nFrom: A <a@b.c>\nSent: today\nQuoted"
    assert strip_quoted(text) == "Yes."
    text = "Fine\n\nFrom: Support <s@x.test>\nSent: Monday\nTo: me\nSubject: x\n\nold"
    assert strip_quoted(text) == "Fine"
    assert strip_quoted("> only a quote") == "> only a quote"  # nothing new: kept as is


def test_html_blockquotes_read_as_quotes():
    assert html_to_text("<p>new</p><blockquote>old</blockquote>") == "new\n\n> old"


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"", 422),
        (b"hello, this is not a message at all\r\n", 422),
        (b"Subject: no sender\r\n\r\nbody\r\n", 422),
        (b"From: not an address\r\nSubject: x\r\n\r\nbody\r\n", 422),
        (b"From: a@b.example, c@d.example\r\nSubject: two\r\n\r\nbody\r\n", 422),
        (b"From: <@@@>\r\nSubject: x\r\n\r\nbody\r\n", 422),
        (b"From: a@b.example\r\nSubject: big\r\n\r\n" + b"x" * 2000, 413),
    ],
)
def test_bad_input_is_refused(raw, status):
    with pytest.raises(Unreadable) as refused:
        read(raw, max_bytes=1000, max_attachment_bytes=100)
    assert refused.value.status == status


def test_an_attachment_over_its_limit_is_refused():
    with pytest.raises(Unreadable) as refused:
        mail("gmail_attachment", max_attachment_bytes=10)
    assert refused.value.status == 413 and "crash.log" in refused.value.detail
