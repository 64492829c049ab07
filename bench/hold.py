"""hold: many open cases with armed SLA timers: memory, database size, a random action.

Opens cases (concurrency 50) until 10,000 are open or until its time budget is spent,
sampling as it goes (and run_all samples after every bench): worker, Temporal server and API
RSS (VmRSS from /proc), the PostgreSQL database size and the Temporal SQLite files, against
the number of open cases (each one a running workflow; "armed" = with a running, unbreached
SLA clock, i.e. a pending durable timer). Then, with the stack idle, the latency of note
actions on random open cases (most no longer in the worker's workflow cache: they replay).

When fewer than 10,000 fit in the budget, each figure is also extrapolated to 10,000 by a
least-squares line over the samples, and labelled so. The worker is different: it grows by
a cached workflow per case up to its cache size (CASEWORK_WORKER_CACHE), then little; its
figure is fitted only over samples past the cache size spanning 1,000 cases or more, else
the measured value is given as a lower bound.

    python -m bench.hold [--quick]
"""

from __future__ import annotations

import os
import random
import time

from bench.cases import drain, open_cases
from bench.common import group_rss_mb, hwm_mb, log, r, rss_mb, run_module, summary_ms, target
from casework.settings import Settings

OPEN = "state IN ('new', 'open', 'awaiting_info') AND number NOT LIKE 'SY%%'"
COUNT_SQL = f"SELECT count(*), count(*) FILTER (WHERE NOT breached AND next_due_at IS NOT NULL) FROM cases WHERE {OPEN}"  # noqa: E501
WORKER_CACHE = Settings.model_fields["worker_cache"].default  # CASEWORK_WORKER_CACHE
GOAL = 10_000


def sqlite_mb(stack) -> float:
    base = stack.home / "temporal.db"
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = base.with_name(base.name + suffix)
        if path.exists():
            total += os.path.getsize(path)
    return round(total / 2**20, 1)


async def census(stack, label: str) -> dict:
    """One sample of memory and sizes against the open cases; kept on the stack."""
    open_cases_n, armed = (await stack.sql(COUNT_SQL))[0]
    s = {
        "after": label,
        "open": open_cases_n,
        "open_armed": armed,
        "worker_rss_mb": rss_mb(stack.pids["worker"]),
        "server_rss_mb": group_rss_mb(stack.pids["temporal"]),
        "api_rss_mb": rss_mb(stack.pids["api"]),
        "pg_db_mb": round(
            (await stack.scalar("SELECT pg_database_size(current_database())")) / 2**20, 1
        ),
        "temporal_db_mb": sqlite_mb(stack),
    }
    stack.samples.append(s)
    return s


def fit(samples: list[dict], key: str, min_open: int = 0) -> tuple[float, float] | None:
    """Least-squares (intercept, slope) of `key` against open cases."""
    pts = [(s["open"], s[key]) for s in samples if s.get(key) is not None and s["open"] >= min_open]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    k = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    return my - k * mx, k


async def random_actions(stack, n: int) -> tuple[list[float], list[str]]:
    rows = await stack.sql(f"SELECT id::text FROM cases WHERE {OPEN}")
    ids = [row[0] for row in rows]
    rng = random.Random(GOAL)
    took: list[float] = []
    errors: list[str] = []
    async with stack.http("agent") as http:
        for i in range(n):
            case_id = rng.choice(ids)
            began = time.perf_counter()
            res = await http.post(
                f"/api/v1/cases/{case_id}/actions/note", json={"body": f"Hold check {i}"}
            )
            if res.status_code != 200:
                errors.append(f"{res.status_code} {res.text[:200]}")
                continue
            took.append(time.perf_counter() - began)
    return took, errors


