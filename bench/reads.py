"""reads: the case view and the queue lists over HTTP at 10k and 1M case rows.

- view:     GET /cases/{id}
- list:     GET /cases?state=open&queue=Q (the list endpoint; keyset order created_at, id)
- due list: GET /sla/at-risk?queue=Q&within_seconds=1y (open cases of a queue by due time)
- pages:    the console, a case page and customer health (bench/pages.py), with the plans of
            every query they run and an A/B of the at-risk index

Baseline, same run: the same SQL (the bearer-token lookup, then the endpoint's query,
compiled from the same SQLAlchemy statements) run directly with psycopg, one request at a
time like the HTTP calls. Rows beyond the real cases are synthetic, inserted in SQL with
generate_series (never through workflows): 80 % closed, 10 % open, 3 % awaiting info, ...,
in ten queues, over a year of created_at; an active case is due from a day ago (overdue, so
breached) to nine days ahead. EXPLAIN (ANALYZE, BUFFERS) of each query at each
size is printed and its index names are kept in the result.

    python -m bench.reads [--quick]
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bench import pages
from bench.common import indexes_in, log, ratio, run_module, summary_ms, target

QUEUES = (
    "support",
    "billing",
    "hardware",
    "networking",
    "returns",
    "field",
    "onboarding",
    "vip",
    "partners",
    "escalations",
)
YEAR = 366 * 24 * 3600
PAGE_SAMPLES = {False: 60, True: 200}  # requests per page (quick, full): a page costs more
PAGE_TARGET_MS = 150.0
PAGE_KINDS = ("console", "console_queue", "console_without_at_risk_index", "case_page", "accounts")
BATCH = 250_000

INSERT_SQL = """
INSERT INTO cases (
  id, created_at, updated_at, number, workflow_id, state, priority, channel, subject,
  description, requester_email, requester_name, account_id, contact_id, category,
  required_skills, priority_explicit, assigned_agent_id, queue, sla, next_due_at, breached,
  reopen_count, version, resolved_at, closed_at)
SELECT gen_random_uuid(), s.created, s.created + interval '1 hour',
  'SY' || lpad(s.g::text, 10, '0'), 'synthetic-' || s.g, s.state, 1 + (s.g %% 4),
  (ARRAY['email','phone','chat','portal','api'])[1 + s.g %% 5],
  'Synthetic case ' || s.g || ': router drops Wi-Fi',
  'Since the firmware update the router drops Wi-Fi every few minutes.',
  NULL, 'Synthetic requester ' || (s.g %% 997), s.account_id, s.contact_id, '{}'::jsonb,
  '[]'::jsonb, false,
  CASE WHEN s.state IN ('new','open','awaiting_info') THEN NULL ELSE s.agent_id END,
  (%(queues)s::text[])[1 + (s.g * 7919) %% %(nqueues)s],
  %(sla)s::jsonb, s.due, coalesce(s.due < now(), false), 0, 3,
  CASE WHEN s.state IN ('resolved','closed') THEN s.created + interval '2 days' END,
  CASE WHEN s.state = 'closed' THEN s.created + interval '9 days' END
