"""intake: 1,000 cases POSTed at concurrency 50, throughput to "routed and acknowledged".

Baseline, same run, same concurrency: n/2 bare workflows (start + one no-op activity +
complete), half before and half after the cases so drift on a shared machine hits both alike.
Throughput is n / (last completion - first request) for both; completion of a bare workflow
is its close time in Temporal, of a case the instant it is routed and acknowledged.

    python -m bench.intake [--quick]
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from bench.cases import drain, open_cases
from bench.common import cpu_ceiling, log, percentile, r, ratio, run_module, summary_ms, target

CONCURRENCY = 50
# The issue asks for 2,000; at the 15-20 cases/s this worker sustains on 2 cores, 1,000 leaves
# the hold bench the time to open its 10,000 within `make bench`'s 14.5 minutes.
# BENCH_INTAKE_CASES=2000 for the size.
FULL_CASES = 1000


async def bare_run(stack, n: int, concurrency: int = CONCURRENCY) -> dict:
    """Start n BareWorkflows with `concurrency` in flight; wait until all have closed."""
    from bench.bare import BareWorkflow
    from bench.common import bounded
    from bench.stack import BARE_TASK_QUEUE

    tag = uuid.uuid4().hex[:8]
    prefix = f"bare-{tag}-"
    latency: list[float] = []
    errors = 0
    t0 = time.time()

    async def one(i: int) -> None:
        nonlocal errors
        began = time.perf_counter()
        try:
            await stack.client.start_workflow(
                BareWorkflow.run, id=f"{prefix}{i}", task_queue=BARE_TASK_QUEUE
            )
        except Exception:
            errors += 1
            return
        latency.append(time.perf_counter() - began)

    await bounded(n, concurrency, one)
    query = (
        f"WorkflowType = 'BareWorkflow' AND WorkflowId STARTS_WITH '{prefix}' "
        "AND ExecutionStatus = 'Completed'"
    )
    deadline = time.monotonic() + max(60.0, n / 5)
    while time.monotonic() < deadline:
        if (await stack.client.count_workflows(query)).count >= n - errors:
            break
        await asyncio.sleep(0.5)
    closed = [wf.close_time.timestamp() async for wf in stack.client.list_workflows(query)]
    t_done = max(closed) if closed else time.time()
    return {
        "n": n,
        "completed": len(closed),
        "errors": errors,
        "seconds": t_done - t0,
        "latency": latency,
        "t0": t0,
        "closed": closed,
    }


async def bare_open_run(stack, n: int, concurrency: int = CONCURRENCY) -> list[float]:
    """n update-with-starts of BareOpenWorkflow (its update runs one local activity): the
    latency baseline of POST /cases."""
    from temporalio.client import WithStartWorkflowOperation
    from temporalio.common import WorkflowIDConflictPolicy

    from bench.bare import BareOpenWorkflow
    from bench.common import bounded
    from bench.stack import BARE_TASK_QUEUE

    tag = uuid.uuid4().hex[:8]
    latency: list[float] = []

    async def one(i: int) -> None:
        start = WithStartWorkflowOperation(
            BareOpenWorkflow.run,
            id=f"bare-open-{tag}-{i}",
            task_queue=BARE_TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        began = time.perf_counter()
        try:
            await stack.client.execute_update_with_start_workflow(
                BareOpenWorkflow.open, start_workflow_operation=start
            )
        except Exception:
            return
        latency.append(time.perf_counter() - began)

    await bounded(n, concurrency, one)
    return latency


async def run(stack, *, quick: bool) -> dict:
    n = 200 if quick else int(os.environ.get("BENCH_INTAKE_CASES", FULL_CASES))
    half = n // 4  # the baseline: n / 2 bare workflows, half before and half after the cases
    await drain(stack)

    log(f"intake: baseline A, {half} bare workflows at concurrency {CONCURRENCY}")
    cpu0 = stack.cpu_snapshot()
    bare_a = await bare_run(stack, half)
    cpu_bare_a = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    await asyncio.sleep(2)

    log(f"intake: baseline C, {half} bare update-with-starts (one local activity)")
    bare_open = summary_ms(await bare_open_run(stack, half))
    await asyncio.sleep(1)

    log(f"intake: {n} cases at concurrency {CONCURRENCY}")
    cpu0 = stack.cpu_snapshot()
    opened = await open_cases(stack, n, concurrency=CONCURRENCY, timeout=max(180.0, n / 2))
    cpu_cases = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    await drain(stack)

    log(f"intake: baseline B, {half} bare workflows")
    cpu0 = stack.cpu_snapshot()
    bare_b = await bare_run(stack, half)
    cpu_bare_b = stack.cpu_delta(cpu0, stack.cpu_snapshot())

    done = len(opened.done)
    seconds = (opened.t_done - opened.t_start) if opened.t_done else None
    cases_per_s = done / seconds if seconds else None
    bare_done = bare_a["completed"] + bare_b["completed"]
    bare_seconds = bare_a["seconds"] + bare_b["seconds"]
    bare_per_s = bare_done / bare_seconds if bare_seconds else None
    post = summary_ms(opened.post_latency)
    bare_start = summary_ms(bare_a["latency"] + bare_b["latency"])
    to_done = [opened.done[i] - opened.created[i] for i in opened.done]
    bare_cpu = {k: cpu_bare_a[k] + cpu_bare_b[k] for k in cpu_bare_a}
    if cases_per_s:
        stack.stats["intake_per_s"] = cases_per_s
    throughput_ratio = ratio(cases_per_s, bare_per_s)
    per_case_cpu = {k: v * 1000 / max(done, 1) for k, v in cpu_cases.items()}
    per_bare_cpu = {k: v * 1000 / max(bare_done, 1) for k, v in bare_cpu.items()}
    p99_ratio = ratio(post["p99_ms"], bare_start["p99_ms"])
    uws_ratio = ratio(post["p99_ms"], bare_open["p99_ms"])
    return {
        "cases": n,
        "concurrency": CONCURRENCY,
        "routed_and_acknowledged": done,
        "post_errors": opened.post_errors,
        "first_error": opened.first_error,
        "timed_out": opened.timed_out,
        "cases_per_s": r(cases_per_s),
        "bare_per_s": r(bare_per_s),
        "ratio_to_bare": throughput_ratio,
        "bare_per_s_before_after": [
            r(bare_a["completed"] / bare_a["seconds"]),
            r(bare_b["completed"] / bare_b["seconds"]),
        ],
        "p50_ms": post["p50_ms"],
        "p99_ms": post["p99_ms"],
        "max_ms": post["max_ms"],
        "bare_start_p50_ms": bare_start["p50_ms"],
        "bare_start_p99_ms": bare_start["p99_ms"],
        "p99_ratio_to_bare": p99_ratio,
        "bare_update_with_start_p50_ms": bare_open["p50_ms"],
        "bare_update_with_start_p99_ms": bare_open["p99_ms"],
        "p99_ratio_to_bare_update_with_start": uws_ratio,
        "routed_ack_p50_s": r(percentile(to_done, 50)),
        "routed_ack_p99_s": r(percentile(to_done, 99)),
        "cpu_ms_per_case": {k: round(v, 1) for k, v in per_case_cpu.items()},
        "cpu_ms_per_bare": {k: round(v, 1) for k, v in per_bare_cpu.items()},
        # Every process's CPU per case, against the cores: the fastest this could ever run.
        "cpu_ceiling": cpu_ceiling(per_case_cpu, bare_per_s),
        "bare_cpu_ceiling": cpu_ceiling(per_bare_cpu, bare_per_s, free="bare_worker"),
        "targets": {
            "throughput": target(throughput_ratio, ">=", 1.0, ">= 1.0 x bare start+activity"),
            "post_p99": target(p99_ratio, "<=", 2.0, "<= 2 x bare start p99"),
            "post_p99_uws": target(
                uws_ratio, "<=", 3.0, "<= 3 x bare update-with-start (one local activity) p99"
            ),
        },
    }


def table(res: dict) -> list[tuple]:
    t = res["targets"]
    cpu = res["cpu_ms_per_case"]
    busiest = sorted(cpu.items(), key=lambda kv: -kv[1])[:4]
    ceiling = res["cpu_ceiling"]
    return [
        (
            "cases/s to routed+acknowledged",
            res["cases_per_s"],
            res["bare_per_s"],
            res["ratio_to_bare"],
            t["throughput"]["target"],
            t["throughput"]["met"],
        ),
        (
            "POST /cases p50 ms",
            res["p50_ms"],
            res["bare_start_p50_ms"],
            ratio(res["p50_ms"], res["bare_start_p50_ms"]),
            "",
            "",
        ),
        (
            "POST /cases p99 ms",
            res["p99_ms"],
            res["bare_start_p99_ms"],
            res["p99_ratio_to_bare"],
            t["post_p99"]["target"],
            t["post_p99"]["met"],
        ),
        (
            "POST /cases p99 ms vs bare update-with-start",
            res["p99_ms"],
            res["bare_update_with_start_p99_ms"],
            res["p99_ratio_to_bare_update_with_start"],
            t["post_p99_uws"]["target"],
            t["post_p99_uws"]["met"],
        ),
        (
            "POST -> routed+acked p50 / p99 s",
            f"{res['routed_ack_p50_s']} / {res['routed_ack_p99_s']}",
            "",
            "",
            "",
            "",
        ),
        (
            "cases routed+acked / posted",
            f"{res['routed_and_acknowledged']} / {res['cases']}",
            "",
            "",
            "",
            "",
        ),
        ("CPU ms per case (top)", ", ".join(f"{k} {v}" for k, v in busiest), "", "", "", ""),
        (
            "CPU ceiling, cases/s (if the worker were free)",
            f"{ceiling['per_s']} ({ceiling['per_s_if_free_worker']})",
            res["bare_per_s"],
            f"{ceiling['ratio_to_bare']} ({ceiling['ratio_to_bare_if_free_worker']})",
            f"{ceiling['cores']} cores, {ceiling['cpu_ms_total']} ms CPU per case",
            "",
        ),
    ]


if __name__ == "__main__":
    run_module("intake", run, table)
