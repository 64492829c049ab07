"""The people's pages at scale (part of bench.reads): the console and a case page over HTTP,
with the EXPLAIN of every query they run and an A/B of the at-risk index.

- console:   GET /console (supervisor): queue counts, at risk, waiting line, agents, recent;
- console?q: GET /console?queue=Q (the same, filtered to one queue);
- case page: GET /console/cases/{id} (supervisor): the case, its timeline, notifications,
             the customer 360 (account health included) and the workflow panel;
- accounts:  GET /console/accounts (customer health of every account; no target, shown for
             what it costs);
- A/B: the console again with ix_cases_at_risk dropped (then built again), so the figure says
  what reading "breached first" in index order saves against sorting every case due soon.

The plans are compiled from the very statements the services run (api.services.console,
api.services.cases, api.services.health), with the index names each one uses.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bench.common import indexes_in, log, summary_ms

AT_RISK_INDEX = "ix_cases_at_risk"


def compiled(stmt, params: dict | None = None) -> tuple[str, dict]:
    """A SQLAlchemy statement (or text with `params`) as psycopg SQL and its parameters."""
    from sqlalchemy import text
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    if isinstance(stmt, str):  # the parameters it names (health's share one dict)
        stmt = text(stmt).bindparams(**{k: v for k, v in (params or {}).items() if f":{k}" in stmt})
    c = stmt.compile(dialect=PGDialect_psycopg(), compile_kwargs={"render_postcompile": True})
    return str(c), dict(c.params)


def statements(
    account_id: str, case_id: str, queue: str, now: datetime
) -> dict[str, tuple[str, dict]]:
    """Every query of the console and the case page that reads more than one row by key."""
    import uuid

    from sqlalchemy import true

    from api.pages.console import AT_RISK_SECONDS, PAGE, RECENT_CASES
    from api.services import console, customer360, health
    from api.services.cases import latest_query
    from models.cases import Case

    within = timedelta(seconds=AT_RISK_SECONDS)
    case = Case(id=uuid.UUID(case_id), account_id=uuid.UUID(account_id))  # what the page asks
    open_of, finished_of = customer360.other_cases_queries(case)
    since = now - timedelta(days=health.WINDOW_DAYS)
    health_params = {
        "since": since,
        "prior": since - timedelta(days=health.WINDOW_DAYS),
        "until": now,
        "done": health.DONE,
        "open": health.OPEN,
    }
    return {
        "console at risk": compiled(
            console.at_risk_query(visible=true(), now=now, within=within, limit=PAGE)
        ),
        "console at risk, one queue": compiled(
            console.at_risk_query(visible=true(), now=now, within=within, limit=PAGE, queue=queue)
        ),
        "console waiting": compiled(console.waiting_query(visible=true(), limit=PAGE)),
        "console queue counts": compiled(console.queue_counts_query(true())),
        "console agent loads": compiled(console.AGENT_LOADS),
        "console recent": compiled(latest_query(true(), RECENT_CASES)),
        "case page other open cases": compiled(open_of),
        "case page recent cases": compiled(finished_of),
        "case page health (one account)": compiled(
            health.CASES.format(some=health.SOME), health_params | {"ids": [account_id]}
        ),
        "accounts health (all)": compiled(health.CASES.format(some=""), health_params),
    }


async def timed(http, paths: list[str], warm: int = 10) -> dict:
    for path in paths[:warm]:  # pools, prepared statements, caches
        (await http.get(path)).raise_for_status()
    took = []
    for path in paths:
        began = time.perf_counter()
        res = await http.get(path)
        took.append(time.perf_counter() - began)
        res.raise_for_status()
    return summary_ms(took)


async def explain_all(stack, stmts: dict) -> dict[str, str]:
    out = {}
    for name, (sql, params) in stmts.items():
        rows = await stack.sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        out[name] = "\n".join(r[0] for r in rows)
    return out


async def measure(stack, samples: int, queues: tuple[str, ...]) -> dict:
    rng = random.Random(samples)
    picked = await stack.sql(
        "SELECT id::text, account_id::text FROM cases WHERE account_id IS NOT NULL "
        "ORDER BY random() LIMIT %s",
        (samples,),
    )
    now = datetime.now(UTC)
    paths = {
        "console": ["/console"] * samples,
        "console_queue": [f"/console?queue={rng.choice(queues)}" for _ in range(samples)],
        "case_page": [f"/console/cases/{case_id}" for case_id, _ in picked],
        "accounts": ["/console/accounts"] * max(10, samples // 10),
    }
    out: dict = {}
    async with stack.http("supervisor") as http:
        for kind, some in paths.items():
            out[f"{kind}_http"] = await timed(http, some)
            log(f"reads: {kind} p99 {out[f'{kind}_http']['p99_ms']} ms")
        stmts = statements(picked[0][1], picked[0][0], queues[0], now)
        plans = await explain_all(stack, stmts)
        # A/B: the same console without the at-risk index (then the index again).
        definition = await stack.scalar("SELECT pg_get_indexdef(%s::regclass)", (AT_RISK_INDEX,))
        await stack.sql(f"DROP INDEX {AT_RISK_INDEX}")
        try:
            out["console_without_at_risk_index_http"] = await timed(http, paths["console"])
            plans["console at risk, without ix_cases_at_risk"] = (
                await explain_all(stack, {"x": stmts["console at risk"]})
            )["x"]
        finally:
            await stack.sql(definition)
    out["at_risk_rows"] = await stack.scalar(
        "SELECT count(*) FROM cases WHERE state IN ('new','open','awaiting_info') "
        "AND next_due_at <= now() + interval '4 hours'"
    )
    out["breached_open"] = await stack.scalar(
        "SELECT count(*) FROM cases WHERE state IN ('new','open','awaiting_info') AND breached"
    )
    out["page_indexes"] = {k: indexes_in(v) for k, v in plans.items()}
    out["page_explain"] = plans
    return out
