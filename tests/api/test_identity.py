"""Customer identity: who an email address is (the one lookup intake and inbound mail use),
the data-debt report on a seeded set with known counts, and merges refused for bad input."""

import uuid

from sqlalchemy import select, text

from activities.identity import customer_for_email
from api.services.identity import components
from models.customers import AccountContact, Consumer, Contact
from tests import factories as f
from tests.conftest import mint

V1 = "/api/v1"


async def lookup(sessions, address, name=None):
    async with sessions() as db, db.begin():
        return await customer_for_email(db, address, name)


async def raw_contact(sessions, name, email, phone=None, merged_into=None) -> uuid.UUID:
    """A contact as a bulk load or an old import wrote it: the email exactly as given."""
    contact_id = uuid.uuid4()
    async with sessions() as db, db.begin():
        await db.execute(
            text(
                "INSERT INTO contacts (id, name, email, phone, merged_into_id, created_at)"
                " VALUES (:id, :name, :email, :phone, :into, clock_timestamp())"
            ),
            {"id": contact_id, "name": name, "email": email, "phone": phone, "into": merged_into},
        )
    return contact_id


async def links(sessions, contact_id) -> list[tuple[uuid.UUID, bool]]:
    async with sessions() as db:
        rows = await db.execute(
            select(AccountContact.account_id, AccountContact.primary).where(
                AccountContact.contact_id == contact_id
            )
        )
        return list(rows.all())


# ----- lookup ---------------------------------------------------------------------------


async def test_a_contact_is_found_by_its_normalized_email(sessions):
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    ada = await f.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    legacy = await raw_contact(sessions, "Old Ben", "Ben.Old@Acme.Example")
    for address in ("ada@acme.example", "  ADA@Acme.Example ", "<ada@acme.example>"):
        got = await lookup(sessions, address)
        assert (got.contact_id, got.account_id, got.created) == (ada.id, acme.id, False)
        assert got.name == "Ada"
    # a row stored before normalization (mixed case) is found too, and not duplicated
    got = await lookup(sessions, "ben.old@acme.example")
    assert got.contact_id == legacy and not got.created


async def test_an_unknown_sender_of_an_owned_domain_becomes_that_accounts_contact(sessions):
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    await f.account(sessions, "Other", domains=("other.example",))
    got = await lookup(sessions, "Nia@Acme.Example", "Nia Noor")
    assert got.created and got.account_id == acme.id and got.consumer_id is None
    async with sessions() as db:
        nia = await db.get(Contact, got.contact_id)
    assert (nia.email, nia.name) == ("nia@acme.example", "Nia Noor")
    assert await links(sessions, nia.id) == [(acme.id, True)]
    # a subdomain belongs to the account owning its parent domain
    eu = await lookup(sessions, "ops@eu.mail.acme.example")
    assert eu.account_id == acme.id and eu.contact_id is not None
    # the same sender again is the same contact
    again = await lookup(sessions, "nia@acme.example")
    assert (again.contact_id, again.created) == (nia.id, False)


async def test_the_most_specific_domain_wins(sessions):
    await f.account(sessions, "Acme", domains=("acme.example",))
    eu = await f.account(sessions, "Acme EU", domains=("eu.acme.example",))
    got = await lookup(sessions, "li@eu.acme.example")
    assert got.account_id == eu.id


async def test_an_unknown_sender_of_no_ones_domain_becomes_a_consumer(sessions):
    await f.account(sessions, "Acme", domains=("acme.example",))
    got = await lookup(sessions, "Bea@Mail.Test", "Bea")
    assert got.created and got.contact_id is None and got.account_id is None
    again = await lookup(sessions, "bea@mail.test")
    assert (again.consumer_id, again.created) == (got.consumer_id, False)
    async with sessions() as db:
        assert (await db.get(Consumer, got.consumer_id)).email == "bea@mail.test"
        assert (await db.scalar(select(Contact.id).limit(1))) is None


async def test_plus_tags_and_dots_are_different_addresses(sessions):
    """Gmail folds them, most providers do not: folding would let one address speak for
    another person's cases (models/identity_keys.py)."""
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    ada = await f.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    for address in ("ada+billing@acme.example", "a.da@acme.example"):
        got = await lookup(sessions, address)
        assert got.created and got.contact_id != ada.id


async def test_a_contact_with_no_account_is_linked_to_its_domains_account(sessions):
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    orphan = await raw_contact(sessions, "Lone", "lone@acme.example")
    got = await lookup(sessions, "lone@acme.example")
    assert (got.contact_id, got.account_id) == (orphan, acme.id)
    assert await links(sessions, orphan) == [(acme.id, True)]


