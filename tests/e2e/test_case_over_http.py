"""A case's whole life over HTTP on the dev server, with mail caught by a real SMTP server."""

import asyncio

pytestmark = __import__("pytest").mark.slow


async def poll(http, case_id, check, timeout=20):
    for _ in range(int(timeout / 0.1)):
        view = (await http.get(f"/api/v1/cases/{case_id}")).json()
        if check(view):
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(view)


async def token(http, role, subject_id):
    r = await http.post("/api/v1/tokens", json={"role": role, "subject_id": subject_id})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_email_case_from_open_to_closed_with_a_rejection(stack):
    http, sink = stack["http"], stack["sink"]
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    acct = (
        await http.post("/api/v1/accounts", json={"name": "Globex", "domains": ["globex.example"]})
    ).json()
    agent = (
        await http.post("/api/v1/agents", json={"name": "Alex", "email": "alex@casework.example"})
    ).json()

    r = await http.post(
        "/api/v1/cases",
        json={
            "subject": "VPN keeps dropping",
            "channel": "email",
            "email": "homer@globex.example",
            "name": "Homer",
            "description": "Since the update.",
        },
    )
    assert r.status_code == 201, r.text
    case = await poll(http, r.json()["id"], lambda v: v["assigned_agent_id"])
    assert case["account_id"] == acct["id"] and case["assigned_agent_id"] == agent["id"]
    as_agent = await token(http, "agent", agent["id"])
    as_homer = await token(http, "contact", case["contact_id"])

    async def do(who, action, body=None, expect=200):
        r = await http.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=who)
        assert r.status_code == expect, r.text
        return r.json()

    assert (await do(as_agent, "respond", {"body": "Which VPN client version?"}))["state"] == "open"
    assert (await do(as_agent, "resolve", {"resolution": "Update to 5.2."}))["state"] == "resolved"
    reopened = await do(as_homer, "reject", {"reason": "Still drops."})
    assert (reopened["state"], reopened["reopen_count"]) == ("open", 1)
    assert (await do(as_agent, "resolve", {"resolution": "Replaced the profile."}))[
        "state"
    ] == "resolved"
    await do(as_homer, "accept", None)
    closed = await poll(http, case["id"], lambda v: v["state"] == "closed")
    assert closed["closed_at"] is not None
    await do(as_agent, "respond", {"body": "too late"}, expect=409)

    timeline = (await http.get(f"/api/v1/cases/{case['id']}/timeline")).json()["items"]
    assert [e["kind"] for e in timeline] == [
        "opened",
        "assigned",
        "respond",
        "resolve",
        "reject",
        "resolve",
        "accept",
    ]
    expected = [
        ("acknowledgement", "homer@globex.example"),
        ("assignment", "alex@casework.example"),
        ("reply", "homer@globex.example"),
        ("resolution_proposed", "homer@globex.example"),
        ("resolution_proposed", "homer@globex.example"),
        ("closed", "homer@globex.example"),
        ("csat_survey", "homer@globex.example"),
    ]
    for _ in range(200):
        sent = (await http.get(f"/api/v1/cases/{case['id']}/notifications")).json()["items"]
        if len(sent) == len(expected) and all(n["status"] == "sent" for n in sent):
            break
        await asyncio.sleep(0.1)
    assert sorted((n["template"], n["recipient"]) for n in sent) == sorted(expected)
    mails = sink.wait_for(len(expected))
    assert len(sink.messages) == len(expected)
    by_id = {m.message["Message-ID"]: m for m in mails}
    for n in sent:
        mail = by_id[n["message_id"]]
        assert mail.rcpt_tos == [n["recipient"]]
        assert case["number"] in mail.message["Subject"]
