"""The console's metrics page and its server-drawn charts, and the console's at-risk order,
paused clocks, filters and paging."""

import re

from api.pages.charts import bars, line
from tests.api.test_metrics import history  # noqa: F401  (the seeded history fixture)
from tests.pages.test_pages import XSS, anon, log_in, world  # noqa: F401

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
