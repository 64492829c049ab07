"""Rate limits: sign-in per client address, customers opening cases (API and portal) per
customer and per client address; 429 with Retry-After, and no limit for staff."""

import httpx
import pytest

from api.rate_limit import Limiter, RateLimits
from casework.settings import Rate
from tests import factories
from tests.api.test_cases import V1, acme, live, open_case  # noqa: F401 (fixtures)
from tests.conftest import mint

PROBLEM = "application/problem+json"


def from_address(api, host: str) -> httpx.AsyncClient:
    """Another client of the same app, from another address."""
    transport = httpx.ASGITransport(app=api.app, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://casework.test")


def limit(api, **rates: Rate) -> None:
    """This app's limits, with `rates` instead of the settings' (a fresh count)."""
    settings = api.app.state.settings.model_copy(update=rates)
    api.app.state.rate_limits = RateLimits(settings)


def retry_after(r: httpx.Response) -> int:
    seconds = int(r.headers["retry-after"])
    assert seconds >= 1
    return seconds


async def test_sign_in_attempts_over_the_limit_get_429_and_other_clients_do_not(api):
    allowed = api.app.state.settings.rate_limit_login.count
    form = {"token": "not-a-token"}
    for _ in range(allowed):
        assert (await api.post("/login", data=form)).status_code == 401
    refused = await api.post("/login", data=form)
    assert refused.status_code == 429
    assert retry_after(refused) <= api.app.state.settings.rate_limit_login.seconds
    assert "Too many sign-in attempts" in refused.text  # the page says so
    assert refused.headers["content-type"].startswith("text/html")
    # A right token from the same address waits too (the limit is on attempts).
    admin = await api.post("/login", data={"token": "test-admin-token"})
    assert admin.status_code == 429
    async with from_address(api, "192.0.2.7") as other:
        assert (await other.post("/login", data=form)).status_code == 401
        assert (await other.post("/login", data={"token": "test-admin-token"})).status_code == 303


@pytest.fixture
async def customers(live, sessions, acme):  # noqa: F811
    bob = await factories.contact(sessions, acme["account"].id, name="Bob")
    carol = await factories.consumer(sessions, name="Carol")
    return {
        "ada": await mint(live, "contact", acme["ada"].id),
        "bob": await mint(live, "contact", bob.id),
        "carol": await mint(live, "consumer", carol.id),
    }


async def test_customers_opening_cases_are_limited_per_customer_and_per_address(live, customers):  # noqa: F811
    limit(
        live,
        rate_limit_open_case=Rate(2, 60),
        rate_limit_open_case_client=Rate(4, 60),
    )
    for _ in range(2):
        await open_case(live, customers["ada"])
    refused = await live.post(
        f"{V1}/cases", json={"subject": "Again", "channel": "portal"}, headers=customers["ada"]
    )
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 429
    assert retry_after(refused) <= 30  # one of the two comes back after 60/2 s
    # Bob has his own allowance, but shares the address with Ada: two more fill it.
    for _ in range(2):
        await open_case(live, customers["bob"])
    by_address = await live.post(
        f"{V1}/cases", json={"subject": "Mine", "channel": "portal"}, headers=customers["carol"]
    )
    assert by_address.status_code == 429, by_address.text
    retry_after(by_address)
    async with from_address(live, "198.51.100.9") as elsewhere:
        r = await elsewhere.post(
            f"{V1}/cases", json={"subject": "Mine", "channel": "portal"}, headers=customers["carol"]
        )
        assert r.status_code == 201, r.text


async def test_staff_and_integrations_opening_cases_are_not_limited(live, acme):  # noqa: F811
    limit(live, rate_limit_open_case=Rate(1, 60), rate_limit_open_case_client=Rate(1, 60))
    ann = await mint(live, "agent", acme["ann"].id)
    integration = await mint(live, "integration")
    who = str(acme["ada"].id)
    for headers in (None, None, ann, ann, integration, integration):  # None: the admin's
        await open_case(live, headers, contact_id=who)


async def test_the_portal_form_over_the_limit_gets_a_page_saying_so(live, customers):  # noqa: F811
    limit(live, rate_limit_open_case=Rate(1, 60))
    form = {"subject": "Printer on fire", "description": "", "key": ""}
    first = await live.post("/portal/cases", data=form, headers=customers["ada"])
    assert first.status_code == 303, first.text
    second = await live.post("/portal/cases", data=form, headers=customers["ada"])
    assert second.status_code == 429
    assert second.headers["content-type"].startswith("text/html")
    assert "Too many cases opened" in second.text
    retry_after(second)


def test_the_limiter_lets_one_more_in_after_its_interval():
    now = [1000.0]
    limiter = Limiter(Rate(3, 60), clock=lambda: now[0])
    assert [limiter.hit("k") for _ in range(3)] == [0, 0, 0]
    assert limiter.hit("k") == pytest.approx(20)  # a refusal is not counted
    assert limiter.hit("other") == 0
    now[0] += 20
    assert limiter.hit("k") == 0
    assert limiter.hit("k") == pytest.approx(20)
    now[0] += 60
    assert [limiter.hit("k") for _ in range(3)] == [0, 0, 0]
    assert Limiter(Rate(0, 60)).hit("k") == 0  # 0: off


def test_the_limiter_forgets_keys_back_at_their_full_allowance(monkeypatch):
    monkeypatch.setattr("api.rate_limit.PRUNE_AT", 10)
    now = [0.0]
    limiter = Limiter(Rate(5, 10), clock=lambda: now[0])
    for n in range(11):  # the 11th finds nothing to forget: the next try waits for 22 keys
        limiter.hit(f"old{n}")
    now[0] += 3  # one hit wears off in 2 s
    for n in range(12):
        limiter.hit(f"new{n}")
    assert sorted(limiter.full_at) == sorted(f"new{n}" for n in range(12))
