"""Customer health: each input moves the score the way api/services/health_score.py documents
(pure: no database)."""

import pytest

from api.services.health_score import WEIGHTS, HealthInputs, score

CALM = HealthInputs(
    cases_recent=4,
    cases_prior=4,
    clocks_decided=10,
    clocks_met=10,
    csat_answers=3,
    csat_average=5.0,
    cases_finished=4,
    cases_reopened=0,
)


def with_(**changes) -> HealthInputs:
    return HealthInputs(**{**CALM.__dict__, **changes})


def penalty(health, name: str) -> float:
    return next(f.penalty for f in health.factors if f.name == name)


def test_a_calm_account_scores_100_with_no_reasons():
    health = score(CALM)
    assert (health.score, health.band, health.reasons) == (100, "healthy", [])


def test_no_data_takes_nothing_off():
    assert score(HealthInputs()).score == 100


def test_the_weights_add_up_to_100():
    assert sum(WEIGHTS.values()) == 100


@pytest.mark.parametrize(
    ("recent", "taken"),
    [(4, 0), (2, 0), (6, 10), (8, 20), (20, 20)],  # prior 4: +50 % costs half, +100 % all
)
def test_rising_case_volume_lowers_the_score(recent, taken):
    health = score(with_(cases_recent=recent))
    assert penalty(health, "volume_trend") == taken
    assert health.score == 100 - taken


def test_a_first_case_is_not_twice_as_busy():
    # From 0 to 1 case: divided by the baseline of 3, not by 0.
    assert penalty(score(with_(cases_prior=0, cases_recent=1)), "volume_trend") == pytest.approx(
        20 / 3, abs=0.05
    )


@pytest.mark.parametrize(("met", "taken"), [(10, 0), (9, 6), (8, 12), (5, 30), (0, 30)])
def test_missed_sla_clocks_lower_the_score(met, taken):
    health = score(with_(clocks_met=met))
    assert penalty(health, "sla_attainment") == taken
    assert health.score == 100 - taken


@pytest.mark.parametrize(("average", "taken"), [(5, 0), (4, 5), (3, 10), (1, 20)])
def test_low_csat_lowers_the_score(average, taken):
    health = score(with_(csat_average=average))
    assert penalty(health, "csat") == taken
    assert health.score == 100 - taken


@pytest.mark.parametrize(("reopened", "taken"), [(0, 0), (1, 7.5), (2, 15), (4, 15)])
def test_reopened_cases_lower_the_score(reopened, taken):
    health = score(with_(cases_reopened=reopened))
    assert penalty(health, "reopen_rate") == taken


@pytest.mark.parametrize(("majors", "taken"), [(0, 0), (1, 5), (2, 10), (3, 15), (7, 15)])
def test_open_major_cases_lower_the_score(majors, taken):
    health = score(with_(open_major_cases=majors))
    assert penalty(health, "open_major_cases") == taken
    assert health.score == 100 - taken


def test_the_worst_account_scores_0_and_names_every_reason_heaviest_first():
    worst = with_(cases_recent=10, cases_prior=3, clocks_met=0, csat_average=1.0)
    worst = HealthInputs(**{**worst.__dict__, "cases_reopened": 4, "open_major_cases": 3})
    health = score(worst)
    assert (health.score, health.band) == (0, "at_risk")
    assert len(health.reasons) == 5
    assert health.reasons[0] == "SLA met on 0 of 10 clocks (0%)"  # 30 points, the heaviest


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"clocks_met": 7}, (82, "healthy")),  # 70 % met: -18
        ({"clocks_met": 6}, (76, "watch")),  # 60 % met: -24
        ({"clocks_met": 5, "csat_average": 1.0}, (50, "at_risk")),  # -30 and -20
    ],
)
def test_bands(changes, expected):
    health = score(with_(**changes))
    assert (health.score, health.band) == expected
