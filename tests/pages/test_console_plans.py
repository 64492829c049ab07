"""The console's two list queries (at risk, the waiting line) read through indexes, not by
scanning the cases table (at risk in its index's order, with no sort): EXPLAIN on ~20k
generated case rows after VACUUM ANALYZE, planner as is."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, true
from sqlalchemy.dialects import postgresql

from api.services import console
from api.services.cases import latest_query

ROWS = 20_000
# Most cases closed (as in a long-lived system); 1 in 8 active; a few waiting; due times
# spread over ±10 days, so "due within 4 h" is a small slice.
GENERATE = text(
    """
INSERT INTO cases (id, number, workflow_id, state, priority, channel, subject, category,
  required_skills, priority_explicit, queue, waiting_since, sla, next_due_at, breached,
  reopen_count, version, created_at, updated_at)
SELECT gen_random_uuid(), 'CX' || lpad(i::text, 7, '0'), 'case-x-' || i,
  CASE WHEN i % 8 = 0 THEN 'open' ELSE 'closed' END,
  1 + i % 4, 'email', 'generated', '{}', '[]', false,
  (ARRAY['network', 'mail', 'hardware', 'billing'])[1 + i % 4],
  CASE WHEN i % 97 = 0 THEN now() END,
  '[]',
  now() + ((i % 480) - 240) * interval '1 hour',
  i % 53 = 0,
  0, 0, now() - (i % 1000) * interval '1 hour', now()
FROM generate_series(1, :rows) AS i
"""
)


@pytest.fixture
async def many(sessions):
    async with sessions() as db, db.begin():
        await db.execute(GENERATE, {"rows": ROWS})
    async with sessions() as db:
        # VACUUM too, as autovacuum would have: index-only scans need the visibility map.
        conn = await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await conn.execute(text("VACUUM ANALYZE cases"))
    return sessions


async def plan(sessions, query) -> str:
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with sessions() as db:
        rows = (await db.execute(text(f"EXPLAIN {sql}"))).scalars().all()
    return "\n".join(rows)


@pytest.mark.parametrize("options", [{}, {"queue": "network"}, {"priority": 1}])
async def test_the_at_risk_and_waiting_queries_use_indexes(many, options):
    now = datetime.now(UTC)
    at_risk = console.at_risk_query(
        visible=true(), now=now, within=timedelta(hours=4), limit=25, **options
    )
    shown = await plan(many, at_risk)
    # Read in the index's order (breached first, then due): no sort of every case due soon.
    assert "Seq Scan" not in shown and "Sort" not in shown, shown
    assert "ix_cases_at_risk" in shown, shown
    waiting = console.waiting_query(visible=true(), limit=25, **options)
    shown = await plan(many, waiting)
    assert "Seq Scan" not in shown and "ix_cases_waiting" in shown, shown


async def test_recent_cases_and_queue_counts_read_their_indexes(many):
    shown = await plan(many, latest_query(true(), 25))
    assert "Seq Scan" not in shown and "ix_cases_created" in shown, shown
    shown = await plan(many, console.queue_counts_query(true()))
    assert "Seq Scan" not in shown and "ix_cases_open_counts" in shown, shown
