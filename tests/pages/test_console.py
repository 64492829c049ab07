"""The console's metrics page and its server-drawn charts, and the console's at-risk order,
paused clocks, filters and paging."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from api.pages.charts import bars, line
from api.pages.console import PAGE, REFRESH_SECONDS
from tests.api.test_metrics import history  # noqa: F401  (the seeded history fixture)
from tests.pages.test_pages import (  # noqa: F401  (fixtures)
    XSS,
    anon,
    clock,
    log_in,
    make_case,
    section,
    world,
)

# ----- the console -----------------------------------------------------------------------


def numbers(html: str) -> list[str]:
    return re.findall(r"CS\d{7}", html)


def at_risk(page: str) -> str:
    return section(page, "At risk", "Queues")


async def test_at_risk_puts_breached_first_then_the_soonest_to_breach(api, sessions):
    now = datetime.now(UTC)
    # Breached an hour ago, its next clock due in 3 h: still above one due in 10 minutes.
    late = await make_case(
        sessions,
        breached=True,
        next_due_at=now + timedelta(hours=3),
        sla=[
            clock("Response", "response", now - timedelta(hours=1), breached=True),
            clock("Resolution", "resolution", now + timedelta(hours=3), running=False),
        ],
    )
    soon = await make_case(sessions, next_due_at=now + timedelta(minutes=10))
    later = await make_case(sessions, next_due_at=now + timedelta(hours=1))
    paused = await make_case(
        sessions,
        state="awaiting_info",
        next_due_at=now + timedelta(minutes=40),
        sla=[
            clock("Waiting response", "response", now + timedelta(minutes=40)),
            clock("Paused resolution", "resolution", now + timedelta(hours=2), paused=True),
        ],
    )
    r = await api.get("/console")
    assert r.status_code == 200, r.text
    html = at_risk(r.text)
    assert numbers(html) == [late.number, soon.number, paused.number, later.number]
    row = html[html.index(paused.number) : html.index("</tr>", html.index(paused.number))]
    assert re.search(r"Paused resolution <span class=\"badge paused\">paused</span>", row)
    assert re.search(r"Waiting response <span class=\"badge ok\">running</span>", row)
    row = html[html.index(late.number) : html.index("</tr>", html.index(late.number))]
    assert 'Response <span class="badge bad">breached</span>' in row
    assert "Refresh" not in r.headers  # live.js refreshes the panels in place
    noscript = f'<noscript><meta http-equiv="refresh" content="{REFRESH_SECONDS}"></noscript>'
    assert noscript in r.text
    assert scripts(r.text) == ['<script src="/console/live.js" defer>']


def scripts(page: str) -> list[str]:
    """Every script tag of a page (the only one allowed is our own file, never inline)."""
    return re.findall(r"<script[^>]*>", page)


async def test_the_live_script_is_served_and_finds_the_panels_it_swaps(api):
    r = await api.get("/console/live.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert "data-live" in r.text and "DOMParser" in r.text
    page = (await api.get("/console", params={"refresh": 5})).text
    live = set(re.findall(r'data-live="([^"]+)"', page))
    assert live == {"as-of", "stats", "at-risk", "queues"}
    assert 'data-refresh="5"' in page and 'content="5"' in page
    assert (await api.get("/console", params={"refresh": 0})).status_code == 422


async def test_the_console_filters_by_queue_and_priority(api, sessions):
    now = datetime.now(UTC)
    due = {"next_due_at": now + timedelta(minutes=30), "waiting_since": now}
    net1 = await make_case(sessions, queue="network", priority=1, **due)
    net3 = await make_case(sessions, queue="network", priority=3, **due)
    mail1 = await make_case(sessions, queue="mail", priority=1, **due)
    page = (await api.get("/console", params={"queue": "network"})).text
    assert sorted(numbers(at_risk(page))) == sorted([net1.number, net3.number])
    page = (await api.get("/console", params={"priority": 1})).text
    assert sorted(numbers(at_risk(page))) == sorted([net1.number, mail1.number])
    waiting = section(page, "Waiting line", "Recent cases")
    assert sorted(numbers(waiting)) == sorted([net1.number, mail1.number])
    page = (await api.get("/console", params={"queue": "network", "priority": 3})).text
    assert numbers(at_risk(page)) == [net3.number]
    assert (await api.get("/console", params={"priority": 9})).status_code == 422


async def test_the_waiting_line_is_by_priority_then_age_and_queues_count_it(api, sessions):
    now = datetime.now(UTC)
    old_p3 = await make_case(
        sessions, queue="q", priority=3, created_at=now - timedelta(hours=5), waiting_since=now
    )
    new_p1 = await make_case(sessions, queue="q", priority=1, waiting_since=now)
    old_p1 = await make_case(
        sessions, queue="q", priority=1, created_at=now - timedelta(hours=2), waiting_since=now
    )
    await make_case(sessions, queue="q", priority=2)  # assigned: not waiting
    page = (await api.get("/console")).text
    waiting = section(page, "Waiting line", "Recent cases")
    assert numbers(waiting) == [old_p1.number, new_p1.number, old_p3.number]
    queues = section(page, "Queues", "Agents")
    q = queues[queues.index("<td>q</td>") : queues.index("</tr>", queues.index("<td>q</td>"))]
    assert "P1&nbsp;2 P3&nbsp;1" in q


async def test_both_lists_page_by_keyset_without_repeats(api, sessions):
    now = datetime.now(UTC)
    made = []
    for i in range(PAGE + 2):
        made.append(
            await make_case(
                sessions,
                priority=1 + i % 4,
                breached=i % 5 == 0,
                next_due_at=now + timedelta(minutes=i % 7),  # ties broken by id
                waiting_since=now,
                created_at=now - timedelta(minutes=i % 3),
            )
        )
    for heading, until, rel in (
        ("At risk", "Queues", "Next at-risk cases"),
        ("Waiting line", "Recent cases", "Next waiting cases"),
    ):
        page = (await api.get("/console")).text
        first = numbers(section(page, heading, until))
        assert len(first) == PAGE
        link = re.search(rf'<a href="([^"]+)" rel="next">{rel}', page).group(1)
        page = (await api.get(unquote(link.replace("&amp;", "&")))).text
        second = numbers(section(page, heading, until))
        assert len(second) == 2 and not set(first) & set(second)
        assert sorted(first + second) == sorted(c.number for c in made)
        assert rel not in page  # the last page has no next link
    assert (await api.get("/console", params={"risk_page": "x.nope"})).status_code == 422


# ----- metrics ---------------------------------------------------------------------------


def card(page: str, key: str) -> str:
    start = page.index(f'id="metric-{key}"')
    return page[start : page.index("</section>", start)]


async def test_the_metrics_page_draws_each_metric_with_its_number(api, history):  # noqa: F811
    r = await api.get("/console/metrics", params={"since": "2026-10-05", "until": "2026-10-18"})
    assert r.status_code == 200, r.text
    assert "<script" not in r.text
    expected = {
        "sla-week": "60.0%",
        "sla-priority": "60.0%",
        "fcr": "33.3%",
        "reopen": "33.3%",
        "first-response": "2.0 h",
        "resolution": "10.0 h",
        "backlog": "3",
        "ftf": "—",
        "csat": "3.50 / 5",
    }
    for key, number in expected.items():
        html = card(r.text, key)
        assert html.count("<svg") == 1, key
        assert f'<div class="n">{number}</div>' in html, (key, html)
    # The charts carry the series: two weeks of attainment (66.67% then 50%), P1..P3 bars.
    assert card(r.text, "sla-week").count("<circle") == 2
    assert "2026-10-05: 66.67" in card(r.text, "sla-week")
    assert card(r.text, "sla-priority").count("<rect") == 3
    assert card(r.text, "backlog").count("<circle") == 2


async def test_an_agent_may_see_metrics_a_contact_may_not(api, anon, world):  # noqa: F811
    await log_in(anon, api, "agent", world.ann.id)
    assert (await anon.get("/console/metrics")).status_code == 200
    await anon.post("/logout")
    await log_in(anon, api, "contact", world.ada.id)
    assert (await anon.get("/console/metrics")).status_code == 403


def test_charts_escape_labels_and_scale_to_the_top():
    svg = line([(XSS, 50), ("b", None), ("c", 100)], title=XSS, top=100)
    assert XSS not in svg and "&lt;script&gt;" in svg
    assert svg.count("<polyline") == 2  # the gap splits the line
    ys = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert ys[0] > ys[1]  # 50 is drawn lower than 100
    chart = bars([("a", 1), ("b", 2)], title="t")
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', chart)]
    assert heights[1] == 2 * heights[0]
