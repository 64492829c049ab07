"""Field service end to end over HTTP on the dev server: a case asks for a visit, the right
technician is dispatched and told by mail, completes the work order as fixed, and the case is
resolved with the technician's notes."""

import asyncio

from tests.e2e.test_case_over_http import poll, token

pytestmark = __import__("pytest").mark.slow


async def test_case_to_work_order_to_technician_to_resolved_case(stack):
    http, sink = stack["http"], stack["sink"]

    async def created(path, body):
        r = await http.post(f"/api/v1/{path}", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    acct = await created("accounts", {"name": "Initech", "domains": ["initech.example"]})
    peter = await created(
        "contacts",
        {"name": "Peter", "email": "peter@initech.example", "account_ids": [acct["id"]]},
    )
    agent = await created("agents", {"name": "Joanna", "email": "joanna@casework.example"})
    product = await created("products", {"name": "Fiber modem", "sku": "FM-1"})
    modem = await created(
        "assets",
        {
            "product_id": product["id"],
            "serial": "FM-1-0042",
            "account_id": acct["id"],
            "location": "4120 Freidrich Ln, Austin",
        },
    )
    # Wrong territory, then missing the part, then the one who fits.
    for name, territory, parts in (
        ("Bob", "Dallas", ["ONT-2"]),
        ("Milton", "Austin", []),
        ("Samir", "Austin", ["ONT-2", "patch cable"]),
    ):
        await created(
            "technicians",
            {
                "name": name,
                "email": f"{name.lower()}@field.example",
                "skills": ["fiber"],
                "territory": territory,
                "parts": parts,
            },
        )
    samir = next(
        t for t in (await http.get("/api/v1/technicians")).json()["items"] if t["name"] == "Samir"
    )

    r = await http.post(
        "/api/v1/cases",
        json={
            "subject": "No light on the modem",
            "channel": "phone",
            "contact_id": peter["id"],
            "asset_id": modem["id"],
        },
    )
    assert r.status_code == 201, r.text
    case = await poll(http, r.json()["id"], lambda v: v["assigned_agent_id"])
    assert case["assigned_agent_id"] == agent["id"]
    as_agent = await token(http, "agent", agent["id"])
    as_samir = await token(http, "technician", samir["id"])

    r = await http.post(
        f"/api/v1/cases/{case['id']}/actions/request-field-service",
        json={
            "skills": ["fiber"],
            "parts": ["ONT-2"],
            "territory": "Austin",
            "window_start": "2031-06-02T08:00:00-05:00",
            "window_end": "2031-06-02T12:00:00-05:00",
            "notes": "Reception has the key.",
            "auto_resolve": True,
        },
        headers=as_agent,
    )
    assert r.status_code == 200, r.text
    view = await poll(
        http,
        case["id"],
        lambda v: v["work_orders"] and v["work_orders"][0]["state"] == "dispatched",
    )
    (line,) = view["work_orders"]
    assert line["technician_id"] == samir["id"]
    assert line["location"] == "4120 Freidrich Ln, Austin"

    mine = (await http.get("/api/v1/work-orders", headers=as_samir)).json()["items"]
    assert [w["id"] for w in mine] == [line["id"]]
    assert mine[0]["notes"] == "Reception has the key."
    for action, body in (
        ("accept", None),
        ("start", None),
        ("complete", {"notes": "Swapped the ONT.", "parts_used": ["ONT-2"], "fixed": True}),
    ):
        r = await http.post(
            f"/api/v1/work-orders/{line['id']}/actions/{action}", json=body, headers=as_samir
        )
        assert r.status_code == 200, r.text

    resolved = await poll(http, case["id"], lambda v: v["state"] == "resolved")
    assert resolved["resolution"] == f"Resolved by work order {line['number']}: Swapped the ONT."
    assert resolved["work_orders"][0]["state"] == "completed"
    assert resolved["work_orders"][0]["fixed"] is True
    timeline = [
        e["kind"] for e in (await http.get(f"/api/v1/cases/{case['id']}/timeline")).json()["items"]
    ]
    assert timeline[-6:] == [
        "request_field_service",
        "work_order_dispatched",
        "work_order_accepted",
        "work_order_in_progress",
        "work_order_completed",
        "resolve",
    ]

    wanted = {
        ("work_order_dispatched", "samir@field.example"),
        ("work_order_completed", "joanna@casework.example"),
        ("resolution_proposed", "peter@initech.example"),
    }
    for _ in range(200):
        sent = (await http.get(f"/api/v1/cases/{case['id']}/notifications")).json()["items"]
        done = {(n["template"], n["recipient"]) for n in sent if n["status"] == "sent"}
        if wanted <= done:
            break
        await asyncio.sleep(0.1)
    assert wanted <= done, sent
    mails = {m.message["Message-ID"]: m for m in sink.wait_for(len(sent))}
    briefing = next(n for n in sent if n["template"] == "work_order_dispatched")
    mail = mails[briefing["message_id"]]
    assert mail.rcpt_tos == ["samir@field.example"]
    text = mail.message.get_body(("plain",)).get_content()
    assert "4120 Freidrich Ln, Austin" in text and "ONT-2" in text
