"""Who may see and do what: one table of roles × endpoints × whose object (OWASP API1/API5).

Foreign objects answer 404 and never show in lists; a role that may not call an endpoint
gets 403; no token is 401.
"""

import asyncio
import uuid

import pytest

from tests import factories as f
from tests.conftest import make_deps, mint, running_worker

ROLES = (
    "admin",
    "supervisor",
    "agent",
    "technician",
    "integration",
    "partner",
    "partner_other",
    "contact_a",
    "contact_b",
    "contact_child",
    "consumer",
    "consumer_other",
    "anonymous",
)
STAFF = {"admin": 200, "supervisor": 200, "agent": 200, "integration": 200}
HIDDEN = {
    "technician": 404,
    "partner": 404,
    "partner_other": 404,
    "contact_b": 404,
    "contact_child": 404,
    "consumer": 404,
    "consumer_other": 404,
    "anonymous": 401,
}


def row(default: int | None = None, **codes: int) -> dict:
    """Expected status per role: `codes` first, then `default` for the rest."""
    return {r: codes.get(r, default) for r in ROLES}


METRIC_READERS = row(403, admin=200, supervisor=200, agent=200, anonymous=401)

# (method, path template, body, expected status by role); {a} is account A's case,
# {child} the case of A's child site, {b} account B's, {x} the consumer's, {p} another of
# account B's, assigned to the partner (not to partner_other).
PARTNERED = {**HIDDEN, "contact_b": 200, "partner": 200}
PARTNER_WORK = row(403, admin=200, agent=200, partner=200, partner_other=404, anonymous=401)
MATRIX = [
    ("GET", "/api/v1/cases/{a}", None, row(**STAFF, **HIDDEN, contact_a=200)),
    ("GET", "/api/v1/cases/{a}/timeline", None, row(**STAFF, **HIDDEN, contact_a=200)),
    (
        "GET",
        "/api/v1/cases/{child}",
        None,
        row(**STAFF, **{**HIDDEN, "contact_child": 200}, contact_a=200),
    ),
    ("GET", "/api/v1/cases/{b}", None, row(**STAFF, **{**HIDDEN, "contact_b": 200}, contact_a=404)),
    ("GET", "/api/v1/cases/{x}", None, row(**STAFF, **{**HIDDEN, "consumer": 200}, contact_a=404)),
    ("GET", "/api/v1/cases/{p}", None, row(**STAFF, **PARTNERED, contact_a=404)),
    ("GET", "/api/v1/cases/{p}/timeline", None, row(**STAFF, **PARTNERED, contact_a=404)),
    ("POST", "/api/v1/cases/{p}/actions/note", {"body": "partner note"}, PARTNER_WORK),
    ("POST", "/api/v1/cases/{p}/actions/respond", {"body": "on our way"}, PARTNER_WORK),
    (
        "POST",
        "/api/v1/cases/{a}/actions/assign-partner",
        {"partner_account_id": "{b_account}"},  # a customer account: never a partner
        row(403, admin=422, supervisor=422, agent=422, anonymous=401),
    ),
    ("GET", "/api/v1/cases/{a}/attachments", None, row(**STAFF, **HIDDEN, contact_a=200)),
    (
        "GET",
        "/api/v1/cases/{b}/attachments",
        None,
        row(**STAFF, **{**HIDDEN, "contact_b": 200}, contact_a=404),
    ),
    (
        "GET",
        "/api/v1/cases/{a}/messages",
        None,
        # Partners read the whole of the cases assigned to them, so for others it is 404.
        row(403, **STAFF, partner=404, partner_other=404, anonymous=401),
    ),
    (
        "GET",
        "/api/v1/cases/{p}/messages",
        None,
        row(403, **STAFF, partner=200, partner_other=404, anonymous=401),
    ),
    # Only the mail gateway posts mail (415 here: no message/rfc822 body).
    ("POST", "/api/v1/inbound/email", None, row(403, admin=415, integration=415, anonymous=401)),
    (
        "GET",
        "/api/v1/cases/{a}/notifications",
        None,
        row(403, admin=200, supervisor=200, agent=200, integration=200, anonymous=401),
    ),
    (
        "GET",
        "/api/v1/cases/{a}/workflow",
        None,
        row(403, admin=200, supervisor=200, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/cases/{a}/actions/note",
        {"body": "internal"},
        row(403, admin=200, agent=200, partner=404, partner_other=404, anonymous=401),
    ),
    (
        "POST",
        "/api/v1/cases/{b}/actions/customer-reply",
        {"body": "more info"},
        row(
            403,
            admin=200,
            integration=200,
            contact_a=404,
            contact_child=404,
            contact_b=200,
            consumer=404,
            consumer_other=404,
            anonymous=401,
        ),
    ),
    (
        "POST",
        "/api/v1/cases/{x}/actions/accept",
        None,
        row(
            403,
            admin=409,
            consumer=409,
            consumer_other=404,
            contact_a=404,
            contact_b=404,
            contact_child=404,
            anonymous=401,
        ),
    ),
    (
        "POST",
        "/api/v1/accounts",
        {"name": "New"},
        row(403, admin=201, integration=201, anonymous=401),
    ),
    (
        "GET",
        "/api/v1/accounts",
        None,
        row(403, admin=200, supervisor=200, agent=200, integration=200, anonymous=401),
    ),
    ("POST", "/api/v1/tokens", {"role": "supervisor"}, row(403, admin=201, anonymous=401)),
    (
        "GET",
        "/api/v1/sla/at-risk",
        None,
        row(403, admin=200, supervisor=200, agent=200, anonymous=401),
    ),
    ("GET", "/api/v1/knowledge/search?q=router", None, row(200, anonymous=401)),
    (
        "PATCH",
        f"/api/v1/knowledge/{uuid.UUID(int=7)}",
        {"title": "Edited"},
        row(403, admin=404, integration=404, anonymous=401),
    ),
    ("POST", f"/api/v1/knowledge/{uuid.UUID(int=7)}/deflections", None, row(404, anonymous=401)),
    ("POST", f"/api/v1/knowledge/{uuid.UUID(int=7)}/not-helpful", None, row(404, anonymous=401)),
    *(
        ("GET", f"/api/v1/metrics/{name}", None, METRIC_READERS)
        for name in (
            "summary",
            "sla-attainment",
            "first-contact-resolution",
            "reopen-rate",
            "first-response",
            "resolution",
            "backlog",
            "csat",
            "first-time-fix",
            "deflection",
            "health",
        )
    ),
]


@pytest.fixture
async def world(api, sessions, ts_env):
    parent = await f.account(sessions, "A", domains=["a.example"])
    child = await f.account(sessions, "A site", domains=[], parent_id=parent.id)
    other = await f.account(sessions, "B", domains=["b.example"])
    partner = await f.account(sessions, "Partner", domains=[])
    partner_other = await f.account(sessions, "Other partner", domains=[])
    from sqlalchemy import update

    from models.customers import Account

    async with sessions() as db, db.begin():
        for p in (partner, partner_other):
            await db.execute(update(Account).where(Account.id == p.id).values(type="partner"))
    people = {
        "contact_a": await f.contact(sessions, parent.id, email="a@a.example"),
        "contact_child": await f.contact(sessions, child.id, email="c@a.example"),
        "contact_b": await f.contact(sessions, other.id, email="b@b.example"),
        "consumer": await f.consumer(sessions, email="x@mail.example"),
        "consumer_other": await f.consumer(sessions, email="y@mail.example"),
    }
    agent = await f.agent(sessions, "Ann", capacity=50)
    tech = await api.post(
        "/api/v1/technicians", json={"name": "Tim", "email": "tim@casework.example"}
    )
    headers = {
        "admin": {"Authorization": api.headers["authorization"]},
        "anonymous": {"Authorization": ""},
        "supervisor": await mint(api, "supervisor"),
        "agent": await mint(api, "agent", agent.id),
        "technician": await mint(api, "technician", tech.json()["id"]),
        "integration": await mint(api, "integration"),
        "partner": await mint(api, "partner", partner.id),
        "partner_other": await mint(api, "partner", partner_other.id),
    }
    for name, person in people.items():
        role = "consumer" if name.startswith("consumer") else "contact"
        headers[name] = await mint(api, role, person.id)
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        cases = {}
        for key, body in {
            "a": {"contact_id": str(people["contact_a"].id)},
            "child": {"contact_id": str(people["contact_child"].id)},
            "b": {"contact_id": str(people["contact_b"].id)},
            "x": {"consumer_id": str(people["consumer"].id)},
            "p": {"contact_id": str(people["contact_b"].id)},
        }.items():
            r = await api.post("/api/v1/cases", json={"subject": key, "channel": "api", **body})
            assert r.status_code == 201, r.text
            cases[key] = r.json()["id"]
        for case_id in cases.values():
            for _ in range(200):
                if (await api.get(f"/api/v1/cases/{case_id}")).json()["assigned_agent_id"]:
                    break
                await asyncio.sleep(0.05)
        await api.post(f"/api/v1/cases/{cases['a']}/actions/note", json={"body": "secret"})
        r = await api.post(
            f"/api/v1/cases/{cases['p']}/actions/assign-partner",
            json={"partner_account_id": str(partner.id)},
        )
        assert r.status_code == 200 and r.json()["partner_account_id"] == str(partner.id), r.text
        ids = {"b_account": str(other.id), "partner_account": str(partner.id)}
        yield {"headers": headers, "cases": cases, "api": api, "ids": ids}


async def call(api, headers, method, path, body):
    h = {k: v for k, v in headers.items() if v}
    if not h.get("Authorization"):
        return await api.request(method, path, json=body, headers={"Authorization": "x"})
    return await api.request(method, path, json=body, headers=h)


async def test_every_role_gets_exactly_what_the_table_says(world):
    api, cases = world["api"], world["cases"]
    wrong = []
    for method, template, body, expected in MATRIX:
        path = template.format(**cases)
        if body is not None:
            body = {k: v.format(**world["ids"]) for k, v in body.items()}
        for role_name, want in expected.items():
            got = await call(api, world["headers"][role_name], method, path, body)
            if got.status_code != want:
                wrong.append(f"{role_name:15} {method} {template}: {got.status_code}, want {want}")
            assert got.status_code < 500, got.text
    assert not wrong, "\n" + "\n".join(wrong)


async def test_foreign_cases_never_show_in_lists_or_timelines(world):
    api, cases = world["api"], world["cases"]
    visible = {
        "contact_a": {"a", "child"},
        "contact_child": {"child"},
        "contact_b": {"b", "p"},
        "consumer": {"x"},
        "consumer_other": set(),
        "technician": set(),
        "partner": {"p"},
        "partner_other": set(),
        "supervisor": set(cases),
    }
    names = {v: k for k, v in cases.items()}
    for role_name, want in visible.items():
        r = await api.get("/api/v1/cases?limit=500", headers=world["headers"][role_name])
        assert r.status_code == 200
        got = {names[c["id"]] for c in r.json()["items"]}
        assert got == want, role_name
    timeline = await api.get(
        f"/api/v1/cases/{cases['a']}/timeline", headers=world["headers"]["contact_a"]
    )
    bodies = [e["body"] for e in timeline.json()["items"]]
    assert "secret" not in bodies  # internal notes never reach a customer
    staff = await api.get(f"/api/v1/cases/{cases['a']}/timeline", headers=world["headers"]["agent"])
    assert "secret" in [e["body"] for e in staff.json()["items"]]


async def test_customers_cannot_set_internal_fields(world):
    api = world["api"]
    for field, value in (("priority", 1), ("queue", "vip"), ("required_skills", ["x"])):
        r = await api.post(
            "/api/v1/cases",
            json={"subject": "s", "channel": "portal", field: value},
            headers=world["headers"]["contact_a"],
        )
        assert r.status_code == 422, (field, r.text)
    r = await api.post(
        f"/api/v1/cases/{world['cases']['a']}/actions/change-priority",
        json={"priority": 1},
        headers=world["headers"]["contact_a"],
    )
    assert r.status_code == 403
    r = await api.post(
        f"/api/v1/cases/{world['cases']['a']}/actions/assign",
        json={"agent_id": str(uuid.uuid4())},
        headers=world["headers"]["contact_a"],
    )
    assert r.status_code == 403