async def test_a_merged_contacts_address_reaches_the_survivor(sessions):
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    ada = await f.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    await raw_contact(sessions, "Ada L.", "ada.l@acme.example", merged_into=ada.id)
    got = await lookup(sessions, "ada.l@acme.example")
    assert (got.contact_id, got.account_id, got.name, got.created) == (
        ada.id,
        acme.id,
        "Ada",
        False,
    )


async def test_a_merged_account_owns_no_domain(sessions):
    survivor = await f.account(sessions, "New Acme", domains=())
    old = await f.account(sessions, "Old Acme", domains=("old.example",))
    async with sessions() as db, db.begin():
        await db.execute(
            text("UPDATE accounts SET merged_into_id = :s WHERE id = :o"),
            {"s": survivor.id, "o": old.id},
        )
    got = await lookup(sessions, "x@old.example")
    assert got.consumer_id is not None and got.account_id is None


# ----- the data-debt report -------------------------------------------------------------


def test_overlapping_duplicate_groups_are_one_person():
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    got = components([[a, b], [b, c], [d, e]])
    assert sorted(map(len, got)) == [2, 3]
    assert {a, b, c} in got and {d, e} in got


async def test_the_data_debt_report_counts_a_seeded_set(api, sessions):
    acme = await f.account(sessions, "Acme", domains=("acme.example",))
    ada = await f.contact(sessions, acme.id, name="Ada", email="ada@acme.example")
    ada_again = await raw_contact(sessions, "Ada Lovelace", " ADA@acme.example")  # no account
    bob = await f.contact(sessions, acme.id, name="Bob Stone", email="bob@acme.example")
    async with sessions() as db, db.begin():
        (await db.get(Contact, bob.id)).phone = "+44 20 7946 0958"
    bob_again = await raw_contact(sessions, "bob  STONE", "b.s@mail.test", "0044 (20) 7946-0958")
    # same name, another number: a namesake, not a duplicate
    await raw_contact(sessions, "Bob Stone", "bob.other@mail.test", "555-0100")
    await raw_contact(sessions, "Cy", "cy@mail.test")  # no phone, no account
    await raw_contact(sessions, "Ada", "ada.old@mail.test", merged_into=ada.id)  # merged: gone
    di = await f.contact(sessions, acme.id, name="Di", email="di@acme.example")
    async with sessions() as db, db.begin():
        (await db.get(Contact, di.id)).phone = "+1 555 010 0199 x12"
    di_again = await raw_contact(sessions, "di", "di@mail.test", "+1 (555) 010-0199")
    await raw_contact(sessions, "Eve", "eve@mail.test", "12-34")  # too short to be a key

    r = await api.get(f"{V1}/reports/data-debt")
    assert r.status_code == 200, r.text
    report = r.json()
    # ada_again, bob_again, the namesake, cy, di_again, eve
    assert report["contacts_without_account"] == 6
    groups = report["duplicate_contact_groups"]
    assert sorted(groups) == sorted(
        [
            [str(ada.id), str(ada_again)],  # oldest first: the natural survivor
            [str(bob.id), str(bob_again)],
            [str(di.id), str(di_again)],
        ]
    )

    supervisor = await mint(api, "supervisor", (await f.agent(sessions, "Sue")).id)
    assert (await api.get(f"{V1}/reports/data-debt", headers=supervisor)).status_code == 200
    agent = await mint(api, "agent", (await f.agent(sessions, "Al")).id)
    assert (await api.get(f"{V1}/reports/data-debt", headers=agent)).status_code == 403

    # merging a duplicate away pays the debt down (the merged one counts no more)
    async with sessions() as db, db.begin():
        await db.execute(
            text("UPDATE contacts SET merged_into_id = :s WHERE id = :o"),
            {"s": ada.id, "o": ada_again},
        )
    report = (await api.get(f"{V1}/reports/data-debt")).json()
    assert report["contacts_without_account"] == 5
    assert len(report["duplicate_contact_groups"]) == 2


# ----- merges refused ---------------------------------------------------------------------


