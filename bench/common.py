"""Shared helpers for the benchmarks: percentiles, process figures, tables and the JSON line.

Nothing here runs at import time (the workflow sandbox re-imports modules).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --------------------------------------------------------------------------- statistics


def percentile(values: Iterable[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100); None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    rank = (p / 100) * (len(data) - 1)
    lo, hi = math.floor(rank), math.ceil(rank)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


def summary_ms(seconds: Iterable[float]) -> dict[str, float | int | None]:
    """p50 / p99 / max in milliseconds of a list of durations in seconds."""
    data = list(seconds)
    return {
        "n": len(data),
        "p50_ms": r(percentile(data, 50), 1000),
        "p99_ms": r(percentile(data, 99), 1000),
        "max_ms": r(max(data) if data else None, 1000),
    }


def r(value: float | None, scale: float = 1.0, digits: int = 2) -> float | None:
    return None if value is None else round(value * scale, digits)


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, digits)


def cpu_ceiling(
    cpu_ms: dict[str, float], bare_per_s: float | None, *, free: str = "worker"
) -> dict[str, Any]:
    """What the machine's cores allow, from the CPU one unit of work cost every process.

    `per_s` is the throughput at which the measured CPU per unit fills every core (no run
    can go faster while each unit costs that much); `ratio_to_bare` that ceiling against the
    baseline's measured throughput. `..._if_free_<part>` is the same with `free`'s share
    taken out: the best any change confined to that one process could reach.
    """
    cores = os.cpu_count() or 1
    total = sum(cpu_ms.values())
    rest = total - cpu_ms.get(free, 0.0)
    per_s = cores * 1000 / total if total else None
    free_per_s = cores * 1000 / rest if rest else None
    return {
        "cores": cores,
        "cpu_ms_total": round(total, 1),
        "per_s": r(per_s),
        "ratio_to_bare": ratio(per_s, bare_per_s),
        f"per_s_if_free_{free}": r(free_per_s),
        f"ratio_to_bare_if_free_{free}": ratio(free_per_s, bare_per_s),
    }


# --------------------------------------------------------------------------- concurrency


async def bounded(n: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """Run job(0..n-1) with at most `concurrency` in flight; results in index order."""
    results: list[Any] = [None] * n
    counter = iter(range(n))

    async def lane() -> None:
        for i in counter:
            results[i] = await job(i)

    await asyncio.gather(*(lane() for _ in range(min(concurrency, n))))
    return results


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.25
) -> bool:
    """Poll check() until it is true or timeout seconds pass; True if it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------- processes


def _status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.strip()
    except OSError:
        pass
    return out


def rss_mb(pid: int | None) -> float | None:
    """Resident set size (VmRSS) of one process in MB."""
    if not pid:
        return None
    value = _status(pid).get("VmRSS")
    return round(int(value.split()[0]) / 1024, 1) if value else None


def hwm_mb(pid: int | None) -> float | None:
    """Peak resident set size (VmHWM) of one process in MB."""
    if not pid:
        return None
    value = _status(pid).get("VmHWM")
    return round(int(value.split()[0]) / 1024, 1) if value else None


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    if not fields:
        return 0.0
    # after comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children_of(ppid: int) -> list[int]:
    found = []
    for pid in _all_pids():
        fields = _stat(pid)
        if fields and int(fields[1]) == ppid:
            found.append(pid)
    return found


def group_pids(pgid: int) -> list[int]:
    found = []
    for pid in _all_pids():
        fields = _stat(pid)
        if fields and int(fields[2]) == pgid:
            found.append(pid)
    return found


def group_rss_mb(pgid: int | None) -> float | None:
    if not pgid:
        return None
    total = sum(rss_mb(pid) or 0 for pid in group_pids(pgid))
    return round(total, 1)


def cpu_of(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": [round(x, 2) for x in load] if load else None,
    }


# --------------------------------------------------------------------------- output


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(title: str, rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> None:
    cells = [tuple(fmt(c) for c in row) for row in rows]
    widths = [max(len(str(h)), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n== {title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    print(line)
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


TABLE_HEADER = ("figure", "value", "baseline", "ratio", "target", "met")


def target(value: float | None, op: str, limit: float, label: str) -> dict[str, Any]:
    """A target check: value `op` limit, with a label such as '<= 2 x bare p99'."""
    met = None
    if value is not None:
        met = value >= limit if op == ">=" else value <= limit
    return {"value": value, "op": op, "limit": limit, "target": label, "met": met}


def json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=json_default, separators=(",", ":"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


INDEX_RE = re.compile(r"(?:Index|Index Only|Bitmap Index) Scan(?: Backward)? (?:using|on) (\w+)")


def indexes_in(plan: str) -> list[str]:
    return sorted(set(INDEX_RE.findall(plan)))


# --------------------------------------------------------------------------- module entry


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--keep", action="store_true", help="keep the stack's temp dir (logs, data) afterwards"
    )
    return parser.parse_args()


def run_module(name: str, run: Callable[..., Awaitable[dict]], table: Callable) -> None:
    """`python -m bench.<name>`: a fresh stack, one bench, its table and a last JSON line."""
    from bench.stack import bench_stack

    args = parse_args(f"Casework benchmark: {name}")

    async def go() -> dict:
        async with bench_stack(quick=args.quick, keep=args.keep) as stack:
            result = await run(stack, quick=args.quick)
        return result

    result = asyncio.run(go())
    print_table(name, table(result), TABLE_HEADER)
    print(dumps({name: result}))
