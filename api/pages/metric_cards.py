"""The metrics page's cards: each metric's headline number and its chart, from a Summary."""

from api.pages.charts import bars, line
from api.schemas.metrics import MedianSeries, RatioSeries, Summary


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 48 * 3600 else f"{seconds / 86400:.1f} d"


def card(key: str, name: str, number: str, detail: str, chart) -> dict:
    return {"key": key, "name": name, "number": number, "detail": detail, "chart": chart}


def rate_card(key: str, name: str, series: RatioSeries, what: str) -> dict:
    weekly = [(str(w.week), None if w.rate is None else 100 * w.rate) for w in series.by_week]
    t = series.total
    detail = f"{t.count} of {t.of} {what}"
    return card(key, name, percent(t.rate), detail, line(weekly, f"{name} by week (%)", 100))


def median_card(key: str, name: str, series: MedianSeries) -> dict:
    weekly = [(str(w.week), w.seconds and round(w.seconds / 3600, 2)) for w in series.by_week]
    detail = f"median of {series.total.count} cases"
    chart = line(weekly, f"{name} by week (hours)")
    return card(key, name, duration(series.total.seconds), detail, chart)


def cards(s: Summary) -> list[dict]:
    att, ftf, csat, backlog = s.sla_attainment, s.first_time_fix, s.csat, s.backlog
    by_priority = [(f"P{p.priority}", 100 * (p.rate or 0)) for p in att.by_priority]
    open_now = backlog.points[-1].open if backlog.points else 0
    return [
        rate_card("sla-week", "SLA attainment", att, "clocks met (stopped without breach)"),
        card(
            "sla-priority",
            "SLA attainment by priority",
            percent(att.total.rate),
            ", ".join(f"P{p.priority} {percent(p.rate)}" for p in att.by_priority) or "no clocks",
            bars(by_priority, "SLA attainment by priority (%)", 100),
        ),
        rate_card(
            "fcr",
            "First-contact resolution",
            s.first_contact_resolution,
            "resolved cases with one reply, never reopened",
        ),
        rate_card("reopen", "Reopen rate", s.reopen_rate, "resolved or closed cases reopened"),
        median_card("first-response", "Time to first response", s.first_response),
        median_card("resolution", "Time to resolution", s.resolution),
        card(
            "backlog",
            "Backlog",
            str(open_now),
            f"open cases at the end of each {backlog.bucket}",
            line([(p.at.date().isoformat(), p.open) for p in backlog.points], "Open cases"),
        ),
        card(
            "ftf",
            "First-time fix",
            percent(ftf.rate),
            f"{ftf.first_time_fixed} of {ftf.completed} work orders",
            bars(
                [
                    ("completed", ftf.completed),
                    ("fixed", ftf.fixed),
                    ("first time", ftf.first_time_fixed),
                ],
                "Work orders",
            ),
        ),
        card(
            "csat",
            "CSAT",
            "—" if csat.total.average is None else f"{csat.total.average:.2f} / 5",
            f"{csat.total.count} answers",
            bars([(str(k), v) for k, v in sorted(csat.by_score.items())], "Answers by score"),
        ),
        *(
            [rate_card("deflection", "Deflection rate", s.deflection, "self-service answers")]
            if s.deflection
            else []
        ),
    ]
