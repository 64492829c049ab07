"""The console case page's workflow panel and customer 360, on the real app with a worker on
the time-skipping server."""

import html
from types import SimpleNamespace

import pytest
from sqlalchemy import update
from temporalio.service import RPCError, RPCStatusCode

from api.pages.base import when
from casework.settings import Settings
from models.customers import Account
from tests import factories
from tests.api.test_cases import V1, act, open_case, settle
from tests.conftest import mint
from tests.pages.test_pages import anon, live, log_in, make_case, section

__all__ = ["anon", "live"]  # fixtures used by name
UI_URL = Settings().temporal_ui_url  # what the test app links to


@pytest.fixture
async def initech(live, sessions):
    """A site account under its group, a contact, an asset, a metered entitlement with an SLA
    (no warnings: the next deadline is the breach), other cases, and a case opened for real."""
    group = await factories.account(sessions, "Initech Group", domains=())
    site = await factories.account(sessions, "Initech Berlin", ("initech.example",), group.id)
    other = await factories.account(sessions, "Globex", domains=("globex.example",))
    ada = await factories.contact(
        sessions, site.id, name="Ada Lovelace", email="ada@initech.example"
    )
    ann = await factories.agent(sessions, "Ann")
    sue = await factories.agent(sessions, "Sue")
    product = await factories.product(sessions, "Router X")
    asset = {"product_id": str(product.id), "serial": "RX-4242", "account_id": str(site.id)}
    r = await live.post(f"{V1}/assets", json=asset | {"location": "Berlin, 3rd floor"})
    assert r.status_code == 201, r.text
    body = {"name": "Fix", "kind": "resolution", "duration_seconds": 8 * 3600, "warn_at": []}
    r = await live.post(f"{V1}/sla-definitions", json=body)
    assert r.status_code == 201, r.text
    entitlement = {
        "name": "Gold support",
        "account_id": str(site.id),
        "sla_definition_ids": [r.json()["id"]],
        "units": {"kind": "cases", "total": 5},
    }
    assert (await live.post(f"{V1}/entitlements", json=entitlement)).status_code == 201
    still_open = await make_case(sessions, account_id=site.id, subject="Printer jams")
    finished = await make_case(sessions, account_id=site.id, state="closed", subject="VPN slow")
    foreign = await make_case(sessions, account_id=other.id, subject="Not theirs")
    case = await open_case(live, contact_id=str(ada.id))
    case = await settle(live, case["id"])
    as_ann = await mint(live, "agent", ann.id)
    r = await act(live, case["id"], "note", as_ann, body="Customer is on the old firmware")
    assert r.status_code == 200, r.text
    return SimpleNamespace(
        case=case, ann=ann, sue=sue, open=still_open, closed=finished, foreign=foreign
    )


async def test_a_supervisor_sees_the_workflow_with_its_next_deadline_and_ui_link(
    live, anon, initech
):
    case = initech.case
    await log_in(anon, live, "supervisor", initech.sue.id)
    r = await anon.get(f"/console/cases/{case['id']}")
    assert r.status_code == 200, r.text
    panel = section(r.text, "<h2>Workflow</h2>", "</section>")
    assert "running" in panel and case["workflow_id"] in panel
    deadline = section(panel, 'class="deadline"', "</dd>")
    (clock,) = case["sla"]
    assert when(clock["due_at"]) in deadline and "SLA breach" in deadline
    seen = (await live.get(f"{V1}/cases/{case['id']}/workflow")).json()
    link = f"{UI_URL}/namespaces/default/workflows/{case['workflow_id']}/{seen['run_id']}/history"
    assert f'href="{html.escape(link)}"' in panel


async def test_the_case_page_shows_the_whole_customer(live, anon, initech):
    await log_in(anon, live, "supervisor", initech.sue.id)
    r = await anon.get(f"/console/cases/{initech.case['id']}")
    panel = section(r.text, "<h2>Customer</h2>", "</section>")
    assert "Initech Berlin" in panel and "part of Initech Group" in panel
    assert "Ada Lovelace" in panel and "ada@initech.example" in panel
    assert "Gold support" in panel and "4 cases left" in panel  # this case used one of 5
    assert "Router X" in panel and "RX-4242" in panel and "Berlin, 3rd floor" in panel
    opened = section(panel, "Other open cases", "</ul>")
    assert f'href="/console/cases/{initech.open.id}"' in opened and initech.open.number in opened
    assert initech.closed.number not in opened
    recent = section(panel, "Recent cases", "</ul>")
    assert f'href="/console/cases/{initech.closed.id}"' in recent
    assert initech.foreign.number not in panel and initech.case["number"] not in panel


async def test_internal_notes_are_marked_internal_on_the_timeline(live, anon, initech):
    await log_in(anon, live, "supervisor", initech.sue.id)
    r = await anon.get(f"/console/cases/{initech.case['id']}")
    timeline = section(r.text, "<h2>Timeline", "</section>")
    note = timeline[timeline.index("Customer is on the old firmware") - 600 :]
    item = note[note.rindex('<li class="', 0, 600) :]
    assert item.startswith('<li class="internal"') and "internal</span>" in item


async def test_an_agent_sees_the_customer_but_not_the_workflow(live, anon, initech):
    await log_in(anon, live, "agent", initech.ann.id)
    r = await anon.get(f"/console/cases/{initech.case['id']}")
    assert r.status_code == 200, r.text
    assert "<h2>Customer</h2>" in r.text and "4 cases left" in r.text
    assert "<h2>Workflow</h2>" not in r.text and UI_URL not in r.text