async def run(stack, *, quick: bool, budget_s: float | None = None) -> dict:
    goal = 1000 if quick else GOAL
    budget = budget_s if budget_s is not None else (45.0 if quick else 300.0)
    deadline = time.monotonic() + budget
    rate = stack.stats.get("intake_per_s") or 8.0
    first = await census(stack, "hold start")
    opened_here = 0
    log(f"hold: {first['open']:,} open cases; opening up to {goal:,} within {budget:.0f}s")
    now_open = first["open"]
    while now_open < goal:
        left = deadline - time.monotonic()
        batch = int(min(goal - now_open, 500, rate * left * 0.85))
        if batch < 50:
            break
        began = time.monotonic()
        opened = await open_cases(
            stack, batch, concurrency=50, subject="Hold case", timeout=max(60.0, 3 * batch / rate)
        )
        opened_here += len(opened.ids)
        if opened.t_done:
            rate = len(opened.done) / max(opened.t_done - opened.t_start, 0.1)
        s = await census(stack, "hold batch")
        now_open = s["open"]
        log(
            f"hold: {now_open:,} open ({batch} in {time.monotonic() - began:.0f}s); "
            f"worker {s['worker_rss_mb']} MB, server {s['server_rss_mb']} MB"
        )
        stack.check_alive()
    await drain(stack)
    held = await census(stack, "hold idle")
    worker_peak = hwm_mb(stack.pids["worker"])
    n_actions = 50 if quick else 200
    log(f"hold: {n_actions} note actions on random open cases, one at a time")
    took, errors = await random_actions(stack, n_actions)
    after = await census(stack, "hold after actions")
    act = summary_ms(took)
    result = {
        "open_cases": held["open"],
        "open_armed": held["open_armed"],
        "opened_here": opened_here,
        "goal": goal,
        "reached_goal": held["open"] >= goal,
        "worker_rss_mb": held["worker_rss_mb"],
        "worker_rss_after_actions_mb": after["worker_rss_mb"],
        "worker_peak_rss_mb": worker_peak,
        "worker_cache_max": WORKER_CACHE,
        "server_rss_mb": held["server_rss_mb"],
        "api_rss_mb": held["api_rss_mb"],
        "pg_db_mb": held["pg_db_mb"],
        "temporal_db_mb": held["temporal_db_mb"],
        "action_p50_ms": act["p50_ms"],
        "action_p99_ms": act["p99_ms"],
        "action_max_ms": act["max_ms"],
        "action_errors": len(errors),
        "first_error": errors[0] if errors else None,
        "samples": list(stack.samples),
    }
    worker_at_goal = max(held["worker_rss_mb"] or 0, after["worker_rss_mb"] or 0)
    if held["open"] < goal:
        est: dict = {}
        for key in ("worker_rss_mb", "server_rss_mb", "pg_db_mb", "temporal_db_mb"):
            if key == "worker_rss_mb" and goal > WORKER_CACHE:
                # Up to the cache size the worker grows by a cached workflow per case; past it,
                # only by what eviction leaves behind. Fit only that part, over a real span.
                full = [s for s in stack.samples if s["open"] >= WORKER_CACHE]
                span = max((s["open"] for s in full), default=0) - min(
                    (s["open"] for s in full), default=0
                )
                line = fit(full, key) if span >= 1000 else None
                if line is None:
                    est["worker_basis"] = (
                        f"lower bound: measured with the workflow cache full ({WORKER_CACHE:,}); "
                        f"too short a span past it ({span:,} cases) to fit the growth beyond"
                    )
                    est[key] = max(held[key] or 0, after[key] or 0)
                    continue
                est["worker_basis"] = "least squares over the samples with the cache full"
            else:
                line = fit(stack.samples, key)
            if line:
                at_goal = line[0] + line[1] * goal
                measured = max(held[key] or 0, after[key] or 0)
                est[key] = r(max(at_goal, measured), 1, 1)
                est[f"{key}_per_1000_cases"] = r(line[1] * 1000, 1, 1)
        result["extrapolated_to_goal"] = est
        result["extrapolation_note"] = (
            f"measured at {held['open']:,} open cases; the figures at {goal:,} are "
            "least-squares extrapolations over the samples"
        )
        worker_at_goal = est.get("worker_rss_mb", worker_at_goal)
    result["targets"] = {
        "worker_rss_mb": target(worker_at_goal, "<=", 500.0, f"<= 500 MB at {goal:,} open"),
    }
    return result


def table(res: dict) -> list[tuple]:
    ext = res.get("extrapolated_to_goal") or {}
    label = f"at {res['open_cases']:,} open"
    goal = f"at {res['goal']:,}" + (" (extrapolated)" if ext else "")
    t = res["targets"]["worker_rss_mb"]
    return [
        (
            "open cases (with armed SLA timer)",
            f"{res['open_cases']:,} ({res['open_armed']:,})",
            "",
            "",
            f"goal {res['goal']:,}",
            res["reached_goal"],
        ),
        (
            f"worker RSS MB {label}, peak",
            f"{res['worker_rss_mb']}, {res['worker_peak_rss_mb']}",
            "",
            "",
            "",
            "",
        ),
        (
            f"worker RSS MB at {res['goal']:,} (lower bound)"
            if ext.get("worker_basis", "").startswith("lower")
            else f"worker RSS MB {goal}",
            ext.get("worker_rss_mb", res["worker_rss_after_actions_mb"]),
            "",
            "",
            t["target"],
            t["met"],
        ),
        (f"server RSS MB {label}", res["server_rss_mb"], "", "", "", ""),
        (f"server RSS MB {goal}", ext.get("server_rss_mb", res["server_rss_mb"]), "", "", "", ""),
        (
            f"PostgreSQL / Temporal SQLite MB {label}",
            f"{res['pg_db_mb']} / {res['temporal_db_mb']}",
            "",
            "",
            "",
            "",
        ),
        (
            f"PostgreSQL / Temporal SQLite MB {goal}",
            f"{ext.get('pg_db_mb', res['pg_db_mb'])} / "
            f"{ext.get('temporal_db_mb', res['temporal_db_mb'])}",
            "",
            "",
            "",
            "",
        ),
        (
            "note on a random case p50 / p99 ms",
            f"{res['action_p50_ms']} / {res['action_p99_ms']}",
            "",
            "",
            "",
            "",
        ),
    ]


if __name__ == "__main__":
    run_module("hold", run, table)
