"""The satisfaction survey: the case's own customer answers it once, after the case closed,
and the case view shows the answer."""

from tests import factories
from tests.api.test_cases import V1, acme, act, assert_problem, live, open_case, settle  # noqa: F401
from tests.conftest import mint

__all__ = ["acme", "live"]


async def closed_case(live, acme, as_ada) -> dict:
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    r = await act(live, case["id"], "resolve", resolution="Fixed.")
    assert r.status_code == 200, r.text
    r = await act(live, case["id"], "accept", headers=as_ada)
    assert r.status_code == 200, r.text
    return case


async def test_the_customer_answers_once_after_the_close(live, acme):
    as_ada = await mint(live, "contact", acme["ada"].id)
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    early = await live.post(f"{V1}/cases/{case['id']}/csat", json={"score": 5}, headers=as_ada)
    assert_problem(early, 409)  # still open
    await act(live, case["id"], "resolve", resolution="Fixed.")
    await act(live, case["id"], "accept", headers=as_ada)
    r = await live.post(
        f"{V1}/cases/{case['id']}/csat", json={"score": 4, "comment": "Quick."}, headers=as_ada
    )
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["comment"]) == (4, "Quick.")
    again = await live.post(f"{V1}/cases/{case['id']}/csat", json={"score": 1}, headers=as_ada)
    assert_problem(again, 409)
    view = (await live.get(f"{V1}/cases/{case['id']}", headers=as_ada)).json()
    assert (view["state"], view["csat"]["score"], view["csat"]["comment"]) == (
        "closed",
        4,
        "Quick.",
    )


async def test_only_the_cases_own_customer_may_answer(live, sessions, acme):
    as_ada = await mint(live, "contact", acme["ada"].id)
    case = await closed_case(live, acme, as_ada)
    colleague = await factories.contact(sessions, acme["account"].id, name="Cy")
    stranger_account = await factories.account(sessions, "Other", domains=("other.example",))
    stranger = await factories.contact(sessions, stranger_account.id, name="Sol")
    url = f"{V1}/cases/{case['id']}/csat"
    as_colleague = await mint(live, "contact", colleague.id)
    assert_problem(await live.post(url, json={"score": 5}, headers=as_colleague), 403)
    as_stranger = await mint(live, "contact", stranger.id)
    assert_problem(await live.post(url, json={"score": 5}, headers=as_stranger), 404)
    as_agent = await mint(live, "agent", acme["ann"].id)
    assert_problem(await live.post(url, json={"score": 5}, headers=as_agent), 403)
    for bad in ({"score": 0}, {"score": 6}, {"score": "5x"}, {}, {"score": 3, "x": 1}):
        assert_problem(await live.post(url, json=bad, headers=as_ada), 422)
    assert (await live.get(f"{V1}/cases/{case['id']}")).json()["csat"] is None
