"""Tokens: minting for every role, revocation, expiry and hashed storage."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from models.auth import ROLES, ApiToken, hash_token
from models.customers import Account
from models.people import Technician
from tests import factories
from tests.conftest import mint

V1 = "/api/v1"


async def subjects(sessions) -> dict:
    account = await factories.account(sessions)
    partner = await factories.add(sessions, Account(id=uuid.uuid4(), name="Resell", type="partner"))
    agent = await factories.agent(sessions, "Ann")
    contact = await factories.contact(sessions, account.id)
    consumer = await factories.consumer(sessions)
    tech = await factories.add(
        sessions, Technician(id=uuid.uuid4(), name="Tom", email="tom@casework.test")
    )
    return {
        "agent": agent.id,
        "technician": tech.id,
        "contact": contact.id,
        "consumer": consumer.id,
        "partner": partner.id,
    }


async def test_every_role_gets_a_token_that_says_who_it_is(api, sessions):
    ids = await subjects(sessions)
    for role in ROLES:
        headers = await mint(api, role, ids.get(role))
        r = await api.get(f"{V1}/tokens/me", headers=headers)
        assert r.status_code == 200, r.text
        want = str(ids[role]) if role in ids else None
        assert r.json() == {"role": role, "subject_id": want}


async def test_mint_answers_the_token_once_and_stores_only_its_hash(api, sessions):
    r = await api.post(f"{V1}/tokens", json={"role": "supervisor", "name": "night shift"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"token", "id", "role", "subject_id", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    async with sessions() as db:
        rows = (await db.scalars(select(ApiToken))).all()
    assert body["token"] not in {r.token_hash for r in rows}
    assert hash_token(body["token"]) in {r.token_hash for r in rows}


@pytest.mark.parametrize(
    "body",
    [
        {"role": "wizard"},
        {"role": "agent"},
        {"role": "agent", "subject_id": str(uuid.uuid4())},
        {"role": "contact", "subject_id": "not-a-uuid"},
        {"role": "admin", "expires_in_seconds": 0},
        {"role": "admin", "expires_in_seconds": 366 * 24 * 3600},
        {"role": "admin", "scope": "all"},
    ],
)
async def test_bad_mint_requests_are_422(api, body):
    r = await api.post(f"{V1}/tokens", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_partner_token_needs_a_partner_account(api, sessions):
    customer = await factories.account(sessions)
    r = await api.post(f"{V1}/tokens", json={"role": "partner", "subject_id": str(customer.id)})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "subject_id"]


async def test_only_admin_mints_and_revokes(api):
    headers = await mint(api, "supervisor")
    assert (
        await api.post(f"{V1}/tokens", json={"role": "admin"}, headers=headers)
    ).status_code == 403
    r = await api.delete(f"{V1}/tokens/{uuid.uuid4()}", headers=headers)
    assert r.status_code == 403


async def test_a_revoked_token_is_refused(api):
    """At once, though the token was just used (and so cached)."""
    r = await api.post(f"{V1}/tokens", json={"role": "integration"})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 200
    assert (await api.delete(f"{V1}/tokens/{r.json()['id']}")).status_code == 204
    assert (await api.delete(f"{V1}/tokens/{r.json()['id']}")).status_code == 204
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 401


async def test_a_token_is_looked_up_once_within_the_cache_ttl(api):
    r = await api.post(f"{V1}/tokens", json={"role": "supervisor"})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    lookups = []

    def count(conn, cursor, statement, *args) -> None:
        if "FROM api_tokens" in statement:
            lookups.append(statement)

    engine = api.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(lookups) == 1


async def test_a_revocation_by_another_process_takes_effect_within_the_ttl(api, sessions):
    api.app.state.principals.ttl = 0.3
    r = await api.post(f"{V1}/tokens", json={"role": "integration"})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 200
    async with sessions() as db, db.begin():  # as another API process would revoke it
        await db.execute(
            update(ApiToken)
            .where(ApiToken.id == uuid.UUID(r.json()["id"]))
            .values(revoked_at=datetime.now(UTC))
        )
    await asyncio.sleep(0.4)
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 401


async def test_a_cached_token_is_refused_from_its_expiry(api):
    r = await api.post(f"{V1}/tokens", json={"role": "supervisor", "expires_in_seconds": 1})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 200
    await asyncio.sleep(1.1)
    assert (await api.get(f"{V1}/tokens/me", headers=headers)).status_code == 401


async def test_revoking_an_unknown_token_is_404(api):
    assert (await api.delete(f"{V1}/tokens/{uuid.uuid4()}")).status_code == 404


async def test_an_expired_token_is_refused(api, sessions):
    r = await api.post(f"{V1}/tokens", json={"role": "supervisor", "expires_in_seconds": 1})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    async with sessions() as db, db.begin():
        await db.execute(
            update(ApiToken)
            .where(ApiToken.id == uuid.UUID(r.json()["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )
    r = await api.get(f"{V1}/tokens/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("headers", [{"Authorization": ""}, {"Authorization": "Bearer nonsense"}])
async def test_missing_or_garbage_tokens_are_401(api, headers):
    r = await api.get(f"{V1}/tokens/me", headers=headers)
    assert r.status_code == 401
    assert r.json()["status"] == 401