FROM (
  SELECT g, now() - random() * interval '365 days' AS created,
    CASE WHEN r < 0.80 THEN 'closed' WHEN r < 0.83 THEN 'resolved'
         WHEN r < 0.85 THEN 'cancelled' WHEN r < 0.95 THEN 'open'
         WHEN r < 0.98 THEN 'awaiting_info' ELSE 'new' END AS state,
    (%(accounts)s::uuid[])[1 + g %% %(naccounts)s] AS account_id,
    (%(contacts)s::uuid[])[1 + g %% %(ncontacts)s] AS contact_id,
    (%(agents)s::uuid[])[1 + g %% %(nagents)s] AS agent_id,
    -- An active case's next deadline: a day ago (overdue: breached) to 9 days ahead.
    CASE WHEN r >= 0.85 THEN now() + (random() * 10 - 1) * interval '1 day' END AS due
  FROM (SELECT g, random() AS r FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g) x
) s
"""


async def top_up(stack, size: int) -> int:
    """Add synthetic cases until the table holds `size` rows; returns the row count."""
    have = await stack.scalar("SELECT count(*) FROM cases")
    if have >= size:
        return have
    start = await stack.scalar(
        "SELECT coalesce(max(substr(number, 3)::bigint), 0) FROM cases WHERE number LIKE 'SY%%'"
    )
    sla = await stack.scalar("SELECT sla::text FROM cases WHERE sla <> '[]'::jsonb LIMIT 1")
    contacts_of = await stack.sql(
        "SELECT contact_id::text, account_id::text FROM account_contacts ORDER BY 1"
    )
    params = {
        "queues": list(QUEUES),
        "nqueues": len(QUEUES),
        "sla": sla or "[]",
        "contacts": [c for c, _ in contacts_of],
        "accounts": [a for _, a in contacts_of],
        "ncontacts": len(contacts_of),
        "naccounts": len(contacts_of),
        "agents": stack.agents,
        "nagents": len(stack.agents),
    }
    began = time.monotonic()
    todo, lo = size - have, start + 1
    # Foreign keys point at rows this bench just read: skip their per-row trigger checks.
    await stack.sql("SET session_replication_role = replica")
    try:
        while todo > 0:
            k = min(BATCH, todo)
            await stack.sql(INSERT_SQL, params | {"lo": lo, "hi": lo + k - 1})
            lo, todo = lo + k, todo - k
            log(f"reads: {size - todo:,} / {size:,} rows")
    finally:
        await stack.sql("SET session_replication_role = DEFAULT")
    await stack.sql("VACUUM ANALYZE cases")
    log(f"reads: {size - have:,} synthetic rows in {time.monotonic() - began:.0f}s (+ vacuum)")
    return await stack.scalar("SELECT count(*) FROM cases")


class Queries:
    """The endpoints' statements, compiled once for psycopg (same SQL as the API runs)."""

    def __init__(self, token: str) -> None:
        from sqlalchemy import select, true
        from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

        from api.pagination import page
        from models.auth import ApiToken, hash_token
        from models.cases import Case
        from workflows.vocabulary import ACTIVE

        self.dialect = PGDialect_psycopg()
        self.token = select(ApiToken).where(ApiToken.token_hash == hash_token(token))
        self.Case, self.select, self.true, self.page = Case, select, true, page
        self.open_states = ACTIVE

    def compile(self, stmt) -> tuple[str, dict]:
        c = stmt.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        return str(c), dict(c.params)

    def view(self, case_id: str):
        import uuid

        Case = self.Case
        return self.compile(self.select(Case).where(Case.id == uuid.UUID(case_id), self.true()))

    def listing(self, queue: str):
        Case = self.Case
        q = self.select(Case).where(self.true())
        q = q.where(Case.state == "open").where(Case.queue == queue)
        return self.compile(self.page(q, Case, 50, None))

    def due(self, queue: str, now: datetime):
        Case = self.Case
        q = self.select(Case).where(
            Case.state.in_(self.open_states),
            Case.next_due_at.is_not(None),
            Case.next_due_at <= now + timedelta(seconds=YEAR),
        )
        q = q.where(Case.queue == queue).order_by(Case.next_due_at, Case.id).limit(50)
        return self.compile(q)

    def auth(self):
        return self.compile(self.token)


async def explain(stack, sql: str, params: dict) -> str:
    rows = await stack.sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    return "\n".join(r[0] for r in rows)


