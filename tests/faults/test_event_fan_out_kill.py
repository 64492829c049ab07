"""A worker killed with SIGKILL in the middle of an event's fan-out to 1,000 customers: every
customer gets exactly one child case and one acknowledgement, none is lost or doubled."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, insert, select

from models.cases import Case, Notification
from models.customers import Asset, Consumer, Product
from models.events import Event

pytestmark = pytest.mark.slow
CUSTOMERS = 1_000


async def install_base(stack) -> uuid.UUID:
    """A product with one asset at each of CUSTOMERS consumers (and one asset of another
    product at a bystander), written in bulk."""
    product, other = uuid.uuid4(), uuid.uuid4()
    people = [
        {"id": uuid.uuid4(), "name": f"C{n}", "email": f"c{n}@mail.test", "addresses": []}
        for n in range(CUSTOMERS + 1)
    ]
    assets = [
        {"id": uuid.uuid4(), "product_id": product, "serial": f"RX-{n}", "consumer_id": p["id"]}
        for n, p in enumerate(people[:CUSTOMERS])
    ]
    assets.append(
        {"id": uuid.uuid4(), "product_id": other, "serial": "SY-1", "consumer_id": people[-1]["id"]}
    )
    async with stack.sessions() as db, db.begin():
        await db.execute(
            insert(Product), [{"id": product, "name": "Router X"}, {"id": other, "name": "Y"}]
        )
        await db.execute(insert(Consumer), people)
        await db.execute(insert(Asset), assets)
    return product


async def counts(stack, major_case_id) -> tuple[int, int]:
    """(child cases opened, acknowledgements sent) of the major case."""
    async with stack.sessions() as db:
        opened = await db.scalar(
            select(func.count())
            .select_from(Case)
            .where(Case.parent_case_id == major_case_id, Case.state != "new")
        )
        sent = await db.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Case, Case.id == Notification.case_id)
            .where(Case.parent_case_id == major_case_id, Notification.status == "sent")
        )
    return opened, sent


async def test_worker_killed_mid_fan_out_of_1000_customers_loses_and_doubles_nothing(stack):
    product = await install_base(stack)
    body = {"source": "nms", "event_id": "outage-7", "summary": "Router X down", "severity": 2}
    r = await stack.http.post("/api/v1/events", json=body | {"product_id": str(product)})
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["affected"] == CUSTOMERS
    major = uuid.UUID(event["major_case_id"])

    async def some_opened():
        opened, _ = await counts(stack, major)
        return opened >= 20

    await stack.wait(some_opened, timeout=120, every=0.1)
    stack.worker.kill()
    assert stack.worker.proc.poll() is not None  # it really died
    opened_at_kill, _ = await counts(stack, major)
    assert opened_at_kill < CUSTOMERS  # killed in the middle of the fan-out
    # A post of the same event meanwhile opens nothing new either.
    again = await stack.http.post("/api/v1/events", json=body | {"product_id": str(product)})
    assert again.status_code in (200, 202) and again.json()["major_case_id"] == str(major)
    stack.worker.start()

    async def all_done():
        return await counts(stack, major) == (CUSTOMERS, CUSTOMERS)

    await stack.wait(all_done, timeout=420, every=1)
    await asyncio.sleep(3)  # long enough for a duplicate to show, were there one
    async with stack.sessions() as db:
        children = (
            await db.execute(
                select(Case.consumer_id, func.count())
                .where(Case.parent_case_id == major)
                .group_by(Case.consumer_id)
            )
        ).all()
        every_case = await db.scalar(select(func.count()).select_from(Case))
        acks = (
            await db.execute(
                select(Notification.recipient, func.count())
                .where(Notification.template == "acknowledgement")
                .group_by(Notification.recipient)
            )
        ).all()
        events = await db.scalar(select(func.count()).select_from(Event))
    assert len(children) == CUSTOMERS and all(n == 1 for _, n in children)
    assert every_case == CUSTOMERS + 1  # the children and the major case, nothing else
    assert len(acks) == CUSTOMERS and all(n == 1 for _, n in acks)
    assert "c1000@mail.test" not in {r for r, _ in acks}  # the bystander heard nothing
    assert events == 1
    delivered = [m.message["To"] for m in stack.sink.delivered]
    assert len(delivered) == CUSTOMERS and len(set(delivered)) == CUSTOMERS  # one mail each
    started = await stack.client.count_workflows("WorkflowType = 'CaseWorkflow'")
    assert started.count == CUSTOMERS + 1  # no case workflow started twice
    progress = (await stack.http.get(f"/api/v1/events/{event['id']}")).json()
    assert (progress["opened"], progress["notified"]) == (CUSTOMERS, CUSTOMERS)
