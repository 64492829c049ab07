"""The portal on the real app: what needs my action, my cases and my account's, my assets and
their open work orders, search first when opening a case (and being deflected), the pickers."""

import re
import uuid

from sqlalchemy import func, select

from models.cases import Case
from models.customers import Asset
from models.field_service import WorkOrder
from models.knowledge import KnowledgeFeedback
from tests import factories
from tests.pages.test_pages import anon, live, log_in, make_case, section, world  # noqa: F401

__all__ = ["anon", "live", "world"]


async def test_action_needed_my_cases_and_my_accounts_cases(api, anon, world, sessions):  # noqa: F811
    ada, acme = world.ada, world.acme
    waiting = await make_case(
        sessions,
        subject="Which port?",
        state="awaiting_info",
        account_id=acme.id,
        contact_id=ada.id,
    )
    proposed = await make_case(
        sessions, subject="Fixed?", state="resolved", account_id=acme.id, contact_id=ada.id
    )
    working = await make_case(sessions, subject="In hand", account_id=acme.id, contact_id=ada.id)
    colleague = await make_case(
        sessions, subject="Bob's printer", state="resolved", account_id=acme.id
    )
    foreign = await make_case(
        sessions, subject="Globex VPN", account_id=world.globex.id, contact_id=world.gus.id
    )
    await log_in(anon, api, "contact", ada.id)
    page = (await anon.get("/portal")).text
    needed = section(page, "Action needed", "My cases")
    assert waiting.number in needed and proposed.number in needed
    assert working.number not in needed and colleague.number not in needed  # not mine to accept
    mine = section(page, "My cases", "My account's cases")
    assert all(c.number in mine for c in (waiting, proposed, working))
    assert colleague.number not in mine
    account = section(page, "My account's cases", "My assets")
    assert colleague.number in account and working.number not in account
    assert foreign.number not in page


async def test_my_assets_and_their_open_work_orders(api, anon, world, sessions):  # noqa: F811
    router = await factories.product(sessions, "Aero Router X2")
    mine = Asset(product_id=router.id, serial="AR-1", account_id=world.acme.id, location="HQ")
    theirs = Asset(product_id=router.id, serial="AR-2", account_id=world.globex.id)
    await factories.add(sessions, mine, theirs)
    case = await make_case(sessions, account_id=world.acme.id, contact_id=world.ada.id)

    def order(number: str, asset, state: str) -> WorkOrder:
        return WorkOrder(
            number=number,
            workflow_id=f"wo-{number}",
            request_key=number,
            case_id=case.id,
            asset_id=asset.id,
            state=state,
        )

    await factories.add(
        sessions,
        order("WO0000001", mine, "dispatched"),
        order("WO0000002", mine, "completed"),
        order("WO0000003", theirs, "dispatched"),
    )
    await log_in(anon, api, "contact", world.ada.id)
    assets = section((await anon.get("/portal")).text, "My assets", "Open a case")
    assert "AR-1" in assets and "HQ" in assets and "AR-2" not in assets
    assert "WO0000001" in assets and "dispatched" in assets
    assert "WO0000002" not in assets and "WO0000003" not in assets


async def test_search_first_then_this_solved_it_opens_no_case(api, anon, world, sessions):  # noqa: F811
    for title, body in (
        ("Clear a paper jam", "Open the rear door and pull the jammed paper out slowly."),
        ("Printer offline", "Print a network status page."),
    ):
        assert (await api.post("/api/v1/knowledge", json={"title": title, "body": body})).is_success
    await log_in(anon, api, "contact", world.ada.id)
    home = (await anon.get("/portal")).text
    key = re.search(r'name="key" value="([^"]+)"', home).group(1)
    step = await anon.get("/portal/new", params={"subject": "paper jammed", "key": key})
    assert step.status_code == 200
    suggested = section(step.text, "Does one of these answer it?", "No — open a case")
    assert "Clear a paper jam" in suggested and "<mark>jammed</mark>" in suggested
    assert "Printer offline" not in suggested
    assert f'name="key" value="{key}"' in step.text  # the form keeps the key it came with
    article_id = re.search(r"/portal/knowledge/([0-9a-f-]+)/solved", suggested).group(1)

    r = await anon.post(
        f"/portal/knowledge/{article_id}/not-helpful", data={"q": "paper jammed", "key": key}
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/new?subject=paper")
    for _ in range(2):  # twice the same day: one deflection
        r = await anon.post(f"/portal/knowledge/{article_id}/solved", data={"q": "paper jammed"})
        assert r.status_code == 303 and r.headers["location"] == "/portal"
    assert "No case was opened" in (await anon.get("/portal")).text
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Case)) == 0
        verdicts = (
            await db.execute(select(KnowledgeFeedback.verdict, KnowledgeFeedback.query))
        ).all()
    assert sorted(verdicts) == [("not_helpful", "paper jammed"), ("solved", "paper jammed")]
    r = await api.get("/api/v1/metrics/deflection")
    assert r.json()["total"] == {"count": 1, "of": 1, "rate": 1.0}


async def test_the_case_form_takes_my_asset_and_the_category(live, anon, world, sessions):  # noqa: F811
    router = await factories.product(sessions, "Aero Router X2")
    printer = await factories.product(sessions, "Lumen Printer P5")
    mine = Asset(product_id=router.id, serial="AR-1", account_id=world.acme.id)
    theirs = Asset(product_id=printer.id, serial="LP-9", account_id=world.globex.id)
    await factories.add(sessions, mine, theirs)
    await log_in(anon, live, "contact", world.ada.id)
    form = (await anon.get("/portal/new", params={"subject": "Router reboots"})).text
    assert "AR-1" in form and "LP-9" not in form and "Lumen Printer P5" not in form
    base = {"subject": "Router reboots", "issue_type": "Not working", "symptom": "Keeps restarting"}
    for bad, message in (
        ({"asset": str(theirs.id)}, "one of your assets"),
        ({"asset": "not-a-uuid"}, "one of your assets"),
        ({"product": str(printer.id)}, "one of your products"),
        ({"symptom": "Invoice"}, "symptom of the type"),
        ({"issue_type": "Hacking"}, "type of issue"),
    ):
        r = await anon.post("/portal/cases", data=base | bad)
        assert r.status_code == 422 and message in r.text, bad
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Case)) == 0
    r = await anon.post("/portal/cases", data=base | {"asset": str(mine.id)})
    assert r.status_code == 303, r.text
    case_id = uuid.UUID(r.headers["location"].removeprefix("/portal/cases/"))
    async with sessions() as db:
        case = await db.get(Case, case_id)
    assert (case.asset_id, case.product_id, case.channel) == (mine.id, router.id, "portal")
    assert case.category == {
        "product": "Aero Router X2",
        "issue_type": "Not working",
        "symptom": "Keeps restarting",
    }
    page = (await anon.get(f"/portal/cases/{case_id}")).text
    assert "Aero Router X2" in page and "AR-1" in page and "Not working · Keeps restarting" in page
