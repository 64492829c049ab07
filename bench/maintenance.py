"""maintenance: one run of a maintenance plan over 1,000 assets on the stack (a Temporal
Schedule triggered; 200 assets a page; the cases opened in bulk, each with its work
order): seconds until the run records its counts, cases/s, and a second run over the same due
dates (opens nothing). Baseline, same run: the same number of bare workflows (start + one
no-op activity + complete) at concurrency 50.

    python -m bench.maintenance [--quick]
"""

from __future__ import annotations

import time
import uuid

from bench.common import log, r, ratio, run_module, wait_until
from bench.intake import bare_run

FULL_ASSETS = 1000


async def install_base(stack, n: int) -> str:
    """A product and n assets of it spread over the bench's accounts (straight into SQL)."""
    product_id = str(uuid.uuid4())
    await stack.sql(
        "INSERT INTO products (id, name, sku, created_at) VALUES (%s, 'Boiler', %s, now())",
        (product_id, f"B-{product_id[:8]}"),
    )
    rows = [
        (str(uuid.uuid4()), product_id, f"B-{i}", stack.accounts[i % len(stack.accounts)])
        for i in range(n)
    ]
    async with stack.db.cursor() as cur:
        await cur.executemany(
            "INSERT INTO assets (id, product_id, serial, account_id, created_at)"
            " VALUES (%s, %s, %s, %s, now())",
            rows,
        )
    return product_id


async def one_run(stack, http, plan_id: str, runs_before: int, timeout: float) -> dict:
    """Trigger the plan; wait for its run's record; what it found and opened, how fast."""
    count = "SELECT count(*) FROM scheduled_runs WHERE plan_id = %s"
    t0 = time.time()
    r_ = await http.post(f"/api/v1/maintenance-plans/{plan_id}/trigger")
    r_.raise_for_status()

    async def recorded() -> bool:
        return (await stack.scalar(count, (plan_id,))) > runs_before

    done = await wait_until(recorded, timeout=timeout, interval=0.2)
    seconds = time.time() - t0
    plan = (await http.get(f"/api/v1/maintenance-plans/{plan_id}")).json()
    last = plan["last_run"] or {}
    return {"done": done, "seconds": r(seconds), **last}


async def run(stack, *, quick: bool) -> dict:
    n = 100 if quick else FULL_ASSETS
    product_id = await install_base(stack, n)
    async with stack.http() as http:
        body = {"name": "Boiler service", "product_id": product_id, "every_days": 180}
        body |= {"lead_days": 14, "skills": ["gas"], "parts": ["filter kit"]}
        created = await http.post("/api/v1/maintenance-plans", json=body)
        created.raise_for_status()
        plan_id = created.json()["id"]
        log(f"maintenance: plan over {n} assets, first run")
        first = await one_run(stack, http, plan_id, 0, timeout=max(120.0, n / 2))
        log("maintenance: second run (the same due dates)")
        second = await one_run(stack, http, plan_id, 1, timeout=max(60.0, n / 5))
    cases = await stack.scalar(
        "SELECT count(*) FROM cases c JOIN assets a ON a.id = c.asset_id WHERE a.product_id = %s",
        (product_id,),
    )
    work_orders = await stack.scalar(
        "SELECT count(*) FROM work_orders w JOIN assets a ON a.id = w.asset_id"
        " WHERE a.product_id = %s",
        (product_id,),
    )
    log(f"maintenance: {n} bare workflows (baseline)")
    bare = await bare_run(stack, n)
    bare_per_s = bare["completed"] / bare["seconds"] if bare["seconds"] else None
    cases_per_s = n / first["seconds"] if first["seconds"] else None
    return {
        "assets": n,
        "first_run": first,
        "second_run": second,
        "cases": cases,
        "work_orders": work_orders,
        "cases_per_s": r(cases_per_s),
        "bare_per_s": r(bare_per_s),
        "ratio_to_bare": ratio(cases_per_s, bare_per_s),
    }


def table(res: dict) -> list[tuple]:
    first, second = res["first_run"], res["second_run"]
    return [
        (
            "assets due / cases opened, first run",
            f"{first.get('assets_due')} / {first.get('cases_opened')}",
            "",
            "",
            f"{res['assets']} / {res['assets']}",
            "",
        ),
        ("first run, s (trigger to its record)", first["seconds"], "", "", "", ""),
        (
            "cases/s (with their work orders)",
            res["cases_per_s"],
            res["bare_per_s"],
            res["ratio_to_bare"],
            "",
            "",
        ),
        (
            "second run: due / opened; s",
            f"{second.get('assets_due')} / {second.get('cases_opened')}; {second['seconds']}",
            "",
            "",
            f"{res['assets']} / 0",
            "",
        ),
        (
            "cases, work orders in the database",
            f"{res['cases']}, {res['work_orders']}",
            "",
            "",
            f"{res['assets']}, {res['assets']}",
            "",
        ),
    ]


if __name__ == "__main__":
    run_module("maintenance", run, table)
