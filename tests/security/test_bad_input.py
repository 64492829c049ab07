"""Bad input gets a clear 4xx problem document, never a 500, and never reaches an email
header or a template as code."""

import json

import pytest

from activities.mailer import Renderer, build_message

PROBLEM = "application/problem+json"


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and "detail" in body


async def test_oversized_body_is_413(api):
    r = await api.post(
        "/api/v1/accounts",
        content=b'{"name": "' + b"x" * 1_100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert_problem(r, 413)


async def test_deeply_nested_json_is_422_not_500(api):
    deep = "[" * 5000 + "]" * 5000
    r = await api.post(
        "/api/v1/accounts",
        content=('{"name": "x", "domains": ' + deep + "}").encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"].startswith(PROBLEM)


async def test_malformed_json_is_422(api):
    r = await api.post(
        "/api/v1/accounts", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(r, 422)


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/accounts", {"name": "x", "colour": "red"}),  # unknown field
        ("/api/v1/accounts", {"name": "x", "type": "alien"}),  # bad enum
        ("/api/v1/schedules", {"name": "s", "timezone": "Mars/Olympus", "hours": {}}),
        (
            "/api/v1/schedules",
            {"name": "s", "timezone": "UTC", "hours": {"mon": [["25:00", "26:00"]]}},
        ),
        (
            "/api/v1/schedules",
            {"name": "s", "timezone": "UTC", "hours": {}, "holidays": ["2026-13-45"]},
        ),
        ("/api/v1/sla/preview", {"start": "2026-01-01T10:00:00", "duration_seconds": 60}),  # naive
        ("/api/v1/sla/preview", {"start": "yesterday", "duration_seconds": 60}),
        ("/api/v1/sla-definitions", {"name": "x", "kind": "response", "duration_seconds": -5}),
        (
            "/api/v1/cases",
            {
                "subject": "line\r\nBcc: victim@example.com",
                "channel": "email",
                "email": "a@b.example",
            },
        ),
        ("/api/v1/cases", {"subject": "bell\x07", "channel": "email", "email": "a@b.example"}),
        (
            "/api/v1/cases",
            {"subject": "ok", "channel": "email", "email": "a@b.example\r\nBcc: x@y.example"},
        ),
        ("/api/v1/cases", {"subject": "x" * 301, "channel": "email", "email": "a@b.example"}),
        ("/api/v1/contacts", {"name": "n", "email": "not-an-email"}),
        ("/api/v1/contacts", {"name": "n\x00", "email": "n@b.example"}),
    ],
)
async def test_invalid_fields_are_422(api, path, body):
    assert_problem(await api.post(path, json=body), 422)


async def test_unicode_subjects_are_fine(api, sessions):
    r = await api.post(
        "/api/v1/accounts",
        json={"name": "Ünïcødé ☃ 日本語 ‮rtl", "domains": ["xn--d1acj3b.example"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"].startswith("Ünïcødé")


async def test_wrong_content_type_and_methods_get_problems(api):
    r = await api.post(
        "/api/v1/accounts", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert r.status_code in (415, 422)
    assert r.headers["content-type"].startswith(PROBLEM)
    r = await api.delete("/api/v1/accounts")
    assert_problem(r, 405)
    r = await api.get("/api/v1/no-such-thing")
    assert_problem(r, 404)


async def test_bad_query_parameters_are_422(api):
    for query in ("limit=0", "limit=501", "limit=abc", "state=bogus", "priority=9", "cursor=%00"):
        r = await api.get(f"/api/v1/cases?{query}")
        assert r.status_code == 422, (query, r.text)


def test_template_injection_is_shown_as_text():
    rendered = Renderer().render(
        "acknowledgement",
        {
            "case": {"id": "1", "number": "CS0000001", "subject": "{{ 7*7 }} <script>x</script>"},
            "recipient": {"name": "{% for x in range(9) %}y{% endfor %}", "email": "a@b.example"},
            "body": "<img src=x onerror=alert(1)> {{ config }}",
            "portal_url": "http://casework.example/portal",
        },
    )
    assert "{{ 7*7 }}" in rendered.subject and "49" not in rendered.subject
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<img" not in rendered.html and "{{ config }}" in rendered.text
    assert "{% for x in range(9) %}" in rendered.text


def test_header_injection_never_reaches_a_message():
    rendered = Renderer().render(
        "acknowledgement",
        {
            "case": {"id": "1", "number": "CS1", "subject": "hi\r\nBcc: victim@example.com"},
            "recipient": {"name": "n", "email": "a@b.example"},
            "portal_url": "http://x.example",
        },
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    with pytest.raises(ValueError):
        build_message(
            rendered=rendered,
            sender="s@casework.example",
            recipient="a@b.example\r\nBcc: v@example.com",
            message_id="<abc@casework>",
        )


async def test_errors_are_json_even_for_unparseable_ids(api):
    for path in ("/api/v1/cases/not-a-uuid", "/api/v1/accounts/1%20OR%201=1", "/api/v1/cases/%00"):
        r = await api.get(path)
        assert r.status_code in (404, 422), (path, r.status_code)
        json.loads(r.text)
