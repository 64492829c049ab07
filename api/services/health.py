"""Customer health of every account (or some): the inputs gathered in three grouped queries
over the health window, scored by api/services/health_score.py, most at risk first.

The window is the WINDOW_DAYS up to now; the volume trend compares it with the window
before. SLA attainment, reopen rate and CSAT are over the cases opened in the window (CSAT:
the answers given in it); open major cases are counted now.

Scores are kept for CACHE_SECONDS per API process (HealthCache): a score moves over weeks,
while its inputs cost a pass over the window's cases (a large account's thousands of rows on
every case page otherwise). A list says when it was computed (`until`)."""

import base64
import json
import time
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select, text

from api.errors import Problem
from api.services import health_score
from api.services.metrics import DONE, FLAG
from models.customers import Account
from workflows.vocabulary import ACTIVE

WINDOW_DAYS = 28
CACHE_SECONDS = 300
CACHE_SIZE = 10_000  # accounts kept; past it the cache starts over
OPEN = [str(s) for s in ACTIVE]
DECIDED = f"{FLAG.format('breached')} OR {FLAG.format('stopped')}"
MET = f"{FLAG.format('stopped')} AND NOT {FLAG.format('breached')}"
# {some}: every account (""), or only those in :ids (SOME), a condition written only when
# asked for, so a prepared statement's generic plan still uses the (account_id, created_at)
# index for one account; all of them read the windows through (created_at, id).
SOME = "AND c.account_id = ANY(CAST(:ids AS uuid[]))"
CASES = f"""
SELECT c.account_id,
  count(*) FILTER (WHERE c.created_at >= :since) AS cases_recent,
  count(*) FILTER (WHERE c.created_at < :since) AS cases_prior,
  coalesce(sum(d.decided) FILTER (WHERE c.created_at >= :since), 0)::int AS clocks_decided,
  coalesce(sum(d.met) FILTER (WHERE c.created_at >= :since), 0)::int AS clocks_met,
  count(*) FILTER (WHERE c.created_at >= :since AND c.state = ANY(:done)) AS cases_finished,
  count(*) FILTER (WHERE c.created_at >= :since AND c.state = ANY(:done)
                   AND c.reopen_count > 0) AS cases_reopened
FROM cases c CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE {DECIDED}) AS decided, count(*) FILTER (WHERE {MET}) AS met
  FROM jsonb_array_elements(c.sla) k) d
WHERE c.account_id IS NOT NULL AND c.created_at >= :prior AND c.created_at < :until {{some}}
GROUP BY c.account_id
"""
CSAT = """
SELECT c.account_id, avg(r.score)::float AS csat_average, count(*) AS csat_answers
FROM csat_responses r JOIN cases c ON c.id = r.case_id
WHERE r.created_at >= :since AND r.created_at < :until AND c.account_id IS NOT NULL {some}
GROUP BY c.account_id
"""
# A major case touches an account when one of the account's open cases is its child.
MAJOR = """
SELECT c.account_id, count(DISTINCT c.parent_case_id) AS open_major_cases
FROM cases c JOIN cases p ON p.id = c.parent_case_id
WHERE c.parent_case_id IS NOT NULL AND c.state = ANY(:open) AND p.state = ANY(:open)
  AND c.account_id IS NOT NULL {some}
GROUP BY c.account_id
"""


async def inputs(
    *, db, now: datetime, account_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, health_score.HealthInputs]:
    """Each account's HealthInputs (accounts without cases are left out: all defaults)."""
    since = now - timedelta(days=WINDOW_DAYS)
    params = {
        "since": since,
        "prior": since - timedelta(days=WINDOW_DAYS),
        "until": now,
        "done": DONE,
        "open": OPEN,
    }
    some = ""
    if account_ids is not None:
        some, params["ids"] = SOME, [str(i) for i in account_ids]
    found: dict[uuid.UUID, dict] = {}
    for sql in (CASES, CSAT, MAJOR):
        for row in (await db.execute(text(sql.format(some=some)), params)).mappings():
            found.setdefault(row["account_id"], {}).update(
                {k: v for k, v in row.items() if k != "account_id"}
            )
    return {a: health_score.HealthInputs(**values) for a, values in found.items()}


def item(account: Account, health: health_score.Health) -> dict:
    return {
        "account_id": account.id,
        "name": account.name,
        "parent_id": account.parent_id,
        "score": health.score,
        "band": health.band,
        "reasons": health.reasons,
        "factors": [asdict(f) for f in health.factors],
    }


def cursor_of(row: dict) -> str:
    raw = json.dumps([row["score"], row["name"], str(row["account_id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def key(row: dict) -> tuple:
    return (row["score"], row["name"], str(row["account_id"]))


def decode(value: str) -> tuple:
    try:
        score, name, account_id = json.loads(
            base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        )
        return (int(score), str(name), str(uuid.UUID(account_id)))
    except Exception as err:
        raise Problem(
            422, "the cursor is not valid", errors=[{"loc": ["query", "cursor"]}]
        ) from err


class HealthCache:
    """Scores computed within the last `seconds` (monotonic clock): each account's Health, and
    the whole sorted list with the time it was computed."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self.entries: dict[object, tuple[float, object]] = {}

    def get(self, key: object) -> object | None:
        hit = self.entries.get(key)
        return hit[1] if hit and time.monotonic() - hit[0] < self.seconds else None

    def put(self, key: object, value: object) -> None:
        if len(self.entries) >= CACHE_SIZE:
            self.entries.clear()
        self.entries[key] = (time.monotonic(), value)


def cache_of(app) -> HealthCache:
    """The API process's cache (made on first use; a new app starts with an empty one)."""
    if not hasattr(app.state, "health_cache"):
        app.state.health_cache = HealthCache()
    return app.state.health_cache


async def of_account(
    *, db, account_id: uuid.UUID, now: datetime, cache: HealthCache | None = None
) -> health_score.Health:
    """One account's health (the case page): its own rows only, through its indexes."""
    kept = cache and cache.get(account_id)
    if kept:
        return kept
    found = await inputs(db=db, now=now, account_ids=[account_id])
    health = health_score.score(found.get(account_id, health_score.HealthInputs()))
    if cache:
        cache.put(account_id, health)
    return health


async def ranked(*, db, now: datetime, cache: HealthCache | None) -> tuple[datetime, list[dict]]:
    """Every account's item, lowest score first (then by name), and when it was computed."""
    kept = cache and cache.get("all")
    if kept:
        return kept
    found = await inputs(db=db, now=now)
    rows = []
    live = select(Account).where(Account.merged_into_id.is_(None))  # a merged one left the lists
    for a in (await db.execute(live)).scalars():
        health = health_score.score(found.get(a.id, health_score.HealthInputs()))
        rows.append(item(a, health))
        if cache:
            cache.put(a.id, health)
    rows.sort(key=key)
    if cache:
        cache.put("all", (now, rows))
    return now, rows


async def accounts(
    *,
    db,
    now: datetime,
    limit: int = 50,
    cursor: str | None = None,
    cache: HealthCache | None = None,
) -> dict:
    """A page of accounts by health, lowest score first (then by name): the AccountHealthList
    over the window up to when it was computed."""
    now, rows = await ranked(db=db, now=now, cache=cache)
    if cursor:
        after = decode(cursor)
        rows = [r for r in rows if key(r) > after]
    page, more = rows[:limit], len(rows) > limit
    return {
        "since": now - timedelta(days=WINDOW_DAYS),
        "until": now,
        "items": page,
        "next_cursor": cursor_of(page[-1]) if more and page else None,
    }
