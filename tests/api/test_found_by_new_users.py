"""What a new user tripped over (issue 12, item 8), each fixed: one email rule everywhere, one
name for an incident's state, and a bad cursor that is a 422 on every list."""

import base64
import json
import uuid

from tests import factories
from tests.api.test_cases import acme, assert_422, live, open_case, settle  # noqa: F401
from tests.conftest import make_deps, mint, running_worker

V1 = "/api/v1"


# ----- one email rule ------------------------------------------------------------------------


async def test_a_case_takes_the_same_addresses_as_a_contact(live):  # noqa: F811
    r = await live.post(f"{V1}/contacts", json={"name": "Ada", "email": "ada@acme.test"})
    assert r.status_code == 201, r.text
    contact = r.json()
    # The address as another channel might write it: same person, same contact.
    case = await open_case(live, email="Ada@ACME.test", name="Ada")
    assert (await settle(live, case["id"]))["contact_id"] == contact["id"]
    # Reserved test names work for every kind of person, as for contacts.
    for path, body in (
        ("consumers", {"name": "Bea", "email": "bea@home.invalid"}),
        ("agents", {"name": "Ann", "email": "ann@casework.test"}),
        ("technicians", {"name": "Tom", "email": "tom@field.example"}),
    ):
        r = await live.post(f"{V1}/{path}", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["email"] == body["email"]
    opened = await open_case(live, email="zed@nowhere.invalid")
    assert opened["id"]


async def test_no_kind_of_person_takes_an_address_that_cannot_receive_mail(live):  # noqa: F811
    for path, body in (
        ("contacts", {"name": "Ada"}),
        ("consumers", {"name": "Bea"}),
        ("agents", {"name": "Ann"}),
        ("technicians", {"name": "Tom"}),
        ("cases", {"subject": "Hi", "channel": "email"}),
    ):
        for bad in ("ada@printer.local", "ada@localhost", "not an address"):
            assert_422(await live.post(f"{V1}/{path}", json=body | {"email": bad}))


# ----- one name for an incident's state ------------------------------------------------------


async def test_an_incident_state_change_says_state_as_the_case_view_does(api, sessions, ts_env):
    async with running_worker(ts_env.client, make_deps(sessions), api.task_queue):
        account = await factories.account(sessions, "Acme", domains=("acme.example",))
        ada = await factories.contact(sessions, account.id, name="Ada", email="ada@acme.example")
        as_ann = await mint(api, "agent", (await factories.agent(sessions, "Ann")).id)
        as_itsm = await mint(api, "integration")
        case = await settle(api, (await open_case(api, contact_id=str(ada.id)))["id"])
        r = await api.post(f"{V1}/cases/{case['id']}/actions/escalate-itsm", headers=as_ann)
        assert r.status_code == 200, r.text
        (line,) = r.json()["incidents"]
        desk = f"{V1}/incidents/{line['id']}/status"
        itsm = f"{V1}/integrations/itsm/incidents/{line['id']}"
        for url, who in ((desk, as_ann), (itsm, as_itsm)):
            assert_422(await api.post(url, json={"comment": "no state"}, headers=who))
            disagree = {"state": "resolved", "status": "in_progress"}
            assert_422(await api.post(url, json=disagree, headers=who))
            assert_422(await api.post(url, json={"state": "failed"}, headers=who))
        r = await api.post(desk, json={"state": "in_progress"}, headers=as_ann)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "in_progress"
        # The old name still works, and both names together when they agree.
        agree = {"state": "resolved", "status": "resolved", "resolution": "PSU replaced."}
        r = await api.post(itsm, json=agree, headers=as_itsm)
        assert r.status_code == 200, r.text
        view = (await api.get(f"{V1}/cases/{case['id']}")).json()
        assert view["incidents"][0]["state"] == "resolved"
        r = await api.post(itsm, json={"status": "closed"}, headers=as_itsm)
        assert (r.status_code, r.json()["state"]) == (200, "closed")


# ----- a bad cursor is a 422 on every list ---------------------------------------------------


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


BAD_CURSORS = (
    "87178291199",  # a timeline event id PostgreSQL's integer cannot hold
    "999999999999",
    "-1",
    "garbage",
    "!!!",
    b64(["2026-01-01T00:00:00", str(uuid.uuid4())]),  # a time without an offset
    b64(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),  # before year 1 in UTC
    b64(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
    b64({"at": "2026-01-01T00:00:00+00:00"}),
)


async def test_a_bad_cursor_is_a_422_on_every_list(live, acme):  # noqa: F811
    case = await settle(live, (await open_case(live, contact_id=str(acme["ada"].id)))["id"])
    doc = (await live.get("/openapi.json")).json()
    timeline = f"{V1}/cases/{case['id']}/timeline"
    lists = [
        path.replace("{case_id}", case["id"])
        for path, operations in doc["paths"].items()
        if any(p["name"] == "cursor" for p in operations.get("get", {}).get("parameters", []))
    ]
    assert timeline in lists and f"{V1}/cases" in lists
    lists.sort(key=lambda path: path != timeline)  # the one that answered 503
    assert len(lists) >= 15, lists
    for path in lists:
        assert "{" not in path, path
        for cursor in BAD_CURSORS:
            r = await live.get(path, params={"cursor": cursor})
            assert r.status_code == 422, (path, cursor, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        # A good cursor still pages.
        r = await live.get(path, params={"limit": 1})
        assert r.status_code == 200, (path, r.text)
