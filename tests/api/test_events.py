"""Monitoring events and major cases over HTTP on the real app, with a worker running them:
one major case however often an event is posted, a child per customer, broadcast, clear."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from models.cases import Case, CaseEvent, Notification
from models.customers import Asset
from models.events import Event, EventCustomer
from tests import factories
from tests.api.test_cases import act, assert_problem, open_case, settle
from tests.conftest import make_deps, mint, running_worker

V1 = "/api/v1"


@pytest.fixture
async def live(api, sessions, ts_env):
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        yield api


async def asset(sessions, product, serial, *, account=None, consumer=None, location=None):
    return await factories.add(
        sessions,
        Asset(
            id=uuid.uuid4(),
            product_id=product.id,
            serial=serial,
            account_id=account.id if account else None,
            consumer_id=consumer.id if consumer else None,
            location=location,
        ),
    )


@pytest.fixture
async def install_base(sessions):
    """Router X at two accounts (one with two routers) and a consumer; a bystander owns
    only a Switch Y."""
    router, switch = (
        await factories.product(sessions, "Router X"),
        await factories.product(sessions, "Switch Y"),
    )
    acme = await factories.account(sessions, "Acme", domains=("acme.example",))
    ada = await factories.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    globex = await factories.account(sessions, "Globex", domains=("globex.example",))
    gus = await factories.contact(sessions, globex.id, name="Gus", email="gus@globex.example")
    bea = await factories.consumer(sessions, "Bea", email="bea@mail.test")
    bystander = await factories.account(sessions, "Initech", domains=("initech.example",))
    await factories.contact(sessions, bystander.id, name="Ian", email="ian@initech.example")
    assets = {
        "acme-1": await asset(sessions, router, "RX-1", account=acme, location="Berlin"),
        "acme-2": await asset(sessions, router, "RX-2", account=acme, location="Berlin"),
        "globex": await asset(sessions, router, "RX-3", account=globex, location="Paris"),
        "bea": await asset(sessions, router, "RX-4", consumer=bea, location="Berlin"),
        "initech": await asset(sessions, switch, "SY-1", account=bystander, location="Berlin"),
    }
    return {
        "router": router,
        "switch": switch,
        "acme": acme,
        "ada": ada,
        "globex": globex,
        "gus": gus,
        "bea": bea,
        "bystander": bystander,
        "assets": assets,
    }


def outage(product, event_id="outage-1", **extra) -> dict:
    return {
        "source": "nagios",
        "event_id": event_id,
        "summary": "Router X firmware crash",
        "severity": 2,
        "product_id": str(product.id),
        **extra,
    }


async def progress(api, event_ref, until, timeout: float = 30) -> dict:
    view = None
    for _ in range(int(timeout / 0.1)):
        r = await api.get(f"{V1}/events/{event_ref}")
        assert r.status_code == 200, r.text
        view = r.json()
        if until(view):
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"the event never got there: {view}")


async def children_of(sessions, major_case_id) -> list[Case]:
    async with sessions() as db:
        query = select(Case).where(Case.parent_case_id == uuid.UUID(str(major_case_id)))
        return list((await db.execute(query)).scalars())


async def posted(live, install_base, **extra) -> dict:
    r = await live.post(f"{V1}/events", json=outage(install_base["router"], **extra))
    assert r.status_code == 201, r.text
    return await progress(
        live,
        r.json()["id"],
        lambda v: v["opened"] == v["affected"] and v["notified"] == v["affected"],
    )


async def test_five_concurrent_posts_open_one_major_case_and_a_child_per_customer(
    live, sessions, install_base
):
    body = outage(install_base["router"])
    answers = await asyncio.gather(*(live.post(f"{V1}/events", json=body) for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 200, 201], [
        r.text for r in answers
    ]
    assert len({r.json()["major_case_id"] for r in answers}) == 1
    assert len({r.json()["id"] for r in answers}) == 1
    event = answers[0].json()
    assert event["affected"] == 3  # Acme (two routers), Globex, Bea: customers, not assets

    done = await progress(live, event["id"], lambda v: v["opened"] == 3 and v["notified"] == 3)
    assert done["resolved"] == 0
    major = (await live.get(f"{V1}/cases/{event['major_case_id']}")).json()
    assert major["channel"] == "event" and major["parent_case_id"] is None
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(Event))).scalar() == 1
        every_case = (await db.execute(select(Case))).scalars().all()
    assert len(every_case) == 4  # the major case and three children, nothing more

    children = await children_of(sessions, event["major_case_id"])
    by_customer = {c.account_id or c.consumer_id: c for c in children}
    ib = install_base
    assert set(by_customer) == {ib["acme"].id, ib["globex"].id, ib["bea"].id}
    assert ib["bystander"].id not in by_customer  # another product: nothing for them
    acme = by_customer[ib["acme"].id]
    assert "RX-1" in acme.description and "RX-2" in acme.description
    assert acme.contact_id == ib["ada"].id and acme.asset_id is None
    globex = by_customer[ib["globex"].id]
    assert "RX-3" in globex.description and "RX-1" not in globex.description
    assert globex.asset_id == ib["assets"]["globex"].id
    for child in children:
        assert child.channel == "event" and child.queue == major["queue"]
        assert child.state == "open" and child.priority == 2
    async with sessions() as db:
        acks = (
            (
                await db.execute(
                    select(Notification.recipient).where(Notification.template == "acknowledgement")
                )
            )
            .scalars()
            .all()
        )
    assert sorted(acks) == ["ada@acme.example", "bea@mail.test", "gus@globex.example"]


async def test_location_narrows_the_affected_customers(live, sessions, install_base):
    done = await posted(live, install_base, location="berlin")
    assert done["affected"] == 2  # Acme and Bea; Globex's router is in Paris
    children = await children_of(sessions, done["major_case_id"])
    assert {c.account_id or c.consumer_id for c in children} == {
        install_base["acme"].id,
        install_base["bea"].id,
    }


async def test_unknown_product_or_assets_are_named_and_nothing_is_opened(
    live, sessions, install_base
):
    ghost = uuid.uuid4()
    r = await live.post(
        f"{V1}/events", json=outage(install_base["router"]) | {"product_id": str(ghost)}
    )
    assert str(ghost) in assert_problem(r, 422)["detail"]
    ghosts = sorted(str(uuid.uuid4()) for _ in range(2))
    real = str(install_base["assets"]["bea"].id)
    body = {"source": "nagios", "event_id": "e2", "summary": "Down", "asset_ids": [real, *ghosts]}
    problem = assert_problem(await live.post(f"{V1}/events", json=body), 422)
    assert all(g in problem["detail"] for g in ghosts) and real not in problem["detail"]
    bare = {"source": "nagios", "event_id": "e3", "summary": "Down"}
    assert_problem(await live.post(f"{V1}/events", json=bare), 422)
    assert_problem(
        await live.post(f"{V1}/events", json=bare | {"severity": 9, "asset_ids": [real]}), 422
    )
    async with sessions() as db:
        for table in (Event, EventCustomer, Case):
            assert (await db.execute(select(func.count()).select_from(table))).scalar() == 0


async def test_only_an_integration_posts_events(live, install_base):
    as_agent = await mint(live, "agent", (await factories.agent(live.app.state.sessions, "Al")).id)
    r = await live.post(f"{V1}/events", json=outage(install_base["router"]), headers=as_agent)
    assert_problem(r, 403)
    as_integration = await mint(live, "integration")
    r = await live.post(f"{V1}/events", json=outage(install_base["router"]), headers=as_integration)
    assert r.status_code == 201, r.text


async def test_a_broadcast_reaches_each_childs_customer_once(live, sessions, install_base):
    done = await posted(live, install_base)
    major = done["major_case_id"]
    key = {"Idempotency-Key": "update-1"}
    url = f"{V1}/cases/{major}/actions/broadcast"
    for _ in range(2):  # a retried request sends nothing again
        r = await live.post(url, json={"body": "Engineers are on site."}, headers=key)
        assert r.status_code == 200, r.text

    async def sent() -> list[str]:
        async with sessions() as db:
            query = select(Notification.recipient).where(Notification.template == "broadcast")
            return sorted((await db.execute(query)).scalars())

    for _ in range(100):
        if len(await sent()) >= 3:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # long enough for a second send, were there one
    assert await sent() == ["ada@acme.example", "bea@mail.test", "gus@globex.example"]
    async with sessions() as db:
        told = (
            (await db.execute(select(CaseEvent.case_id).where(CaseEvent.kind == "broadcast")))
            .scalars()
            .all()
        )
    children = {c.id for c in await children_of(sessions, major)}
    assert sorted(told) == sorted([*children, uuid.UUID(major)])  # each child once, and the major

    # Not a major case: refused before anything is sent.
    ada = install_base["ada"]
    lone = await open_case(live, contact_id=str(ada.id))
    assert_problem(
        await live.post(f"{V1}/cases/{lone['id']}/actions/broadcast", json={"body": "x"}), 409
    )


async def test_clear_resolves_the_open_children_and_leaves_closed_ones(
    live, sessions, install_base
):
    done = await posted(live, install_base)
    children = await children_of(sessions, done["major_case_id"])
    by_customer = {c.account_id or c.consumer_id: c for c in children}
    closed = by_customer[install_base["bea"].id]
    as_bea = await mint(live, "consumer", install_base["bea"].id)
    assert (
        await act(live, closed.id, "resolve", resolution="Rebooted it myself")
    ).status_code == 200
    assert (await act(live, closed.id, "accept", as_bea)).status_code == 200

    r = await live.post(
        f"{V1}/events/{done['id']}/clear", json={"resolution": "Firmware rolled back"}
    )
    assert r.status_code == 200, r.text
    cleared = await progress(live, done["id"], lambda v: v["resolved"] == 3)
    assert cleared["cleared_at"] is not None
    major = (await live.get(f"{V1}/cases/{done['major_case_id']}")).json()
    assert major["state"] == "resolved"
    for child in await children_of(sessions, done["major_case_id"]):
        view = await settle(live, child.id)
        if child.id == closed.id:
            assert view["state"] == "closed"  # left alone: no second resolution
        else:
            assert view["state"] == "resolved" and view["reopen_window_ends_at"]
    async with sessions() as db:
        resolutions = (
            (
                await db.execute(
                    select(Case.resolution).where(
                        Case.parent_case_id == uuid.UUID(done["major_case_id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(resolutions) == [
        "Firmware rolled back",
        "Firmware rolled back",
        "Rebooted it myself",
    ]

    # A child its customer rejects reopens alone.
    acme_child = by_customer[install_base["acme"].id]
    as_ada = await mint(live, "contact", install_base["ada"].id)
    assert (
        await act(live, acme_child.id, "reject", as_ada, reason="Still down")
    ).status_code == 200
    assert (await live.get(f"{V1}/cases/{acme_child.id}")).json()["state"] == "open"
    globex_child = by_customer[install_base["globex"].id]
    assert (await live.get(f"{V1}/cases/{globex_child.id}")).json()["state"] == "resolved"
    assert major["state"] == "resolved"

    again = await live.post(f"{V1}/events/{done['id']}/clear")
    assert again.status_code == 200 and again.json()["cleared_at"] == cleared["cleared_at"]


async def test_linked_cases_resolve_with_their_major_case(live, sessions, install_base):
    ada, gus = install_base["ada"], install_base["gus"]
    major = await settle(live, (await open_case(live, contact_id=str(ada.id)))["id"])
    one = await settle(live, (await open_case(live, contact_id=str(gus.id)))["id"])
    two = await settle(live, (await open_case(live, contact_id=str(ada.id)))["id"])
    gone = await settle(live, (await open_case(live, contact_id=str(gus.id)))["id"])
    assert (await act(live, gone["id"], "cancel", reason="dup")).status_code == 200
    url = f"{V1}/cases/{major['id']}/children"
    r = await live.post(url, json={"case_ids": [one["id"], two["id"], gone["id"]]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["case_ids"]) == sorted([one["id"], two["id"], gone["id"]])
    unknown = str(uuid.uuid4())
    assert (
        unknown in assert_problem(await live.post(url, json={"case_ids": [unknown]}), 422)["detail"]
    )
    assert_problem(await live.post(url, json={"case_ids": [major["id"]]}), 422)
    r = await live.post(f"{V1}/cases/{one['id']}/children", json={"case_ids": [two["id"]]})
    assert_problem(r, 409)  # a child is not made major

    r = await act(live, major["id"], "resolve", resolution="Fixed at the source")
    assert r.status_code == 200 and r.json()["state"] == "resolved", r.text
    for case, state in ((one, "resolved"), (two, "resolved"), (gone, "cancelled")):
        for _ in range(100):
            view = (await live.get(f"{V1}/cases/{case['id']}")).json()
            if view["state"] == state:
                break
            await asyncio.sleep(0.1)
        assert view["state"] == state, view
    assert view["resolution"] is None
    assert (await live.get(f"{V1}/cases/{one['id']}")).json()["resolution"] == "Fixed at the source"
    assert_problem(await act(live, major["id"], "resolve", resolution="again"), 409)


async def test_the_console_lists_events_with_their_progress(live, install_base):
    done = await posted(live, install_base)
    page = await live.get("/console/events")
    assert page.status_code == 200, page.text
    html = page.text
    assert done["major_case_number"] in html and "Router X firmware crash" in html
    assert "opened 3 / 3 (100%)" in html and "notified 3 / 3 (100%)" in html
    assert "resolved 0 / 3 (0%)" in html
    as_contact = await mint(live, "contact", install_base["ada"].id)
    assert (await live.get("/console/events", headers=as_contact)).status_code == 403


async def test_a_clear_right_after_the_post_resolves_every_child(live, sessions, install_base):
    r = await live.post(f"{V1}/events", json=outage(install_base["router"]))
    assert r.status_code == 201, r.text
    cleared = await live.post(f"{V1}/events/{r.json()['id']}/clear")  # children still opening
    assert cleared.status_code == 200, cleared.text
    done = await progress(live, r.json()["id"], lambda v: v["resolved"] == 3)
    assert (done["affected"], done["opened"]) == (3, 3)


async def test_affected_customers_see_the_open_event_on_the_portal_until_it_clears(
    live, sessions, install_base
):
    """The banner: Ada (an Acme contact) and Bea (a consumer) own Router X, so their portal
    names the outage; Ian, whose account owns only a Switch Y, sees nothing; after the clear
    the banner is gone."""
    ib = install_base
    ian = await factories.contact(sessions, ib["bystander"].id, name="Ian 2", email="i2@i.example")
    done = await posted(live, ib)

    async def portal(subject, role="contact") -> str:
        r = await live.get("/portal", headers=await mint(live, role, subject.id))
        assert r.status_code == 200, r.text
        return r.text

    for who, role in ((ib["ada"], "contact"), (ib["bea"], "consumer")):
        page = await portal(who, role)
        banner = f"Known issue ({done['major_case_number']}): Router X firmware crash"
        assert banner in page, role
    assert "Known issue" not in await portal(ian)
    r = await live.post(f"{V1}/events/{done['id']}/clear", json={"resolution": "Rolled back"})
    assert r.status_code == 200, r.text
    await progress(live, done["id"], lambda v: v["resolved"] == v["affected"])
    assert "Known issue" not in await portal(ib["ada"])  # (her child case is listed, resolved)
