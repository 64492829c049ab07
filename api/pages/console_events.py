"""The console's events page: every monitoring event with its major case and its progress."""

from fastapi import Request

from api.deps import PagePrincipal, SessionDep
from api.pages.base import need, page_router, render
from api.pagination import CursorQ
from api.services import events
from workflows.vocabulary import STAFF

REFRESH_SECONDS = 10  # a fan-out moves fast: the page reloads itself while one runs
PAGE = 50
router = page_router()


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 100


@router.get("/console/events")
async def console_events(
    request: Request, db: SessionDep, who: PagePrincipal, page: CursorQ = None
):
    """Events oldest first: affected customers, child cases opened, customers notified,
    children resolved, each with a bar."""
    need(who, STAFF)
    listed = await events.list_page(db=db, limit=PAGE, cursor=page)
    rows = [
        e
        | {
            "bars": [
                (label, e[key], percent(e[key], e["affected"]))
                for label, key in (
                    ("opened", "opened"),
                    ("notified", "notified"),
                    ("resolved", "resolved"),
                )
            ]
        }
        for e in listed["items"]
    ]
    context = {
        "title": "Events",
        "events": rows,
        "next": listed["next_cursor"] and f"/console/events?page={listed['next_cursor']}",
    }
    response = render(request, "console_events.html", context)
    response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response