async def test_the_page_still_renders_while_temporal_is_away(live, anon, initech, monkeypatch):
    async def away(*_, **__):
        raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")

    service = live.app.state.temporal.client.workflow_service
    monkeypatch.setattr(service, "describe_workflow_execution", away)
    await log_in(anon, live, "supervisor", initech.sue.id)
    r = await anon.get(f"/console/cases/{initech.case['id']}")
    assert r.status_code == 200, r.text
    assert "Temporal is not answering" in section(r.text, "<h2>Workflow</h2>", "</section>")
    assert "Initech Berlin" in r.text


async def test_a_case_without_a_workflow_says_temporal_no_longer_keeps_it(api, sessions):
    case = await make_case(sessions, state="closed")
    r = await api.get(f"/console/cases/{case.id}")
    panel = section(r.text, "<h2>Workflow</h2>", "</section>")
    assert "gone" in panel and "no longer keeps this workflow" in panel
    assert f'href="{UI_URL}/namespaces/default/workflows/{case.workflow_id}"' in panel


async def test_an_agent_requests_field_service_and_escalates_from_the_case_page(
    live, anon, initech
):
    """The two actions with nested inputs, as forms: the lists come comma-separated, the
    checks are the API's (a bad urgency comes back as a message, nothing done)."""
    case_id = initech.case["id"]
    await log_in(anon, live, "agent", initech.ann.id)
    page = (await anon.get(f"/console/cases/{case_id}")).text
    assert "Request field service" in page and "Escalate to IT (incident)" in page
    form = {"skills": "fiber, ladder", "parts": "ONT-200", "notes": "Back door"}
    r = await anon.post(f"/console/cases/{case_id}/actions/request-field-service", data=form)
    assert r.status_code == 303, r.text
    bad = {"summary": "WAN down", "urgency": "7"}
    r = await anon.post(f"/console/cases/{case_id}/actions/escalate-itsm", data=bad)
    assert r.status_code == 303
    assert not (await live.get(f"{V1}/cases/{case_id}")).json()["incidents"]
    r = await anon.post(
        f"/console/cases/{case_id}/actions/escalate-itsm",
        data={"summary": "WAN down", "urgency": "2", "impact": "1"},
    )
    assert r.status_code == 303
    view = (await live.get(f"{V1}/cases/{case_id}")).json()
    (order,) = view["work_orders"]
    order = (await live.get(f"{V1}/work-orders/{order['id']}")).json()
    assert (order["required_skills"], order["parts"]) == (["fiber", "ladder"], ["ONT-200"])
    (incident,) = view["incidents"]
    assert (incident["summary"], incident["urgency"], incident["impact"]) == ("WAN down", 2, 1)


async def test_a_supervisor_assigns_a_partner_from_the_case_page(live, anon, initech, sessions):
    """The partner accounts are offered (a customer account is not, a merged partner is
    not); the choice is the assign-partner action, and the partner's users then see it."""
    fixit = await factories.account(sessions, "FixIt Partners", domains=())
    gone = await factories.account(sessions, "Gone Partners", domains=())
    async with sessions() as db, db.begin():
        partners = update(Account).where(Account.id.in_([fixit.id, gone.id]))
        await db.execute(partners.values(type="partner"))
        merged = update(Account).where(Account.id == gone.id)
        await db.execute(merged.values(merged_into_id=fixit.id))
    case_id = initech.case["id"]
    await log_in(anon, live, "supervisor", initech.sue.id)
    page = (await anon.get(f"/console/cases/{case_id}")).text
    offered = section(page, "Assign to a partner", "</form>")
    assert "FixIt Partners" in offered
    assert "Gone Partners" not in offered and "Initech" not in offered
    form = {"partner_account_id": str(fixit.id)}
    r = await anon.post(f"/console/cases/{case_id}/actions/assign-partner", data=form)
    assert r.status_code == 303, r.text
    assert (await live.get(f"{V1}/cases/{case_id}")).json()["partner_account_id"] == str(fixit.id)
    partner = await mint(live, "partner", fixit.id)
    assert (await live.get(f"{V1}/cases/{case_id}", headers=partner)).status_code == 200


async def test_the_case_page_names_the_open_major_cases_touching_the_customer(
    live, anon, initech, sessions
):
    """An outage's major case with an open child case of this customer is shown; a resolved
    major case, and one whose only child here is closed, are not."""
    import uuid

    site = uuid.UUID(initech.case["account_id"])
    outage = await make_case(sessions, subject="Router X firmware crash")
    over = await make_case(sessions, state="resolved", subject="Old outage")
    quiet = await make_case(sessions, subject="Another outage")
    await make_case(sessions, account_id=site, parent_case_id=outage.id, subject="Child")
    await make_case(sessions, account_id=site, parent_case_id=over.id, subject="Old child")
    await make_case(
        sessions, account_id=site, parent_case_id=quiet.id, state="closed", subject="Done"
    )
    await log_in(anon, live, "supervisor", initech.sue.id)
    r = await anon.get(f"/console/cases/{initech.case['id']}")
    majors = section(r.text, "Open major cases", "</ul>")
    assert outage.number in majors and "Router X firmware crash" in majors
    assert over.number not in majors and quiet.number not in majors
