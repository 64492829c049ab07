"""Run every benchmark on one fresh stack and write bench/results/<YYYY-MM-DD>.json.

    python -m bench.run_all            # the full run (`make bench`), under 15 minutes
    python -m bench.run_all --quick    # small sizes, a smoke run of a few minutes; no file
    python -m bench.run_all --only intake,actions

Order: intake, actions (acts on the cases intake opened), timers, hold (tops the open cases
up within what is left of the time budget), reads (inserts the synthetic rows last, so no
other bench sees them). Prints each bench's table, then the whole result as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
import traceback
from datetime import date
from pathlib import Path

from bench.common import TABLE_HEADER, dumps, log, machine, print_table

ORDER = ("intake", "actions", "timers", "hold", "reads")
RESULTS = Path(__file__).resolve().parent / "results"
# Seconds kept back for the reads bench (1M synthetic rows, vacuum, measuring) and teardown.
# What reads needs after hold (1M rows in ~30 s, then the measuring; 41-62 s measured).
READS_RESERVE = {True: 60.0, False: 150.0}  # with the pages (bench/pages.py)


def trim(name: str, res: dict) -> dict:
    """What goes into the file: EXPLAIN plans only at the largest size, as lines."""
    if name == "reads" and "sizes" in res:
        sizes = list(res["sizes"])
        for label in sizes:
            plans = res["sizes"][label].pop("explain", {})
            plans |= res["sizes"][label].pop("page_explain", {})
            if label == sizes[-1]:
                res["explain"] = {k: v.splitlines() for k, v in plans.items()}
    return res


async def run_all(quick: bool, only: list[str], budget: float) -> dict:
    from bench.hold import census
    from bench.stack import bench_stack

    began = time.monotonic()
    out: dict = {"date": date.today().isoformat(), "quick": quick, "machine": machine()}
    async with bench_stack(quick=quick) as stack:
        out["stack_start_s"] = round(time.monotonic() - began, 1)
        for name in only:
            module = importlib.import_module(f"bench.{name}")
            started = time.monotonic()
            kwargs = {}
            if name == "hold":
                reserve = READS_RESERVE[quick] if "reads" in only else 10.0
                kwargs["budget_s"] = max(20.0, budget - (time.monotonic() - began) - reserve)
            log(f"=== {name}")
            try:
                res = await module.run(stack, quick=quick, **kwargs)
            except Exception as err:
                traceback.print_exc()
                res = {"error": repr(err)}
            res["elapsed_s"] = round(time.monotonic() - started, 1)
            out[name] = trim(name, res)
            if name in ("intake", "actions", "timers"):  # memory against open cases, for hold
                await census(stack, name)
            log(f"=== {name} done in {res['elapsed_s']}s")
    out["elapsed_s"] = round(time.monotonic() - began, 1)
    out["machine"]["loadavg_at_end"] = [round(x, 2) for x in __import__("os").getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Run every Casework benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes; writes no file")
    parser.add_argument("--only", default=",".join(ORDER), help="comma-separated bench names")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds for the whole run (default 870)"
    )
    parser.add_argument("--out", default=None, help="result file (default by date)")
    args = parser.parse_args()
    only = [n for n in ORDER if n in args.only.split(",")]
    budget = args.budget or (150.0 if args.quick else 870.0)
    result = asyncio.run(run_all(args.quick, only, budget))
    for name in only:
        res = result.get(name, {})
        if "error" in res:
            print(f"\n== {name}: FAILED {res['error']}")
            continue
        module = importlib.import_module(f"bench.{name}")
        print_table(name, module.table(res), TABLE_HEADER)
    print(f"\nwhole run: {result['elapsed_s']}s on {result['machine']}")
    path = Path(args.out) if args.out else None
    if path is None and not args.quick:
        path = RESULTS / f"{result['date']}.json"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        import json

        path.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print(f"written: {path}")
    print(dumps(result))


if __name__ == "__main__":
    main()
