"""identity: the customer lookup, the data-debt report and a merge, at 200k contacts.

- lookup:    `customer_for_email` (what intake and inbound mail run) for a known contact,
             a merged contact's address, a new sender of an owned domain, a consumer
- data-debt: the report's queries (orphans, duplicate groups) over every contact
- merge:     the merge step's one transaction for an account with 5,000 cases, 5,000
             assets and 500 contacts (the database work, not the signals)

Rows are synthetic, inserted with generate_series on an embedded PostgreSQL: 2 % of the
contacts repeat another's email in other case, 2 % another's name and phone in another
format, 30 % belong to no account.

    python -m bench.identity [--contacts N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from bench.common import log, summary_ms

ACCOUNTS = 2_000
SEED = """
INSERT INTO accounts (id, name, type, domains, created_at)
SELECT md5('a' || g)::uuid, 'Account ' || g, 'customer',
       jsonb_build_array('acct' || g || '.example'), now()
FROM generate_series(1, :accounts) g;

INSERT INTO contacts (id, name, email, phone, created_at)
SELECT md5('c' || g)::uuid,
       CASE WHEN g % 50 = 25 THEN 'person  ' || (g - 1) ELSE 'Person ' || g END,
       CASE WHEN g % 50 = 0 THEN 'P' || (g - 1) || '@ACCT' || ((g - 1) % :accounts) || '.example'
            ELSE 'p' || g || '@acct' || (g % :accounts) || '.example' END,
       CASE WHEN g % 50 = 25 THEN '00 44 (20) ' || lpad((g - 1)::text, 7, '0')
            ELSE '+44 20 ' || lpad(g::text, 7, '0') END,
       now() + g * interval '1 microsecond'
FROM generate_series(1, :contacts) g;

INSERT INTO account_contacts (contact_id, account_id, "primary")
SELECT md5('c' || g)::uuid, md5('a' || (g % :accounts + 1))::uuid, true
FROM generate_series(1, :contacts) g WHERE g % 10 >= 3;
"""
BIG_ACCOUNT = """
INSERT INTO products (id, name, sku, created_at) VALUES (md5('product')::uuid, 'P', 'P1', now());
INSERT INTO accounts (id, name, type, domains, created_at)
VALUES (md5('old')::uuid, 'Old', 'customer', '["old.example"]', now()),
       (md5('new')::uuid, 'New', 'customer', '["new.example"]', now());
INSERT INTO contacts (id, name, email, created_at)
SELECT md5('oc' || g)::uuid, 'Old ' || g, 'old' || g || '@old.example', now()
FROM generate_series(1, 500) g;
INSERT INTO account_contacts (contact_id, account_id, "primary")
SELECT md5('oc' || g)::uuid, md5('old')::uuid, true FROM generate_series(1, 500) g;
INSERT INTO assets (id, product_id, serial, account_id, created_at)
SELECT md5('as' || g)::uuid, md5('product')::uuid, 'S' || g, md5('old')::uuid, now()
FROM generate_series(1, 5000) g;
INSERT INTO cases (id, number, workflow_id, state, priority, channel, subject, account_id,
                   contact_id, category, required_skills, priority_explicit, sla, breached,
                   reopen_count, version, created_at, updated_at)
SELECT md5('case' || g)::uuid, 'CB' || g, 'case-CB' || g,
       CASE WHEN g % 5 = 0 THEN 'open' ELSE 'closed' END, 3, 'email', 'S',
       md5('old')::uuid, md5('oc' || (g % 500 + 1))::uuid, '{}', '[]', false, '[]', false,
       0, 1, now(), now()
FROM generate_series(1, 5000) g;
"""


async def timed(n: int, job) -> list[float]:
    took = []
    for i in range(n):
        t = time.perf_counter()
        await job(i)
        took.append(time.perf_counter() - t)
    return took


async def run(url: str, contacts: int) -> dict:
    from activities.identity import customer_for_email
    from activities.merge import merge
    from api.services.identity import data_debt
    from models.db import make_engine, make_session_factory
    from workflows.customer_merge import MergeInput

    engine = make_engine(url, pool_size=2)
    sessions = make_session_factory(engine)
    t = time.perf_counter()
    async with engine.begin() as conn:
        for statement in SEED.split(";\n"):
            if statement.strip():
                await conn.execute(text(statement), {"accounts": ACCOUNTS, "contacts": contacts})
        await conn.execute(text("ANALYZE"))
    log(f"seeded {contacts} contacts in {time.perf_counter() - t:.1f} s")

    async def lookup(address: str) -> None:
        async with sessions() as db, db.begin():
            await customer_for_email(db, address)

    result: dict = {"contacts": contacts}
    result["lookup_known"] = summary_ms(
        await timed(300, lambda i: lookup(f"p{i * 7 + 2}@acct{(i * 7 + 2) % ACCOUNTS}.example"))
    )
    result["lookup_new_of_owned_domain"] = summary_ms(
        await timed(300, lambda i: lookup(f"new{i}@acct{i + 1}.example"))
    )
    result["lookup_consumer"] = summary_ms(
        await timed(300, lambda i: lookup(f"someone{i}@elsewhere.test"))
    )
    took = []
    for _ in range(5):
        async with sessions() as db:
            t = time.perf_counter()
            report = await data_debt(db=db)
            took.append(time.perf_counter() - t)
    result["data_debt"] = summary_ms(took)
    result["data_debt_counts"] = {
        "contacts_without_account": report.contacts_without_account,
        "duplicate_contact_groups": len(report.duplicate_contact_groups),
    }
    async with engine.begin() as conn:
        for statement in BIG_ACCOUNT.split(";\n"):
            if statement.strip():
                await conn.execute(text(statement))
        old = (await conn.execute(text("SELECT md5('old')::uuid"))).scalar()
        new = (await conn.execute(text("SELECT md5('new')::uuid"))).scalar()
    arg = MergeInput(str(uuid.uuid4()), "account", str(old), str(new))
    t = time.perf_counter()
    async with sessions() as db, db.begin():
        done = await merge(db, arg)
    result["merge_account_5000_cases_s"] = round(time.perf_counter() - t, 3)
    result["merge_moved"] = done.moved
    result["merge_running_cases"] = len(done.workflow_ids)
    await engine.dispose()
    return result


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """An embedded PostgreSQL in a temporary directory (gone afterwards); yields its URI."""
    from casework.devstack import start_postgres

    root = Path(tempfile.mkdtemp(prefix="casework-bench-identity-"))
    root.chmod(0o755)  # initdb runs as an unprivileged user that must reach it
    server = start_postgres(root / "data")
    try:
        yield server.uri
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    contacts = parser.parse_args().contacts
    from casework.devstack import create_database
    from models.migrate import upgrade

    with scratch_postgres() as uri:
        url = create_database(uri, "casework_bench_identity")
        upgrade(url)
        print(json.dumps(asyncio.run(run(url, contacts)), indent=2))


if __name__ == "__main__":
    main()
