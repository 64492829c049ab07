"""sizing: what 10,000, 100,000 and 1,000,000 cases a day need, from the bench's measured CPU.

Reads a results file (`make bench`'s bench/results/<date>.json; the latest by default) and
prints the inputs it takes from it, the assumptions it adds (a case's life, the peak hour,
how full a process may run), and the table docs/sizing.md shows:

    python -m bench.sizing [results.json] [--actions 5] [--timers 1] [--peak 3]

Measured per process (api, worker, temporal, postgres), from the bench's /proc readings:
CPU per case at intake (intake bench), per action (actions bench: respond and note), and
per timer that fires (timers bench: its CPU over 1,000 breaches less those cases' intake).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench.common import print_table

RESULTS = Path(__file__).resolve().parent / "results"
PROCESSES = ("api", "worker", "temporal", "postgres")
SIZES = (10_000, 100_000, 1_000_000)
DAY_S = 86_400
BOX_CORES = 2  # the bench's machine (and `casework dev`'s, or the compose file's, one host)


@dataclass(frozen=True)
class Costs:
    """What the bench measured: CPU ms per step and process, and sizes."""

    intake_ms: dict[str, float]  # per case opened (POST through routed and acknowledged)
    action_ms: dict[str, float]  # per action on a running case
    timer_ms: dict[str, float]  # per timer that fires (an SLA breach with its 3 mails)
    postgres_kb_per_case: float  # database size per case held open (rows and indexes)
    temporal_kb_per_case: float  # Temporal persistence per open case (its history)
    worker_rss_mb: float  # a worker process at its cache's bound
    source: str = ""


@dataclass(frozen=True)
class Profile:
    """What a case's life is taken to be, and how the load and the processes are planned."""

    actions: float = 5.0  # agent and customer actions per case (assign, respond, note, ...)
    timers: float = 1.0  # timers that fire per case (the reopen window's end; a warning...)
    peak: float = 3.0  # the busiest hour's rate over the day's average
    utilization: float = 0.6  # the share of its cores a process is planned to use at peak
    open_days: float = 9.0  # a case's workflow runs this long (2 to resolve, 7 to reopen)
    temporal_node_cores: float = 4.0  # one Temporal node (frontend, history, matching)
    postgres_cores: float = 8.0  # one PostgreSQL primary
    # Temporal frontend calls: an update(-with-start) each, and a workflow task (poll and
    # completion) for each intake, action and timer.
    rpcs_intake: int = 3
    rpcs_action: int = 3
    rpcs_timer: int = 2
    # A history shard persists its workflows' changes one at a time: at ~5 ms a write, ~200
    # a second; planned at a quarter of that.
    shard_tasks_per_s: float = 50.0
    min_shards: int = 512  # cannot change after the cluster is created: room to grow


def latest(directory: Path = RESULTS) -> Path:
    files = sorted(p for p in directory.glob("*.json"))
    if not files:
        raise SystemExit(f"no results in {directory}: run `make bench` first")
    return files[-1]


def costs_from(results: dict[str, Any], source: str = "") -> Costs:
    """The per-step CPU of each process. A timer's CPU is the timers bench's whole CPU per
    case less that case's intake (its cases are opened in the bench too); never below 0."""
    intake = results["intake"]["cpu_ms_per_case"]
    action = results["actions"]["cpu_ms_per_action"]
    timers = results["timers"]
    per_case = {p: timers["cpu_s"][p] * 1000 / timers["cases"] for p in PROCESSES}
    hold = results["hold"]
    return Costs(
        intake_ms={p: float(intake[p]) for p in PROCESSES},
        action_ms={p: float(action[p]) for p in PROCESSES},
        timer_ms={p: round(max(0.0, per_case[p] - intake[p]), 1) for p in PROCESSES},
        postgres_kb_per_case=round(hold["pg_db_mb"] * 1024 / hold["open_cases"], 1),
        temporal_kb_per_case=round(hold["temporal_db_mb"] * 1024 / hold["open_cases"], 1),
        worker_rss_mb=float(hold["worker_peak_rss_mb"]),
        source=source,
    )


def life_ms(costs: Costs, profile: Profile) -> dict[str, float]:
    """CPU ms per process for one case's whole life: intake, its actions, its timers."""
    return {
        p: costs.intake_ms[p]
        + profile.actions * costs.action_ms[p]
        + profile.timers * costs.timer_ms[p]
        for p in PROCESSES
    }


def next_power_of_two(n: float) -> int:
    return 1 if n <= 1 else 2 ** math.ceil(math.log2(n))


@dataclass(frozen=True)
class Sizing:
    cases_per_day: int
    peak_cases_per_s: float
    cores: dict[str, float]  # CPU cores each kind of process uses at peak
    api_processes: int
    worker_processes: int
    temporal_nodes: int
    frontend_rps: float
    workflow_tasks_per_s: float
    open_workflows: int
    history_shards: int
    postgres_cores: float
    postgres_gb_per_day: float
    temporal_gb_open: float
    fill: dict[str, float]  # each part's load at peak, of its planned utilization (1.0: full)
    bottleneck: str  # the fullest part: the first to run out as the load grows
    one_box_percent: float  # all processes on one machine of BOX_CORES, CPU at peak


