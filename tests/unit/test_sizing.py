"""bench.sizing's arithmetic on made-up bench results: per-step CPU taken from the results,
a case's life, the peak, processes and nodes, shards, storage and the first bottleneck."""

import json

import pytest

from bench import sizing

RESULTS = {
    "intake": {"cpu_ms_per_case": {"api": 10, "worker": 20, "temporal": 10, "postgres": 5}},
    "actions": {"cpu_ms_per_action": {"api": 5, "worker": 10, "temporal": 5, "postgres": 2}},
    # 100 cases opened and breached: CPU per case 10 / 30 / 20 / 4 ms, less their intake.
    "timers": {
        "cases": 100,
        "cpu_s": {"api": 1.0, "worker": 3.0, "temporal": 2.0, "postgres": 0.4},
    },
    "hold": {
        "open_cases": 1024,
        "pg_db_mb": 10,
        "temporal_db_mb": 20,
        "worker_peak_rss_mb": 300,
    },
}
PROFILE = sizing.Profile(actions=2, timers=1, peak=2, utilization=0.5)


def test_a_timer_costs_the_timers_bench_less_its_cases_intake_never_below_zero():
    costs = sizing.costs_from(RESULTS)
    assert costs.timer_ms == {"api": 0.0, "worker": 10.0, "temporal": 10.0, "postgres": 0.0}
    assert (costs.postgres_kb_per_case, costs.temporal_kb_per_case) == (10.0, 20.0)
    assert sizing.life_ms(costs, PROFILE) == {
        "api": 20.0,  # 10 + 2 x 5 + 0
        "worker": 50.0,  # 20 + 2 x 10 + 10
        "temporal": 30.0,
        "postgres": 9.0,
    }


def test_a_size_from_the_peak_rate_and_a_case_life():
    s = sizing.size(864_000, sizing.costs_from(RESULTS), PROFILE)  # 10 a second, 20 at peak
    assert s.peak_cases_per_s == 20
    assert s.cores == {"api": 0.4, "worker": 1.0, "temporal": 0.6, "postgres": 0.18}
    assert s.worker_processes == 2  # 1 core at 50 %: two processes
    assert s.api_processes == 2  # 0.8 of one: still two, so that one may fail
    assert s.temporal_nodes == 1  # 0.6 of a 4-core node at 50 %
    assert s.workflow_tasks_per_s == 80  # (intake + 2 actions + 1 timer) x 20
    assert s.frontend_rps == 220  # (3 + 2 x 3 + 2) x 20
    assert s.history_shards == 512  # 80 / 50 a shard needs 2: the floor holds
    assert s.open_workflows == 864_000 * 9
    assert s.postgres_gb_per_day == pytest.approx(864_000 * 10 / 1024**2, abs=0.01)
    assert s.fill["worker processes"] == 1.0 and s.bottleneck == "worker processes"
    assert s.one_box_percent == pytest.approx(100 * 2.18 / 2, abs=0.1)


def test_one_instance_full_at_and_shards_past_the_floor():
    full = sizing.saturation(sizing.costs_from(RESULTS), PROFILE)
    assert full["worker process (one core)"] == 432_000  # 0.5 core / 50 ms = 10/s at peak 2x
    assert full["PostgreSQL primary"] == round(8 * 0.5 * 1000 / 9 / 2 * 86_400)
    assert [sizing.next_power_of_two(n) for n in (0.3, 1, 2, 3, 513)] == [1, 1, 2, 4, 1024]
    busy = sizing.Profile(actions=2, timers=1, peak=2, shard_tasks_per_s=0.01)
    assert sizing.size(864_000, sizing.costs_from(RESULTS), busy).history_shards == 8192


def test_it_prints_the_inputs_and_the_table(tmp_path, capsys):
    path = tmp_path / "2026-01-01.json"
    path.write_text(json.dumps(RESULTS))
    assert sizing.latest(tmp_path) == path
    sizing.main([str(path), "--actions", "2", "--peak", "2"])
    out = capsys.readouterr().out
    assert f"inputs from {path}" in out
    assert "timer that fires" in out and "first bottleneck" in out
    assert "1,000,000" in out