async def test_bad_merges_are_refused_before_anything_moves(api, sessions):
    acme = await f.account(sessions, "Acme")
    beta = await f.account(sessions, "Beta", domains=("beta.example",))
    gone = await f.account(sessions, "Gone", domains=("gone.example",))
    async with sessions() as db, db.begin():
        await db.execute(
            text("UPDATE accounts SET merged_into_id = :s WHERE id = :o"),
            {"s": acme.id, "o": gone.id},
        )
    ada = await f.contact(sessions, acme.id, name="Ada")

    async def merge(path_id, into, kind="accounts", **kw):
        return await api.post(f"{V1}/{kind}/{path_id}/merge", json={"into_id": str(into)}, **kw)

    itself = await merge(acme.id, acme.id)
    assert itself.status_code == 422 and itself.json()["errors"][0]["loc"] == ["body", "into_id"]
    assert (await merge(uuid.uuid4(), acme.id)).status_code == 404
    assert (await merge(acme.id, uuid.uuid4())).status_code == 404
    assert (await merge(ada.id, uuid.uuid4(), "contacts")).status_code == 404
    assert (await merge(acme.id, ada.id)).status_code == 404  # a contact is not an account
    assert (await merge(gone.id, beta.id)).status_code == 409  # merged already
    assert (await merge(beta.id, gone.id)).status_code == 409  # into a merged one
    assert (await merge(acme.id, gone.id)).status_code == 409  # the cycle back
    for body in ({}, {"into_id": "not-a-uuid"}, {"into_id": str(beta.id), "extra": 1}, []):
        r = await api.post(f"{V1}/accounts/{acme.id}/merge", json=body)
        assert r.status_code == 422, (body, r.text)
    bad = await api.post(f"{V1}/accounts/not-a-uuid/merge", json={"into_id": str(beta.id)})
    assert bad.status_code == 422
    sue = await mint(api, "supervisor", (await f.agent(sessions, "Sue")).id)
    assert (await merge(acme.id, beta.id, headers=sue)).status_code == 403
    async with sessions() as db:
        merged = await db.scalars(text("SELECT id FROM accounts WHERE merged_into_id IS NOT NULL"))
        assert list(merged) == [gone.id]
        assert (await db.scalar(text("SELECT count(*) FROM merges"))) == 0


async def test_only_an_admin_merges_and_only_supervisors_read_the_debt(api, sessions):
    a, b = await f.account(sessions, "A"), await f.account(sessions, "B")
    ada = await f.contact(sessions, a.id, name="Ada")
    sue = await f.agent(sessions, "Sue")
    people = {
        "supervisor": sue.id,
        "agent": sue.id,
        "integration": None,
        "contact": ada.id,
    }
    merge = (f"{V1}/accounts/{a.id}/merge", {"into_id": str(b.id)})
    for role, subject in people.items():
        headers = await mint(api, role, subject)
        assert (await api.post(merge[0], json=merge[1], headers=headers)).status_code == 403
        debt = await api.get(f"{V1}/reports/data-debt", headers=headers)
        assert debt.status_code == (200 if role == "supervisor" else 403), role
    nobody = {"Authorization": ""}
    assert (await api.post(merge[0], json=merge[1], headers=nobody)).status_code == 401
    assert (await api.get(f"{V1}/reports/data-debt", headers=nobody)).status_code == 401


async def test_an_account_merged_into_its_own_subsidiary_leaves_no_cycle(sessions):
    """The survivor below the merged account takes its place in the tree; the merged one's
    other children move under the survivor (the merge step, in one transaction)."""
    from activities.identity import survivor
    from activities.merge import merge
    from models.customers import Account
    from workflows.customer_merge import MergeInput

    group = await f.account(sessions, "Group", domains=())
    acme = await f.account(sessions, "Acme", domains=(), parent_id=group.id)
    region = await f.account(sessions, "Acme EU", domains=(), parent_id=acme.id)
    site = await f.account(sessions, "Acme Berlin", domains=(), parent_id=region.id)
    other = await f.account(sessions, "Acme US", domains=(), parent_id=acme.id)
    async with sessions() as db, db.begin():
        arg = MergeInput(str(uuid.uuid4()), "account", str(acme.id), str(site.id))
        done = await merge(db, arg)
    assert done.moved["child_accounts"] == 2  # Acme EU and Acme US
    async with sessions() as db:
        parents = dict((await db.execute(select(Account.id, Account.parent_id))).all())
        assert parents[site.id] == group.id
        assert parents[region.id] == site.id and parents[other.id] == site.id
        for account_id in parents:  # every chain of parents ends at a root: no loop
            steps, at = 0, account_id
            while at is not None and steps < 10:
                at, steps = parents[at], steps + 1
            assert at is None
        assert await survivor(db, Account, acme.id) == site.id


async def test_a_merge_slower_than_the_wait_is_accepted_not_failed(api, sessions, monkeypatch):
    """No worker: the merge cannot finish while the request waits, but it is durable and will
    complete once one runs, so the answer is 202 naming it (never a 5xx for work that will be
    done), and nothing has moved yet."""
    from api.services import identity

    monkeypatch.setattr(identity, "MERGE_WAIT_SECONDS", 0.5)
    a, b = await f.account(sessions, "A"), await f.account(sessions, "B")
    r = await api.post(f"{V1}/accounts/{a.id}/merge", json={"into_id": str(b.id)})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "under_way"
    assert (body["merged_id"], body["into_id"]) == (str(a.id), str(b.id))
    client = api.app.state.temporal.client
    handle = client.get_workflow_handle(f"merge-account-{body['merge_id']}")
    assert (await handle.describe()).status is not None  # the merge is in Temporal, waiting
    await handle.terminate("test over")
    async with sessions() as db:
        assert (await db.scalar(text("SELECT count(*) FROM merges"))) == 0