async def measure(stack, rows: int, samples: int) -> dict:
    rng = random.Random(rows)
    ids = [
        r[0]
        for r in await stack.sql(
            "SELECT id::text FROM cases ORDER BY random() LIMIT %s", (samples,)
        )
    ]
    queues = [rng.choice(QUEUES) for _ in range(samples)]
    token = stack.tokens["supervisor"]
    q = Queries(token)
    now = datetime.now(UTC)
    http_paths = {
        "view": [f"/api/v1/cases/{i}" for i in ids],
        "list": [f"/api/v1/cases?state=open&queue={x}&limit=50" for x in queues],
        "due": [f"/api/v1/sla/at-risk?queue={x}&within_seconds={YEAR}&limit=50" for x in queues],
    }
    sql = {
        "view": [q.view(i) for i in ids],
        "list": [q.listing(x) for x in queues],
        "due": [q.due(x, now) for x in queues],
    }
    auth_sql = q.auth()
    out: dict = {"rows": rows}
    async with stack.http("supervisor") as http:
        for kind in ("view", "list", "due"):
            for path in http_paths[kind][:20]:  # warm: pools, prepared statements, caches
                (await http.get(path)).raise_for_status()
            took = []
            for path in http_paths[kind]:
                began = time.perf_counter()
                res = await http.get(path)
                took.append(time.perf_counter() - began)
                res.raise_for_status()
            out[f"{kind}_http"] = summary_ms(took)
    for kind in ("view", "list", "due"):
        for stmt, params in sql[kind][:20]:
            await stack.sql(auth_sql[0], auth_sql[1])
            await stack.sql(stmt, params)
        took = []
        for stmt, params in sql[kind]:
            began = time.perf_counter()
            await stack.sql(auth_sql[0], auth_sql[1])
            await stack.sql(stmt, params)
            took.append(time.perf_counter() - began)
        out[f"{kind}_sql"] = summary_ms(took)
    plans = {
        "view": await explain(stack, *sql["view"][0]),
        "list": await explain(stack, *q.listing("billing")),
        "due": await explain(stack, *q.due("billing", now)),
    }
    open_in_queue = await stack.scalar(
        "SELECT count(*) FROM cases WHERE state = 'open' AND queue = 'billing'"
    )
    out["open_in_billing_queue"] = open_in_queue
    out["indexes"] = {k: indexes_in(v) for k, v in plans.items()}
    out["explain"] = plans
    for kind in ("view", "list", "due"):
        out[f"{kind}_ratio_to_sql"] = ratio(
            out[f"{kind}_http"]["p99_ms"], out[f"{kind}_sql"]["p99_ms"]
        )
    out.update(await pages.measure(stack, PAGE_SAMPLES[samples > 100], QUEUES))
    return out


async def run(stack, *, quick: bool) -> dict:
    sizes = (2_000, 50_000) if quick else (10_000, 1_000_000)
    samples = 100 if quick else 300
    result: dict = {"sizes": {}}
    for size in sizes:
        rows = await top_up(stack, size)
        log(f"reads: measuring at {rows:,} case rows ({samples} requests per query)")
        m = await measure(stack, rows, samples)
        label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"
        result["sizes"][label] = m
        for kind, plan in (m["explain"] | m["page_explain"]).items():
            print(f"\n-- EXPLAIN ANALYZE {kind} at {rows:,} rows\n{plan}", flush=True)
    big = result["sizes"][list(result["sizes"])[-1]]
    result.update(
        rows=big["rows"],
        view_p50_ms=big["view_http"]["p50_ms"],
        view_p99_ms=big["view_http"]["p99_ms"],
        view_sql_p99_ms=big["view_sql"]["p99_ms"],
        list_p50_ms=big["list_http"]["p50_ms"],
        list_p99_ms=big["list_http"]["p99_ms"],
        list_sql_p99_ms=big["list_sql"]["p99_ms"],
        due_list_p50_ms=big["due_http"]["p50_ms"],
        due_list_p99_ms=big["due_http"]["p99_ms"],
        due_list_sql_p99_ms=big["due_sql"]["p99_ms"],
        ratio_to_bare={k: big[f"{k}_ratio_to_sql"] for k in ("view", "list", "due")},
        **{f"{k}_{p}": big[f"{k}_http"][p] for k in PAGE_KINDS for p in ("p50_ms", "p99_ms")},
        targets={
            "view_p99_ms": target(big["view_http"]["p99_ms"], "<=", 10.0, "<= 10 ms at 1M"),
            "list_p99_ms": target(big["list_http"]["p99_ms"], "<=", 10.0, "<= 10 ms at 1M"),
            "due_list_p99_ms": target(big["due_http"]["p99_ms"], "<=", 10.0, "<= 10 ms at 1M"),
            "console_p99_ms": target(
                big["console_http"]["p99_ms"], "<=", PAGE_TARGET_MS, "<= 150 ms at 1M"
            ),
            "case_page_p99_ms": target(
                big["case_page_http"]["p99_ms"], "<=", PAGE_TARGET_MS, "<= 150 ms at 1M"
            ),
        },
    )
    return result


