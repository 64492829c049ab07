"""proactive: a monitoring event over 1,000 and 10,000 customers, until every child case is
opened and every customer notified, against as many bare workflow starts in the same run.

For each size N: N consumers each own one asset of a fresh product; one `POST /events`
names the product. Measured from the POST:
- started: every child's CaseWorkflow started (the fan-out workflow's batches all done);
- opened: every child's intake done (its row exists and is no longer `new`) and its
  workflow started (children are taken in by batch before their workflows start, so a row
  alone is not an opened case);
- notified: every customer's acknowledgement sent (outbox row `<case id>:ack` is `sent`).
children/s is N / seconds-to-opened. The baseline, same run: N bare workflow starts (start
only, at the fan-out's own concurrency), half before and half after the event, so drift on a
shared machine hits both alike; each half's workflows are let run to their end before the
next phase, so they never share the machine with what is measured. Target: children/s >=
0.5 x bare starts/s. The CPU every process spent per child (from the POST until every child
is opened and notified) and per bare start says what the two cores allow each, whatever the
concurrency. Also the fan-out histories' lengths (the largest must stay far below Temporal's
51,200 events) and, at the first size, seconds until `POST /events/{id}/clear` has resolved
every child.

    python -m bench.proactive [--quick]   # 1,000 and 10,000; BENCH_PROACTIVE_SIZES=1000 for one
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from bench.common import bounded, cpu_ceiling, log, r, ratio, target

FULL_SIZES = (1_000, 10_000)
RUN_ALL_SIZES = (1_000,)
QUICK_SIZES = (200,)
CLEAR_UP_TO = 2_000
TIMEOUT_PER_CHILD = 0.25  # seconds allowed per child before a phase is given up (4/s)


def fan_out_concurrency() -> int:
    from activities.bulk_open import CONCURRENCY

    return CONCURRENCY


async def bare_starts(stack, n: int, concurrency: int) -> dict:
    """Start n BareWorkflows with `concurrency` in flight: seconds from first to last start."""
    from bench.bare import BareWorkflow
    from bench.stack import BARE_TASK_QUEUE

    prefix = f"bare-start-{uuid.uuid4().hex[:8]}-"
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        try:
            await stack.client.start_workflow(
                BareWorkflow.run, id=f"{prefix}{i}", task_queue=BARE_TASK_QUEUE
            )
        except Exception:
            errors += 1

    began = time.monotonic()
    await bounded(n, concurrency, one)
    return {"started": n - errors, "seconds": time.monotonic() - began, "prefix": prefix}


async def settled(stack, prefix: str, n: int) -> None:
    """Wait until the bare workflows just started have run (their activity, their end): left
    running, they would take the machine from whatever is measured next."""
    query = f"WorkflowId STARTS_WITH '{prefix}' AND ExecutionStatus = 'Completed'"
    deadline = time.monotonic() + max(60.0, n / 5)
    while time.monotonic() < deadline:
        if (await stack.client.count_workflows(query)).count >= n:
            return
        await asyncio.sleep(0.5)
    log(f"proactive: {prefix}* not all completed; going on")


async def install_base(stack, n: int) -> str:
    """A product with one asset at each of n new consumers; its id."""
    product, tag = str(uuid.uuid4()), uuid.uuid4().hex[:8]
    await stack.sql(
        "INSERT INTO products (id, name, sku) VALUES (%s, %s, %s)",
        (product, f"Router {tag}", f"rx-{tag}"),
    )
    await stack.sql(
        "INSERT INTO consumers (id, name, email, addresses)"
        " SELECT gen_random_uuid(), 'Customer ' || g, 'c' || g || '-' || %s || '@bench.test',"
        " '[]'::jsonb FROM generate_series(1, %s) g",
        (tag, n),
    )
    await stack.sql(
        "INSERT INTO assets (id, product_id, serial, consumer_id, location)"
        " SELECT gen_random_uuid(), %s, 'RX-' || c.email, c.id, 'Site ' || (random() * 10)::int"
        " FROM consumers c WHERE c.email LIKE %s",
        (product, f"%-{tag}@bench.test"),
    )
    return product


async def counts(stack, major_case_id: str) -> tuple[int, int, int]:
    """(children opened, customers notified, children resolved or closed)."""
    row = (
        await stack.sql(
            "SELECT count(*) FILTER (WHERE c.state <> 'new'),"
            " count(*) FILTER (WHERE c.state IN ('resolved', 'closed')),"
            " (SELECT count(*) FROM notifications n JOIN cases k ON k.id = n.case_id"
            "   WHERE k.parent_case_id = %s AND n.key = k.id::text || ':ack'"
            "   AND n.status = 'sent')"
            " FROM cases c WHERE c.parent_case_id = %s",
            (major_case_id, major_case_id),
        )
    )[0]
    return row[0], row[2], row[1]


async def history_lengths(stack, event_ref: str) -> dict:
    """Events in the longest history of the event's fan-out (every run), and the runs."""
    longest, runs = 0, 0
    query = f"WorkflowId = 'event-{event_ref}'"
    async for wf in stack.client.list_workflows(query):
        runs += 1
        described = await stack.client.get_workflow_handle(wf.id, run_id=wf.run_id).describe()
        longest = max(longest, described.raw_description.workflow_execution_info.history_length)
    return {"fan_out_runs": runs, "fan_out_longest_history": longest}