def size(cases_per_day: int, costs: Costs, profile: Profile) -> Sizing:
    peak = cases_per_day / DAY_S * profile.peak
    cores = {p: peak * ms / 1000 for p, ms in life_ms(costs, profile).items()}
    # A Python process runs on one core (the GIL): as many as the cores at the planned
    # utilization, and two at least, so that one can fail (tests/faults/test_scale_out.py).
    api = max(2, math.ceil(cores["api"] / profile.utilization))
    worker = max(2, math.ceil(cores["worker"] / profile.utilization))
    node = profile.temporal_node_cores * profile.utilization
    temporal_nodes = max(1, math.ceil(cores["temporal"] / node))
    tasks = peak * (1 + profile.actions + profile.timers)
    shards = max(profile.min_shards, next_power_of_two(tasks / profile.shard_tasks_per_s))
    rps = peak * (
        profile.rpcs_intake
        + profile.actions * profile.rpcs_action
        + profile.timers * profile.rpcs_timer
    )
    # How full each part of that deployment is at peak (of its planned utilization): the
    # fullest is the first to run out as the load grows.
    fill = {
        "worker processes": cores["worker"] / (worker * profile.utilization),
        "API processes": cores["api"] / (api * profile.utilization),
        "Temporal": cores["temporal"] / (temporal_nodes * node),
        "PostgreSQL primary": cores["postgres"] / (profile.postgres_cores * profile.utilization),
    }
    open_workflows = round(cases_per_day * profile.open_days)
    return Sizing(
        cases_per_day=cases_per_day,
        peak_cases_per_s=round(peak, 2),
        cores={p: round(c, 2) for p, c in cores.items()},
        api_processes=api,
        worker_processes=worker,
        temporal_nodes=temporal_nodes,
        frontend_rps=round(rps, 1),
        workflow_tasks_per_s=round(tasks, 1),
        open_workflows=open_workflows,
        history_shards=shards,
        postgres_cores=round(cores["postgres"], 2),
        postgres_gb_per_day=round(cases_per_day * costs.postgres_kb_per_case / 1024**2, 2),
        temporal_gb_open=round(open_workflows * costs.temporal_kb_per_case / 1024**2, 1),
        fill={k: round(v, 3) for k, v in fill.items()},
        bottleneck=max(fill, key=lambda k: fill[k]),
        one_box_percent=round(100 * sum(cores.values()) / BOX_CORES, 1),
    )


def saturation(costs: Costs, profile: Profile) -> dict[str, int]:
    """Cases a day at which one instance of each part is at its planned utilization."""
    life = life_ms(costs, profile)
    per_instance = {
        "worker process (one core)": profile.utilization * 1000 / life["worker"],
        "API process (one core)": profile.utilization * 1000 / life["api"],
        "Temporal node": profile.temporal_node_cores
        * profile.utilization
        * 1000
        / life["temporal"],
        "PostgreSQL primary": profile.postgres_cores
        * profile.utilization
        * 1000
        / life["postgres"],
    }
    return {k: round(rate / profile.peak * DAY_S) for k, rate in per_instance.items()}


def print_all(costs: Costs, profile: Profile) -> list[Sizing]:
    print(f"inputs from {costs.source}")
    steps = (("intake, per case", costs.intake_ms), ("action", costs.action_ms))
    rows = [(name, *(ms[p] for p in PROCESSES)) for name, ms in steps]
    rows.append(("timer that fires", *(costs.timer_ms[p] for p in PROCESSES)))
    life = life_ms(costs, profile)
    rows.append(("a case's life (profile below)", *(round(life[p], 1) for p in PROCESSES)))
    print_table("measured CPU ms per step, by process", rows, ("step", *PROCESSES))
    print_table(
        "measured sizes",
        [
            ("PostgreSQL KB per case", costs.postgres_kb_per_case),
            ("Temporal persistence KB per open case", costs.temporal_kb_per_case),
            ("worker RSS at its cache's bound, MB", costs.worker_rss_mb),
        ],
        ("figure", "value"),
    )
    print_table("profile (assumed)", list(asdict(profile).items()), ("input", "value"))
    sizings = [size(n, costs, profile) for n in SIZES]
    table = [
        ("peak cases/s", *(s.peak_cases_per_s for s in sizings)),
        *((f"{p} cores at peak", *(s.cores[p] for s in sizings)) for p in PROCESSES),
        ("API processes", *(s.api_processes for s in sizings)),
        ("worker processes", *(s.worker_processes for s in sizings)),
        ("Temporal nodes", *(s.temporal_nodes for s in sizings)),
        ("Temporal frontend requests/s", *(s.frontend_rps for s in sizings)),
        ("workflow tasks/s", *(s.workflow_tasks_per_s for s in sizings)),
        ("open workflows", *(s.open_workflows for s in sizings)),
        ("history shards", *(s.history_shards for s in sizings)),
        ("PostgreSQL GB a day", *(s.postgres_gb_per_day for s in sizings)),
        ("Temporal GB for open cases", *(s.temporal_gb_open for s in sizings)),
        (f"one {BOX_CORES}-core machine, CPU % at peak", *(s.one_box_percent for s in sizings)),
        *(
            (f"{part} full at peak, %", *(round(100 * s.fill[part]) for s in sizings))
            for part in sizings[0].fill
        ),
        ("first bottleneck", *(s.bottleneck for s in sizings)),
    ]
    print_table("sizing", table, ("cases a day", *(f"{n:,}" for n in SIZES)))
    satur = list(saturation(costs, profile).items())
    print_table("one instance is full at (cases a day)", satur, ("part", "cases a day"))
    return sizings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="a bench results JSON file")
    defaults = Profile()
    parser.add_argument("--actions", type=float, default=defaults.actions)
    parser.add_argument("--timers", type=float, default=defaults.timers)
    parser.add_argument("--peak", type=float, default=defaults.peak)
    args = parser.parse_args(argv)
    path = args.results or latest()
    costs = costs_from(json.loads(path.read_text()), source=str(path))
    profile = replace(defaults, actions=args.actions, timers=args.timers, peak=args.peak)
    print_all(costs, profile)


if __name__ == "__main__":
    main()
