"""actions: respond and note actions on open cases over HTTP, p50/p99 latency.

Each action is POST /cases/{id}/actions/{action} as an agent: token lookup, case read, a
Temporal update whose handler records the event (a local activity writing PostgreSQL), and
the case view read back. Baseline, same run, same concurrency: bare `execute_update` round
trips on a trivial workflow (bench.bare.BareUpdateWorkflow), half before and half after.
"Idle" repeats both one request at a time, with nothing else running.

    python -m bench.actions [--quick]
"""

from __future__ import annotations

import random
import time
import uuid

from bench.cases import drain, open_cases
from bench.common import bounded, cpu_ceiling, log, r, ratio, run_module, summary_ms, target

CONCURRENCY = 10
BARE_WORKFLOWS = 50


async def cases_for(stack, n: int) -> list[str]:
    """n routed, open cases: the ones earlier benches opened, topped up if too few."""
    if len(stack.open_cases) < n:
        log(f"actions: opening {n - len(stack.open_cases)} case(s) to act on")
        await open_cases(stack, n - len(stack.open_cases), concurrency=50)
    return stack.open_cases[:n]


class BareUpdates:
    def __init__(self, stack) -> None:
        self.stack = stack
        self.handles: list = []

    async def start(self, k: int) -> None:
        from bench.bare import BareUpdateWorkflow
        from bench.stack import BARE_TASK_QUEUE

        tag = uuid.uuid4().hex[:8]
        for i in range(k):
            self.handles.append(
                await self.stack.client.start_workflow(
                    BareUpdateWorkflow.run, id=f"bare-upd-{tag}-{i}", task_queue=BARE_TASK_QUEUE
                )
            )
        for h in self.handles:  # first update on each: started and cached, not measured
            await h.execute_update(BareUpdateWorkflow.touch, "warm")

    async def run(self, n: int, concurrency: int) -> tuple[list[float], int]:
        from bench.bare import BareUpdateWorkflow

        latency: list[float] = []
        errors = 0

        async def one(i: int) -> None:
            nonlocal errors
            handle = self.handles[i % len(self.handles)]
            began = time.perf_counter()
            try:
                await handle.execute_update(
                    BareUpdateWorkflow.touch, "note", id=f"touch-{uuid.uuid4()}"
                )
            except Exception:
                errors += 1
                return
            latency.append(time.perf_counter() - began)

        await bounded(n, concurrency, one)
        return latency, errors

    async def finish(self) -> None:
        for h in self.handles:
            try:
                await h.signal("finish")
            except Exception:
                pass


async def act_many(stack, jobs: list[tuple[str, str]], concurrency: int) -> dict:
    """Run (action, case id) jobs; latency per action kind, errors counted."""
    latency: dict[str, list[float]] = {}
    errors: list[str] = []
    async with stack.http("agent") as http:

        async def one(i: int) -> None:
            action, case_id = jobs[i]
            body = {"body": f"Bench {action} {i}: please try firmware 2.1."}
            began = time.perf_counter()
            try:
                r = await http.post(f"/api/v1/cases/{case_id}/actions/{action}", json=body)
            except Exception as err:
                errors.append(repr(err))
                return
            took = time.perf_counter() - began
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:200]}")
                return
            latency.setdefault(action, []).append(took)

        await bounded(len(jobs), concurrency, one)
    return {"latency": latency, "errors": errors}