async def one_event(stack, n: int, *, clear: bool) -> dict:
    concurrency = fan_out_concurrency()
    product = await install_base(stack, n)
    log(f"proactive: baseline A, {n // 2} bare starts at concurrency {concurrency}")
    cpu0 = stack.cpu_snapshot()
    bare_a = await bare_starts(stack, n // 2, concurrency)
    cpu_bare_a = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    await settled(stack, bare_a["prefix"], bare_a["started"])
    await asyncio.sleep(2)

    log(f"proactive: an event over {n} customers")
    body = {
        "source": "bench",
        "event_id": f"outage-{uuid.uuid4().hex[:8]}",
        "summary": "Router firmware crash",
        "severity": 2,
        "product_id": product,
    }
    cpu0, t0 = stack.cpu_snapshot(), time.monotonic()
    async with stack.http("integration") as http:
        answer = await http.post("/api/v1/events", json=body)
    t_answer = time.monotonic() - t0
    if answer.status_code not in (200, 201, 202):
        return {
            "customers": n,
            "error": f"POST /events answered {answer.status_code}: {answer.text}",
        }
    event = answer.json()
    fan_out = stack.client.get_workflow_handle(f"event-{event['id']}")
    started_task = asyncio.ensure_future(fan_out.result())
    t_started = t_opened = t_notified = None
    deadline = t0 + max(120.0, n * TIMEOUT_PER_CHILD)
    opened = notified = 0
    while time.monotonic() < deadline:
        now = time.monotonic() - t0
        if t_started is None and started_task.done():
            t_started = now
        opened, notified, _ = await counts(stack, event["major_case_id"])
        if t_opened is None and opened >= n and t_started is not None:
            t_opened = now
        if t_notified is None and notified >= n:
            t_notified = now
        if t_opened is not None and t_notified is not None and t_started is not None:
            break
        await asyncio.sleep(0.5)
    cpu_event = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    histories = await history_lengths(stack, event["id"])

    log(f"proactive: baseline B, {n - n // 2} bare starts")
    cpu0 = stack.cpu_snapshot()
    bare_b = await bare_starts(stack, n - n // 2, concurrency)
    cpu_bare_b = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    await settled(stack, bare_b["prefix"], bare_b["started"])
    bare_per_s = (bare_a["started"] + bare_b["started"]) / (bare_a["seconds"] + bare_b["seconds"])
    opened_per_s = n / t_opened if t_opened else None
    bare_n = max(bare_a["started"] + bare_b["started"], 1)
    # Every process's CPU per child (opened and notified) and per bare start: what the two
    # cores allow each, whatever the concurrency.
    per_child = {k: v * 1000 / n for k, v in cpu_event.items()}
    per_bare = {k: (cpu_bare_a[k] + cpu_bare_b[k]) * 1000 / bare_n for k in cpu_bare_a}
    started_per_s = n / t_started if t_started else None
    out = {
        "customers": n,
        "affected": event["affected"],
        "post_answer_s": r(t_answer),
        "seconds_to_all_started": r(t_started),
        "seconds_to_all_opened": r(t_opened),
        "seconds_to_all_notified": r(t_notified),
        "opened": opened,
        "notified": notified,
        "children_per_s": r(opened_per_s),
        "children_started_per_s": r(started_per_s),
        "bare_starts_per_s": r(bare_per_s),
        "bare_starts_per_s_before_after": [
            r(bare_a["started"] / bare_a["seconds"]),
            r(bare_b["started"] / bare_b["seconds"]),
        ],
        "ratio_to_bare": ratio(opened_per_s, bare_per_s),
        "started_ratio_to_bare": ratio(started_per_s, bare_per_s),
        **histories,
        "cpu_ms_per_child": {k: round(v, 1) for k, v in per_child.items()},
        "cpu_ms_per_bare_start": {k: round(v, 1) for k, v in per_bare.items()},
        "cpu_ceiling": cpu_ceiling(per_child, bare_per_s),
        "bare_cpu_ceiling": cpu_ceiling(per_bare, bare_per_s, free="bare_worker"),
    }
    if clear:
        log("proactive: clear the event (resolve together)")
        t1 = time.monotonic()
        async with stack.http("integration") as http:
            await http.post(f"/api/v1/events/{event['id']}/clear", json={})
        t_resolved = None
        while time.monotonic() < t1 + max(120.0, n * TIMEOUT_PER_CHILD):
            if (await counts(stack, event["major_case_id"]))[2] >= n:
                t_resolved = time.monotonic() - t1
                break
            await asyncio.sleep(0.5)
        out["seconds_to_all_resolved_by_clear"] = r(t_resolved)
        out["resolved_per_s"] = r(n / t_resolved if t_resolved else None)
    out["targets"] = {
        "children_per_s": target(out["ratio_to_bare"], ">=", 0.5, ">= 0.5 x bare starts/s"),
        "history": target(
            out["fan_out_longest_history"], "<=", 5_120, "<= 10% of 51,200 events per history"
        ),
    }
    return out


async def run(stack, *, quick: bool, sizes: tuple[int, ...] = RUN_ALL_SIZES) -> dict:
    """One event per size. From bench.run_all only 1,000 (its run stays within its time
    budget); `python -m bench.proactive` runs 1,000 and 10,000."""
    sizes = QUICK_SIZES if quick else sizes
    if env := os.environ.get("BENCH_PROACTIVE_SIZES"):
        sizes = tuple(int(s) for s in env.split(","))
    results = {}
    for i, n in enumerate(sizes):
        # Clear (10,000 resolve updates) only at a small first size: it is the same path.
        results[str(n)] = await one_event(stack, n, clear=i == 0 and n <= CLEAR_UP_TO)
    return {"sizes": results, "fan_out_concurrency": fan_out_concurrency()}


def table(res: dict) -> list[tuple]:
    rows = []
    for n, s in res["sizes"].items():
        if "error" in s:
            rows.append((f"{n} customers", s["error"], "", "", "", ""))
            continue
        t = s["targets"]
        rows += [
            (f"{n}: seconds to every child opened", s["seconds_to_all_opened"], "", "", "", ""),
            (
                f"{n}: seconds to every customer notified",
                s["seconds_to_all_notified"],
                "",
                "",
                "",
                "",
            ),
            (
                f"{n}: children opened/s",
                s["children_per_s"],
                s["bare_starts_per_s"],
                s["ratio_to_bare"],
                t["children_per_s"]["target"],
                t["children_per_s"]["met"],
            ),
            (
                f"{n}: children started/s (fan-out alone)",
                s["children_started_per_s"],
                s["bare_starts_per_s"],
                s["started_ratio_to_bare"],
                "",
                "",
            ),
            (
                f"{n}: CPU ms per child (every process) / per bare start",
                s["cpu_ceiling"]["cpu_ms_total"],
                s["bare_cpu_ceiling"]["cpu_ms_total"],
                ratio(s["bare_cpu_ceiling"]["cpu_ms_total"], s["cpu_ceiling"]["cpu_ms_total"]),
                "",
                "",
            ),
            (
                f"{n}: children/s the cores allow at that CPU",
                s["cpu_ceiling"]["per_s"],
                s["bare_starts_per_s"],
                s["cpu_ceiling"]["ratio_to_bare"],
                "",
                "",
            ),
            (
                f"{n}: longest fan-out history (events)",
                s["fan_out_longest_history"],
                51_200,
                ratio(s["fan_out_longest_history"], 51_200, 4),
                t["history"]["target"],
                t["history"]["met"],
            ),
        ]
        if "seconds_to_all_resolved_by_clear" in s:
            rows.append(
                (
                    f"{n}: seconds to every child resolved by clear",
                    s["seconds_to_all_resolved_by_clear"],
                    "",
                    "",
                    "",
                    "",
                )
            )
    return rows


def main() -> None:
    """A fresh stack, this bench, its table, bench/results/proactive-<date>.json (not with
    --quick) and the JSON line."""
    import json
    from datetime import date
    from pathlib import Path

    from bench.common import TABLE_HEADER, dumps, machine, parse_args, print_table
    from bench.stack import bench_stack

    args = parse_args("Casework benchmark: proactive")

    async def go() -> dict:
        async with bench_stack(quick=args.quick, keep=args.keep) as stack:
            return await run(stack, quick=args.quick, sizes=FULL_SIZES)

    result = {"date": date.today().isoformat(), "machine": machine(), **asyncio.run(go())}
    print_table("proactive", table(result), TABLE_HEADER)
    if not args.quick:
        sizes = "-".join(result["sizes"])
        path = (
            Path(__file__).resolve().parent / "results" / f"proactive-{result['date']}-{sizes}.json"
        )
        path.write_text(json.dumps({"proactive": result}, indent=1, default=str) + "\n")
        print(f"written: {path}")
    print(dumps({"proactive": result}))


if __name__ == "__main__":
    main()