def table(res: dict) -> list[tuple]:
    rows = []
    last = list(res["sizes"])[-1]
    names = {"view": "case view", "list": "list state=open&queue", "due": "queue by due time"}
    tkey = {"view": "view_p99_ms", "list": "list_p99_ms", "due": "due_list_p99_ms"}
    for label, m in res["sizes"].items():
        for kind in ("view", "list", "due"):
            h, s = m[f"{kind}_http"], m[f"{kind}_sql"]
            t = res["targets"][tkey[kind]] if label == last else {"target": "", "met": ""}
            rows.append(
                (
                    f"{names[kind]} @{label} p50 ms",
                    h["p50_ms"],
                    s["p50_ms"],
                    ratio(h["p50_ms"], s["p50_ms"]),
                    "",
                    "",
                )
            )
            rows.append(
                (
                    f"{names[kind]} @{label} p99 ms",
                    h["p99_ms"],
                    s["p99_ms"],
                    m[f"{kind}_ratio_to_sql"],
                    t["target"],
                    t["met"],
                )
            )
        idx = "; ".join(f"{k}: {','.join(v) or 'seq scan'}" for k, v in m["indexes"].items())
        rows.append((f"indexes @{label} ({m['rows']:,} rows)", idx, "", "", "", ""))
        rows += page_rows(res, label, m, label == last)
    return rows


def page_rows(res: dict, label: str, m: dict, last: bool) -> list[tuple]:
    """The pages' figures: console (and its A/B without the at-risk index), case page."""
    no = {"target": "", "met": ""}
    t = {k: res["targets"][k] if last else no for k in ("console_p99_ms", "case_page_p99_ms")}
    ab = m["console_without_at_risk_index_http"]
    rows = [
        (f"console @{label} p50 / p99 ms", fmt_pair(m["console_http"]), "", "", "", ""),
        (
            f"console @{label} p99 ms",
            m["console_http"]["p99_ms"],
            ab["p99_ms"],
            ratio(m["console_http"]["p99_ms"], ab["p99_ms"]),
            t["console_p99_ms"]["target"],
            t["console_p99_ms"]["met"],
        ),
        (f"console?queue @{label} p50 / p99 ms", fmt_pair(m["console_queue_http"]), "", "", "", ""),
        (
            f"case page @{label} p99 ms",
            m["case_page_http"]["p99_ms"],
            "",
            "",
            t["case_page_p99_ms"]["target"],
            t["case_page_p99_ms"]["met"],
        ),
        (f"case page @{label} p50 ms", m["case_page_http"]["p50_ms"], "", "", "", ""),
        (f"accounts (health) @{label} p50 / p99 ms", fmt_pair(m["accounts_http"]), "", "", "", ""),
    ]
    idx = "; ".join(f"{k}: {','.join(v) or 'seq scan'}" for k, v in m["page_indexes"].items())
    rows.append((f"page indexes @{label}", idx, "", "", "", ""))
    return rows


def fmt_pair(h: dict) -> str:
    return f"{h['p50_ms']} / {h['p99_ms']}"


if __name__ == "__main__":
    run_module("reads", run, table)
