"""Customer health: an account's 0-100 score from its service inputs, with the reasons (pure:
no database, no clock; api/services/health.py gathers the inputs).

The score starts at 100 and each input takes off at most its weight (the weights add up
to 100, so a score of 0 means every input is at its worst):

| input                 | weight | full penalty at                          | no penalty at        |
|-----------------------|--------|------------------------------------------|----------------------|
| case-volume trend     | 20     | twice the cases of the period before     | as many or fewer     |
| SLA attainment        | 30     | half the decided clocks met (or fewer)   | every clock met      |
| CSAT                  | 20     | an average answer of 1                   | an average of 5      |
| reopen rate           | 15     | half the finished cases reopened         | none reopened        |
| open major cases      | 15     | three open major cases touching it       | none                 |

Between the two ends a penalty grows linearly. An input with no data (no decided clock, no
survey answer, no finished case) takes nothing off: an account is not punished for silence.
The volume trend divides by at least MIN_BASELINE cases, so an account going from 0 to 1
case is not "twice as busy".
"""

from dataclasses import dataclass, field

WEIGHTS = {
    "volume_trend": 20.0,
    "sla_attainment": 30.0,
    "csat": 20.0,
    "reopen_rate": 15.0,
    "open_major_cases": 15.0,
}
MIN_BASELINE = 3  # the volume trend's smallest divisor
FULL_GROWTH = 1.0  # +100 % cases: the whole volume weight
WORST_ATTAINMENT = 0.5  # half the clocks met: the whole SLA weight
WORST_REOPEN = 0.5  # half the finished cases reopened: the whole reopen weight
FULL_MAJOR = 3  # open major cases for the whole weight
# Bands people read the score by.
HEALTHY, WATCH = 80, 60


@dataclass(frozen=True)
class HealthInputs:
    """What the score is made of, for one account over the health window."""

    cases_recent: int = 0  # cases opened in the window
    cases_prior: int = 0  # cases opened in the window before it (same length)
    clocks_decided: int = 0  # SLA clocks of the window's cases stopped or breached
    clocks_met: int = 0  # of those, stopped without a breach
    csat_answers: int = 0
    csat_average: float | None = None  # 1-5; None without answers
    cases_finished: int = 0  # the window's cases now resolved or closed
    cases_reopened: int = 0  # of those, reopened at least once
    open_major_cases: int = 0  # open parent cases of the account's open cases


@dataclass(frozen=True)
class Factor:
    """One input's share of the score: its value, what it took off, and why in words."""

    name: str
    value: float | None
    penalty: float
    reason: str


@dataclass(frozen=True)
class Health:
    score: int
    band: str
    factors: list[Factor] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """The inputs that took something off, the heaviest first."""
        hurting = sorted((f for f in self.factors if f.penalty > 0), key=lambda f: -f.penalty)
        return [f.reason for f in hurting]


def share(amount: float, full: float) -> float:
    """amount / full, kept within [0, 1]."""
    return max(0.0, min(1.0, amount / full)) if full else 0.0


def volume_trend(i: HealthInputs) -> Factor:
    growth = (i.cases_recent - i.cases_prior) / max(i.cases_prior, MIN_BASELINE)
    penalty = WEIGHTS["volume_trend"] * share(growth, FULL_GROWTH)
    change = f"{i.cases_prior} → {i.cases_recent} cases"
    reason = f"case volume rising ({change})" if penalty else f"case volume steady ({change})"
    return Factor("volume_trend", round(growth, 4), penalty, reason)


def sla_attainment(i: HealthInputs) -> Factor:
    if not i.clocks_decided:
        return Factor("sla_attainment", None, 0.0, "no SLA clock decided yet")
    rate = i.clocks_met / i.clocks_decided
    penalty = WEIGHTS["sla_attainment"] * share(1 - rate, 1 - WORST_ATTAINMENT)
    met = f"SLA met on {i.clocks_met} of {i.clocks_decided} clocks"
    return Factor("sla_attainment", round(rate, 4), penalty, f"{met} ({100 * rate:.0f}%)")


def csat(i: HealthInputs) -> Factor:
    if not i.csat_answers or i.csat_average is None:
        return Factor("csat", None, 0.0, "no survey answers")
    penalty = WEIGHTS["csat"] * share(5 - i.csat_average, 4)
    reason = f"CSAT {i.csat_average:.1f} / 5 from {i.csat_answers} answers"
    return Factor("csat", round(i.csat_average, 2), penalty, reason)


def reopen_rate(i: HealthInputs) -> Factor:
    if not i.cases_finished:
        return Factor("reopen_rate", None, 0.0, "no finished cases")
    rate = i.cases_reopened / i.cases_finished
    penalty = WEIGHTS["reopen_rate"] * share(rate, WORST_REOPEN)
    reason = f"{i.cases_reopened} of {i.cases_finished} finished cases reopened"
    return Factor("reopen_rate", round(rate, 4), penalty, reason)


def open_major_cases(i: HealthInputs) -> Factor:
    n = i.open_major_cases
    penalty = WEIGHTS["open_major_cases"] * share(n, FULL_MAJOR)
    reason = f"{n} open major case{'s' if n != 1 else ''} affecting it"
    return Factor("open_major_cases", float(n), penalty, reason)


FACTORS = (volume_trend, sla_attainment, csat, reopen_rate, open_major_cases)


def band(score: int) -> str:
    return "healthy" if score >= HEALTHY else "watch" if score >= WATCH else "at_risk"


def score(inputs: HealthInputs) -> Health:
    """The account's health: 100 less every input's penalty, rounded, with each factor."""
    factors = [f(inputs) for f in FACTORS]
    total = round(max(0.0, 100 - sum(f.penalty for f in factors)))
    rounded = [Factor(f.name, f.value, round(f.penalty, 1), f.reason) for f in factors]
    return Health(score=total, band=band(total), factors=rounded)