async def run(stack, *, quick: bool) -> dict:
    n = 50 if quick else 500
    idle_n = 20 if quick else 100
    cases = await cases_for(stack, n)
    await drain(stack)
    bare = BareUpdates(stack)
    await bare.start(BARE_WORKFLOWS)

    log(f"actions: baseline A, {n} bare updates at concurrency {CONCURRENCY}")
    cpu0, began = stack.cpu_snapshot(), time.perf_counter()
    bare_a, bare_err_a = await bare.run(n, CONCURRENCY)
    bare_seconds = time.perf_counter() - began
    bare_cpu = stack.cpu_delta(cpu0, stack.cpu_snapshot())

    log(f"actions: {n} respond + {n} note at concurrency {CONCURRENCY}")
    cpu0, began = stack.cpu_snapshot(), time.perf_counter()
    # Responds first, then notes: concurrent actions never queue behind each other on one case.
    responded = await act_many(stack, [("respond", c) for c in cases], CONCURRENCY)
    noted = await act_many(stack, [("note", c) for c in cases], CONCURRENCY)
    seconds = time.perf_counter() - began
    cpu = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    await drain(stack)

    log(f"actions: baseline B, {n} bare updates")
    cpu0, began = stack.cpu_snapshot(), time.perf_counter()
    bare_b, bare_err_b = await bare.run(n, CONCURRENCY)
    bare_seconds += time.perf_counter() - began
    after = stack.cpu_delta(cpu0, stack.cpu_snapshot())
    bare_cpu = {k: bare_cpu[k] + after[k] for k in bare_cpu}

    log(f"actions: idle, {idle_n} bare updates then {idle_n} actions one at a time")
    bare_idle, _ = await bare.run(idle_n, 1)
    rng = random.Random(6)
    idle_jobs = [(("note", "respond")[i % 2], rng.choice(cases)) for i in range(idle_n)]
    idle = await act_many(stack, idle_jobs, 1)
    await bare.finish()

    all_lat = responded["latency"].get("respond", []) + noted["latency"].get("note", [])
    loaded = summary_ms(all_lat)
    respond = summary_ms(responded["latency"].get("respond", []))
    note = summary_ms(noted["latency"].get("note", []))
    base = summary_ms(bare_a + bare_b)
    idle_s = summary_ms([x for v in idle["latency"].values() for x in v])
    base_idle = summary_ms(bare_idle)
    errors = responded["errors"] + noted["errors"] + idle["errors"]
    p99_ratio = ratio(loaded["p99_ms"], base["p99_ms"])
    done = max(loaded["n"], 1)
    bare_done = max(len(bare_a) + len(bare_b), 1)
    per_action_cpu = {k: v * 1000 / done for k, v in cpu.items()}
    per_update_cpu = {k: v * 1000 / bare_done for k, v in bare_cpu.items()}
    bare_per_s = bare_done / bare_seconds
    return {
        "actions": 2 * n,
        "concurrency": CONCURRENCY,
        "p50_ms": loaded["p50_ms"],
        "p99_ms": loaded["p99_ms"],
        "max_ms": loaded["max_ms"],
        "respond_p50_ms": respond["p50_ms"],
        "respond_p99_ms": respond["p99_ms"],
        "note_p50_ms": note["p50_ms"],
        "note_p99_ms": note["p99_ms"],
        "bare_update_p50_ms": base["p50_ms"],
        "bare_update_p99_ms": base["p99_ms"],
        "ratio_to_bare": p99_ratio,
        "idle_p50_ms": idle_s["p50_ms"],
        "idle_p99_ms": idle_s["p99_ms"],
        "bare_idle_p50_ms": base_idle["p50_ms"],
        "bare_idle_p99_ms": base_idle["p99_ms"],
        "idle_ratio_to_bare": ratio(idle_s["p99_ms"], base_idle["p99_ms"]),
        "errors": len(errors) + bare_err_a + bare_err_b,
        "first_error": errors[0] if errors else None,
        "actions_per_s": r(loaded["n"] / seconds),
        "bare_updates_per_s": r(bare_per_s),
        "cpu_ms_per_action": {k: round(v, 1) for k, v in per_action_cpu.items()},
        "cpu_ms_per_bare_update": {k: round(v, 1) for k, v in per_update_cpu.items()},
        # At a fixed concurrency, latency is concurrency / throughput: the cores bound both.
        "cpu_ceiling": cpu_ceiling(per_action_cpu, bare_per_s),
        "bare_cpu_ceiling": cpu_ceiling(per_update_cpu, bare_per_s, free="bare_worker"),
        "targets": {
            "p99_vs_bare": target(p99_ratio, "<=", 3.0, "<= 3 x bare update p99"),
            "idle_p99_ms": target(idle_s["p99_ms"], "<=", 50.0, "<= 50 ms at idle"),
        },
    }


def table(res: dict) -> list[tuple]:
    t = res["targets"]
    cpu = sorted(res["cpu_ms_per_action"].items(), key=lambda kv: -kv[1])[:4]
    ceiling = res["cpu_ceiling"]
    return [
        (
            f"action p50 ms (c={res['concurrency']})",
            res["p50_ms"],
            res["bare_update_p50_ms"],
            ratio(res["p50_ms"], res["bare_update_p50_ms"]),
            "",
            "",
        ),
        (
            f"action p99 ms (c={res['concurrency']})",
            res["p99_ms"],
            res["bare_update_p99_ms"],
            res["ratio_to_bare"],
            t["p99_vs_bare"]["target"],
            t["p99_vs_bare"]["met"],
        ),
        (
            "respond p50 / p99 ms",
            f"{res['respond_p50_ms']} / {res['respond_p99_ms']}",
            "",
            "",
            "",
            "",
        ),
        ("note p50 / p99 ms", f"{res['note_p50_ms']} / {res['note_p99_ms']}", "", "", "", ""),
        (
            "action p50 ms at idle",
            res["idle_p50_ms"],
            res["bare_idle_p50_ms"],
            ratio(res["idle_p50_ms"], res["bare_idle_p50_ms"]),
            "",
            "",
        ),
        (
            "action p99 ms at idle",
            res["idle_p99_ms"],
            res["bare_idle_p99_ms"],
            res["idle_ratio_to_bare"],
            t["idle_p99_ms"]["target"],
            t["idle_p99_ms"]["met"],
        ),
        ("errors", res["errors"], "", "", "", ""),
        ("CPU ms per action (top)", ", ".join(f"{k} {v}" for k, v in cpu), "", "", "", ""),
        (
            "actions/s at concurrency 10; CPU ceiling (if the worker were free)",
            f"{res['actions_per_s']}; {ceiling['per_s']} ({ceiling['per_s_if_free_worker']})",
            res["bare_updates_per_s"],
            f"{ceiling['ratio_to_bare']} ({ceiling['ratio_to_bare_if_free_worker']})",
            f"{ceiling['cores']} cores, {ceiling['cpu_ms_total']} ms CPU per action",
            "",
        ),
    ]


if __name__ == "__main__":
    run_module("actions", run, table)
